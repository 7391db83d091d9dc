"""What fitting a report table to the terminal costs, next to what Rich's rendering of it costs.

A spend-by-day,model-like table (day, model, project labels; amount, currency and six token counts) of N rows is
rendered at 80 and 160 columns into memory. "fit" is the layout decision alone (which columns are shown); "print"
is the whole print, Rich's rendering included. Goal: fitting stays a small part of printing.

    .venv/bin/python benchmarks/table_fit.py                 # 1,000 rows
    .venv/bin/python benchmarks/table_fit.py --rows 1000 --rows 10000
"""

from __future__ import annotations

import argparse
import io
import statistics
import time
from datetime import date, timedelta

from rich.console import Console

from creditgauge.cli.tables import Column, FittedTable

MODELS = ("gpt-4.1-2025-04-14", "claude-sonnet-4-5-20250929", "meta-llama/llama-3.3-70b-instruct", "grok-4-0709")


def report(rows: int) -> FittedTable:
    days = [str(date(2026, 1, 1) + timedelta(days=n // len(MODELS))) for n in range(rows)]
    models = [MODELS[n % len(MODELS)] for n in range(rows)]
    counts = [f"{n * 7919 % 10_000_000:,}" for n in range(rows)]
    columns = [Column("day", days, keep=True), Column("model", models, keep=True),
               Column("project", [f"project-{n % 5} (proj_{n % 5:020d})" for n in range(rows)], keep=True,
                      short=[f"project-{n % 5}" for n in range(rows)]),
               Column("amount", [f"{n % 1000}.{n % 100:02d}" for n in range(rows)], "right", keep=True),
               Column("currency", ["USD"] * rows, keep=True)]
    columns += [Column(name, counts, "right", priority=rank) for rank, name in enumerate(
        ("seconds", "reasoning", "cache write", "cached", "requests", "output"))]
    return FittedTable("bench", columns, ["total: 123.45 USD"])


def timed(action: object, repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()  # type: ignore[operator]
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, action="append", help="rows in the table (repeatable)")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(f"{'rows':>8} {'width':>5} {'fit s':>8} {'print s':>8} {'fit share':>9}")
    for rows in args.rows or [1_000]:
        fitted = report(rows)
        for width in (80, 160):
            console = Console(file=io.StringIO(), width=width)
            options = console.options
            fit = timed(lambda: next(iter(fitted.__rich_console__(console, options))), args.repeat)  # noqa: B023
            printed = timed(lambda: console.print(fitted), args.repeat)  # noqa: B023
            print(f"{rows:>8,} {width:>5} {fit:>8.3f} {printed:>8.3f} {fit / printed:>9.1%}")


if __name__ == "__main__":
    main()
