"""A dashboard table as CSV or XLSX (openpyxl): the same columns and rows as its JSON, headed by the labels."""

from __future__ import annotations

import csv
import io
from typing import Any

from openpyxl import Workbook

from bokji.monitor.service import Table

CSV_TYPE = "text/csv; charset=utf-8"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _cell(value: Any) -> Any:
    return "" if value is None else value


def to_csv(table: Table) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([c["label"] for c in table.columns])
    for row in table.rows:
        writer.writerow([_cell(row.get(c["key"])) for c in table.columns])
    return ("\ufeff" + out.getvalue()).encode()  # the BOM: Excel reads the Korean labels as UTF-8


def to_xlsx(table: Table) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.title = table.name[:31]
    sheet.append([c["label"] for c in table.columns])
    for row in table.rows:
        sheet.append([row.get(c["key"]) for c in table.columns])
    about = book.create_sheet("about")  # when the figures are of, and how they were filtered
    about.append(["as_of", table.as_of.isoformat() if table.as_of else ""])
    for key, value in table.filters.items():
        about.append([key, str(value)])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
