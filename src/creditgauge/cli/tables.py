"""Tables that fit the terminal: the answers stay whole and the rest makes room.

A column marked `keep` (a label, or an answer the command exists for) is never left out and never cut; a `wrap`
column (prose, such as a message) is kept too and word-wrapped within its width. When the
table is wider than the console, columns with a `short` form switch to it first, then the other columns are left
out, lowest `priority` first (right to left among equals), and a line under the table says which were left out and
what shows them. Only when the kept columns alone are still too wide do the kept text columns fold onto further
lines (whole, never ellipsised). `--wide` prints every column whatever the terminal's width.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, JustifyMethod, RenderableType
from rich.table import Table
from rich.text import Text

SHOWS_ALL = "--wide, --json or --csv"
WIDE_HELP = "Show every column, even past the terminal's width."


@dataclass(eq=False)
class Column:
    header: str
    cells: Sequence[RenderableType]
    justify: JustifyMethod = "left"
    keep: bool = False  # an answer or a label: never left out, never cut
    priority: int = 0  # among the others, the lowest is left out first
    footer: RenderableType = ""
    short: Sequence[RenderableType] | None = None  # a narrower form of the cells, used before leaving columns out
    wrap: int | None = None  # prose (a message): kept, word-wrapped within this many columns


@dataclass
class FittedTable:
    """A table with its notes, laid out for the width it is rendered at (any console, any width)."""

    title: str | None
    columns: Sequence[Column]
    notes: Sequence[str] = field(default_factory=list)
    shows_all: str = SHOWS_ALL
    wide: bool = False  # every column, however wide

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> Iterator[RenderableType]:
        width = options.max_width
        shown, short = list(self.columns), False
        needs = {(column, form): _width(column, short=form, narrowest=True)
                 for column in self.columns for form in (False, True)}

        def too_wide() -> bool:  # wrapped prose counts at its longest word: it gives way before anything is left out
            return sum(needs[column, short] for column in shown) + BORDERS_AND_PADDING * len(shown) + 1 > width

        if not self.wide and too_wide():
            short = any(column.short is not None for column in self.columns)
            droppable = (c for c in reversed(self.columns) if not c.keep and c.wrap is None)
            for column in sorted(droppable, key=lambda c: c.priority):
                if not too_wide():
                    break
                shown.remove(column)
        yield self.table(shown, short=short, fold=not self.wide and too_wide())
        left_out = [column.header for column in self.columns if column not in shown]
        for note in self.notes:
            yield Text(note)
        if left_out:
            yield Text(f"not shown at {width} columns: {', '.join(left_out)}; {self.shows_all} show them")

    def table(self, columns: Sequence[Column], *, short: bool, fold: bool = False) -> Table:
        table = Table(title=self.title, header_style="bold", show_footer=any(column.footer for column in columns))
        for column in columns:
            table.add_column(column.header, justify=column.justify, footer=column.footer, overflow="fold",
                             no_wrap=column.wrap is None and not (fold and column.justify == "left"),
                             max_width=column.wrap)
        cells = [column.short if short and column.short is not None else column.cells for column in columns]
        for row in zip(*cells, strict=True):
            table.add_row(*row)
        return table

    def full_width(self) -> int:
        return sum(_width(column, short=False) for column in self.columns) + BORDERS_AND_PADDING * len(
            self.columns) + 1


BORDERS_AND_PADDING = 3  # per column of Rich's default box: a rule and a space either side of the cells


def _cell_width(text: str, narrowest: bool) -> int:
    parts = text.split() if narrowest else text.splitlines()
    return max((cell_len(part) for part in parts), default=0)


def _width(column: Column, *, short: bool, narrowest: bool = False) -> int:
    """The columns a column's cells need uncut (`narrowest`: prose at its longest word)."""
    cells = column.short if short and column.short is not None else column.cells
    prose = narrowest and column.wrap is not None
    widest = max(_cell_width(str(cell), prose) for cell in (column.header, column.footer, *cells))
    return widest if column.wrap is None else min(widest, column.wrap)


def print_fitted(console: Console, fitted: FittedTable) -> None:
    """Print the table fitted to the terminal, or with every column (`--wide`) even past its edge."""
    if not fitted.wide:
        console.print(fitted)
        return
    wider = Console(file=console.file, width=max(fitted.full_width(), console.width), highlight=False,
                    force_terminal=console.is_terminal, no_color=console.no_color,
                    color_system=console.color_system)  # type: ignore[arg-type]
    wider.print(fitted)
