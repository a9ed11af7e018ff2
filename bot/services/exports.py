"""Exports to CSV and XLSX, written as the rows stream in, in parts that Telegram accepts.

Rows arrive in batches from the database (never all at once); each batch is written in a worker
thread so a large export never blocks the event loop. CSV parts are zipped; XLSX is a zip
already. A part is closed before it can reach Telegram's 50 MB upload limit and the next one
begins, with the header repeated.

Spreadsheet programs run a cell that starts with = + - @ (or a tab/return before one) as a
formula: such text is written with a leading apostrophe, so a complaint cannot carry a formula
into an official's spreadsheet.
"""

from __future__ import annotations

import asyncio
import csv
import enum
import io
import zipfile
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

import xlsxwriter

# Telegram bots upload documents up to 50 MB; parts stay well under it.
PART_LIMIT_BYTES = 45 * 1024 * 1024
# XLSX is compressed only when the workbook closes: bound its raw content instead (text of this
# kind compresses 4-10 times) and Excel's row limit per sheet.
XLSX_RAW_LIMIT_BYTES = 150 * 1024 * 1024
XLSX_MAX_ROWS = 1_000_000
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

Cell = str | int | float | bool | datetime | None


class ExportFormat(enum.StrEnum):
    CSV = "csv"
    XLSX = "xlsx"


def neutralise(value: Cell) -> Cell:
    """Text that a spreadsheet would run as a formula gets a leading apostrophe."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def _text(value: Cell) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds")
    return str(value)


class _PartWriter(Protocol):
    def write(self, row: Sequence[Cell]) -> None: ...
    def full(self) -> bool: ...
    def close(self) -> None: ...


class _CsvPart:
    """One zip holding one UTF-8 CSV (with a BOM, so Excel reads Cyrillic and Hangul right)."""

    def __init__(self, path: Path, member: str, columns: Sequence[str]) -> None:
        self._file = path.open("wb")
        self._zip = zipfile.ZipFile(self._file, "w", compression=zipfile.ZIP_DEFLATED)
        self._raw = self._zip.open(member, "w", force_zip64=True)
        self._text = io.TextIOWrapper(self._raw, encoding="utf-8-sig", newline="")
        self._csv = csv.writer(self._text)
        self._csv.writerow(columns)

    def write(self, row: Sequence[Cell]) -> None:
        self._csv.writerow([_text(neutralise(value)) for value in row])

    def full(self) -> bool:
        # What has reached the file is compressed; leave room for what is still buffered
        # (zlib and the text wrapper hold kilobytes, not megabytes).
        return self._file.tell() > PART_LIMIT_BYTES * 0.95

    def close(self) -> None:
        self._text.close()
        self._zip.close()
        self._file.close()


class _XlsxPart:
    def __init__(self, path: Path, columns: Sequence[str]) -> None:
        # constant_memory: each row is flushed to a temporary file once the next one starts.
        self._book = xlsxwriter.Workbook(
            str(path),
            {"constant_memory": True, "strings_to_formulas": False, "strings_to_urls": False},
        )
        self._sheet = self._book.add_worksheet()
        bold = self._book.add_format({"bold": True})
        self._dates = self._book.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
        self._sheet.write_row(0, 0, list(columns), bold)
        self._row = 1
        self._raw = 0

    def write(self, row: Sequence[Cell]) -> None:
        for col, value in enumerate(row):
            value = neutralise(value)
            if value is None:
                continue
            if isinstance(value, datetime):
                # Excel has no time zones: write UTC wall time (the column header says UTC).
                self._sheet.write_datetime(self._row, col, value.replace(tzinfo=None), self._dates)
            elif isinstance(value, str):
                self._sheet.write_string(self._row, col, value)
                self._raw += len(value)
            else:
                self._sheet.write(self._row, col, value)
        self._row += 1

    def full(self) -> bool:
        return self._row >= XLSX_MAX_ROWS or self._raw >= XLSX_RAW_LIMIT_BYTES

    def close(self) -> None:
        self._book.close()


@dataclass
class ExportResult:
    parts: list[Path] = field(default_factory=list)
    rows: int = 0


Progress = Callable[[int], Awaitable[None]]


async def write_export(
    name: str,
    columns: Sequence[str],
    batches: AsyncIterator[Sequence[Sequence[Any]]],
    fmt: ExportFormat,
    directory: Path,
    *,
    progress: Progress | None = None,
) -> ExportResult:
    """Write all rows from `batches` into `directory` as one or more parts; returns the files."""
    result = ExportResult()
    part: _PartWriter | None = None

    def open_part() -> _PartWriter:
        number = len(result.parts) + 1
        suffix = "" if number == 1 else f"-part{number}"
        if fmt is ExportFormat.CSV:
            path = directory / f"{name}{suffix}.csv.zip"
            result.parts.append(path)
            return _CsvPart(path, f"{name}{suffix}.csv", columns)
        path = directory / f"{name}{suffix}.xlsx"
        result.parts.append(path)
        return _XlsxPart(path, columns)

    def write_batch(rows: Sequence[Sequence[Any]]) -> None:
        nonlocal part
        for row in rows:
            if part is None:
                part = open_part()
            part.write(row)
            if part.full():
                part.close()
                part = None

    try:
        async for rows in batches:
            await asyncio.to_thread(write_batch, rows)
            result.rows += len(rows)
            if progress is not None:
                await progress(result.rows)
        if part is None and not result.parts:
            part = open_part()  # no rows: still a file with the header
    finally:
        if part is not None:
            await asyncio.to_thread(part.close)
    return result
