"""CSV that a spreadsheet cannot run: every CSV creditgauge writes (export, --csv, the API's and the pages' CSV
downloads) goes through `SafeDictWriter`.

A model name, tag, project or line item is text someone else chose; a cell starting with `=`, `+`, `-`, `@`, a
tab or a carriage return is read as a formula by Excel, LibreOffice and Google Sheets (CSV injection). Following
OWASP's rule, such a cell gets a leading `'`, which spreadsheets show as text. Numbers (`-0.25`, `+3`) are left
as they are, so negative amounts stay numbers.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Mapping
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def neutralise(value: Any) -> Any:
    """The cell as a spreadsheet may read it: text that would start a formula gets a leading apostrophe."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS) and not _NUMBER.fullmatch(value):
        return "'" + value
    return value


class SafeDictWriter(csv.DictWriter):  # type: ignore[type-arg]
    """csv.DictWriter whose every row is neutralised cell by cell."""

    def writerow(self, rowdict: Mapping[str, Any]) -> Any:
        return super().writerow({key: neutralise(value) for key, value in rowdict.items()})

    def writerows(self, rowdicts: Iterable[Mapping[str, Any]]) -> None:
        for rowdict in rowdicts:
            self.writerow(rowdict)
