"""Tables that fit the terminal: the answers stay whole and the rest makes room.

A column marked `keep` (a label, or an answer the command exists for) is never dropped and never cut. When the
table is wider than the terminal, columns with a `short` form switch to it first, then the other columns are left
out, lowest `priority` first (right to left among equals), and the caption says which were left out and what shows
them. Only when the kept columns alone are still too wide do the kept text columns fold onto further lines
(whole, never ellipsised). `--wide` prints every column whatever the terminal's width.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rich.console import Console, JustifyMethod, RenderableType
from rich.measure import Measurement
from rich.table import Table

SHOWS_ALL = "--wide, --json or --csv"
UNLIMITED = 10_000


@dataclass(eq=False)
class Column:
    header: str
    cells: Sequence[RenderableType]
    justify: JustifyMethod = "left"
    keep: bool = False  # an answer or a label: never left out, never cut
    priority: int = 0  # among the others, the lowest is left out first
    footer: RenderableType = ""
    short: Sequence[RenderableType] | None = None  # a narrower form of the cells, used before leaving columns out


def natural_width(console: Console, table: Table) -> int:
    """The width the table takes when nothing is wrapped or cut."""
    return Measurement.get(console, console.options.update_width(UNLIMITED), table).maximum


def fitted_table(console: Console, title: str | None, columns: Sequence[Column], *, width: int | None,
                 notes: Sequence[str] = (), shows_all: str = SHOWS_ALL) -> Table:
    """The table at `width` columns (None: every column, as wide as it needs)."""
    shown, use_short = list(columns), False

    def build(fold: bool = False) -> Table:
        return _table(title, shown, use_short=use_short, fold=fold)

    if width is not None and natural_width(console, build()) > width:
        use_short = any(column.short is not None for column in columns)
        droppable = sorted((c for c in reversed(columns) if not c.keep), key=lambda c: c.priority)
        for column in droppable:
            if natural_width(console, build()) <= width:
                break
            shown.remove(column)
    table = build(fold=width is not None and natural_width(console, build()) > width)
    left_out = [column.header for column in columns if column not in shown]
    lines = list(notes)
    if left_out:
        lines.append(f"not shown at {width} columns: {', '.join(left_out)}; {shows_all} show them")
    table.caption = "\n".join(lines) or None
    return table


def _table(title: str | None, columns: Sequence[Column], *, use_short: bool, fold: bool) -> Table:
    table = Table(title=title, header_style="bold", caption_justify="left",
                  show_footer=any(column.footer for column in columns))
    for column in columns:
        foldable = fold and column.justify == "left"
        table.add_column(column.header, justify=column.justify, footer=column.footer, no_wrap=not foldable,
                         overflow="fold")
    cells = [column.short if use_short and column.short is not None else column.cells for column in columns]
    for row in zip(*cells, strict=True):
        table.add_row(*row)
    return table


def print_fitted(console: Console, title: str | None, columns: Sequence[Column], *, wide: bool,
                 notes: Sequence[str] = (), shows_all: str = SHOWS_ALL) -> None:
    """Print the table fitted to the terminal, or with every column (`--wide`) even past its edge."""
    table = fitted_table(console, title, columns, width=None if wide else console.width, notes=notes,
                         shows_all=shows_all)
    if not wide:
        console.print(table)
        return
    Console(file=console.file, width=max(natural_width(console, table), console.width), highlight=False,
            force_terminal=console.is_terminal, no_color=console.no_color,
            color_system=console.color_system).print(table)  # type: ignore[arg-type]
