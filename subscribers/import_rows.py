"""Reading a subscriber CSV file: checking it is text, mapping its header, yielding its rows.

Files come from spreadsheets of every kind, so this is forgiving where the meaning is clear
(a UTF-8 byte-order mark, "E-mail" for "email", semicolons for commas) and strict where it is
not: a file that is not UTF-8 (or the encoding given), or not text at all, is refused before
anything is imported; a row with broken quoting or a NUL character (which PostgreSQL text
cannot hold) is rejected on its own and reading goes on.
"""

from __future__ import annotations

import codecs
import csv
import re
import zoneinfo
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from core.spreadsheets import unescape_formula
from subscribers.addresses import InvalidAddress, normalise_address

COLUMN_NAMES = {
    "email": ("email", "e-mail", "email address", "e-mail address", "mail", "emailaddress"),
    "name": ("name", "full name", "fullname", "display name"),
    "language": ("language", "lang", "locale"),
    "timezone": ("timezone", "time zone", "tz", "time_zone"),
}
EXPORTED = ("status", "consent_at", "consent_source")
"""Columns of Herald's own export that describe the old subscription: not attributes."""
SIGNATURES = {
    b"\x89PNG": "a PNG image",
    b"%PDF": "a PDF document",
    b"PK\x03\x04": "a ZIP archive (an .xlsx workbook? save it as CSV)",
    b"GIF8": "a GIF image",
    b"\xff\xd8\xff": "a JPEG image",
    b"\xd0\xcf\x11\xe0": "an old Excel/Office file (save it as CSV)",
}
MAX_RECORD_LINES = 20
"""A quoted field may span lines; past this many, the opening quote is taken as broken."""
READ_SIZE = 1 << 16
NUL = "\x00"
TIMEZONES = frozenset(zoneinfo.available_timezones())


class UnreadableFile(ValueError):
    """The file as a whole cannot be imported (not text, wrong encoding, no email column)."""


@dataclass
class Header:
    """Where each known column is, and the other columns (kept as free attributes)."""

    positions: dict[str, int]
    attributes: dict[str, int] = field(default_factory=dict)
    width: int = 0


@dataclass
class Row:
    """One good data row: the normalised address and the values given for it."""

    line: int
    email: str
    name: str = ""
    language: str = ""
    timezone: str = ""
    attributes: dict[str, str] = field(default_factory=dict)


@dataclass
class Rejection:
    """A row that was not imported, and why (for the report)."""

    line: int
    email: str
    reason: str


def check_file(path: Path, encoding: str = "utf-8") -> tuple[str, int]:
    """The encoding to read ``path`` with and its number of lines, or UnreadableFile.

    Reads the whole file once, in blocks (constant memory), so a bad byte on the last line
    refuses the file before any row is imported.
    """
    with path.open("rb") as raw:
        start = raw.read(READ_SIZE)
        if not start.strip():
            raise UnreadableFile("the file is empty")
        _refuse_non_text(start)
        encoding = _encoding(start, encoding)
        decoder = codecs.getincrementaldecoder(encoding)()
        lines, block, offset, last = 0, start, 0, ""
        while block:
            try:
                text = decoder.decode(block)
            except UnicodeDecodeError as error:
                raise _not_in_encoding(path, encoding, offset + error.start) from error
            lines += text.count("\n")
            last = text[-1:] or last
            offset += len(block)
            block = raw.read(READ_SIZE)
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError as error:
            raise _not_in_encoding(path, encoding, offset - 1) from error
    return encoding, lines + (last != "\n")


def _refuse_non_text(start: bytes) -> None:
    for signature, kind in SIGNATURES.items():
        if start.startswith(signature):
            raise UnreadableFile(f"this is not a CSV file: it looks like {kind}")
    if start.lstrip(codecs.BOM_UTF8).lstrip()[:1] in (b"{", b"["):
        raise UnreadableFile("this is not a CSV file: it looks like JSON")
    # A stray NUL is one bad row (rejected on its own); many of them make binary data.
    if start.count(b"\x00") > max(1, len(start) // 100) and not start.startswith(
        (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
    ):
        raise UnreadableFile("this is not a CSV file: it contains binary data")


def _encoding(start: bytes, asked: str) -> str:
    if start.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if start.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    try:
        return codecs.lookup(asked).name
    except LookupError as error:
        raise UnreadableFile(f"unknown encoding {asked!r}") from error


def _not_in_encoding(path: Path, encoding: str, offset: int) -> UnreadableFile:
    with path.open("rb") as raw:
        before = raw.read(offset + 1)
    line = before.count(b"\n") + 1
    byte = before[-1:].hex()
    hint = " (save it as UTF-8, or give its encoding, e.g. --encoding cp1252)"
    return UnreadableFile(
        f"line {line}: byte 0x{byte} is not {encoding}; nothing was imported{hint}"
    )


def read_rows(path: Path, encoding: str) -> tuple[Header, Iterator[Row | Rejection]]:
    """The file's header and an iterator over its data rows (good or rejected)."""
    text = path.open(encoding=encoding, newline="")
    lines = enumerate(text, start=1)
    first = next(lines, None)
    if first is None:
        text.close()
        raise UnreadableFile("the file is empty")
    delimiter = _delimiter(first[1])
    fields, problem = _parse(first[1], delimiter)
    if problem:
        text.close()
        raise UnreadableFile(f"line 1 (the header): {problem}")
    if any(NUL in cell for cell in fields):
        text.close()
        raise UnreadableFile("line 1 (the header): it contains a NUL character")
    header = parse_header(fields)
    return header, _rows(text, lines, header, delimiter)


def _delimiter(line: str) -> str:
    counts = {mark: line.count(mark) for mark in (",", ";", "\t")}
    best = max(counts, key=lambda mark: counts[mark])
    return best if counts[best] else ","


def parse_header(fields: list[str]) -> Header:
    """Map header cells to columns (case and spelling forgiving); others become attributes."""
    aliases = {alias: column for column, names in COLUMN_NAMES.items() for alias in names}
    header = Header(positions={}, width=len(fields))
    for position, cell in enumerate(fields):
        label = " ".join(cell.strip().split())
        column = aliases.get(label.lower()) or aliases.get(label.lower().replace("_", " "))
        if column and column not in header.positions:
            header.positions[column] = position
        elif label and label not in header.attributes and label.lower() not in EXPORTED:
            header.attributes[label] = position
    if "email" not in header.positions:
        shown = ", ".join(repr(cell) for cell in fields[:8]) or "none"
        raise UnreadableFile(f"no email column in the header (columns: {shown})")
    return header


def _rows(
    text: Any, lines: Iterator[tuple[int, str]], header: Header, delimiter: str
) -> Iterator[Row | Rejection]:
    with text:
        for line, fields, problem in _records(lines, delimiter):
            if problem:
                yield Rejection(line, "", problem)
            elif any(cell.strip() for cell in fields):
                yield parse_row(line, fields, header)


def _records(
    lines: Iterator[tuple[int, str]], delimiter: str
) -> Iterator[tuple[int, list[str], str]]:
    """(first line number, fields, problem) per record; a broken quote costs one line only."""
    pending: list[tuple[int, str]] = []
    for number, line in lines:
        pending.append((number, line))
        fields, problem = _parse("".join(text for _, text in pending), delimiter)
        if problem == "open quote" and len(pending) < MAX_RECORD_LINES:
            continue
        if problem:
            first, *rest = pending
            yield first[0], [], "broken quoting: a quote is not closed or has text after it"
            pending = []
            yield from _records(iter(rest), delimiter)
            continue
        yield pending[0][0], fields, ""
        pending = []
    if pending:
        first, *rest = pending
        yield first[0], [], "broken quoting: a quote is not closed or has text after it"
        yield from _records(iter(rest), delimiter)


def _parse(text: str, delimiter: str) -> tuple[list[str], str]:
    if '"' not in text:
        return text.rstrip("\r\n").split(delimiter), ""
    try:
        return next(csv.reader([text], delimiter=delimiter, strict=True)), ""
    except csv.Error as error:
        return [], "open quote" if "end of data" in str(error) else str(error)


def parse_row(line: int, fields: list[str], header: Header) -> Row | Rejection:
    """A good row, or a Rejection saying what is wrong with it."""

    def cell(position: int | None) -> str:
        if position is None or position >= len(fields):
            return ""
        return unescape_cell(fields[position].strip())

    raw_email = cell(header.positions["email"])
    if any(NUL in value for value in fields):
        # PostgreSQL text cannot hold NUL: refused here, the row alone, before any write.
        return Rejection(line, raw_email.replace(NUL, ""), "the row contains a NUL character")
    if len(fields) > header.width:
        return Rejection(line, raw_email, f"{len(fields)} fields but the header has {header.width}")
    if not raw_email:
        return Rejection(line, "", "no email address")
    try:
        email = quick_normalise(raw_email)
    except InvalidAddress as error:
        return Rejection(line, raw_email, f"invalid address: {error}")
    timezone = cell(header.positions.get("timezone"))
    if timezone and timezone not in TIMEZONES:
        return Rejection(line, email, f"unknown time zone {timezone!r}")
    attributes = {name: value for name, at in header.attributes.items() if (value := cell(at))}
    language = cell(header.positions.get("language")).lower().replace("_", "-")[:16]
    name = cell(header.positions.get("name"))[:200]
    return Row(line, email, name, language, timezone, attributes)


def quick_normalise(raw: str) -> str:
    """:func:`normalise_address`, with the costly domain check done once per domain.

    Most rows of a large file are plain addresses (an ASCII dot-atom before the @) at a few
    domains. For those the result is the local part lower-cased, "@", and the normalised
    domain, so the domain is checked by normalise_address once and remembered; anything else
    (quoted, non-ASCII, too long, a new domain that fails) goes through normalise_address whole.
    """
    local, at, domain = raw.strip().rpartition("@")
    if at and len(local) <= 64 and PLAIN_LOCAL.match(local):
        checked = _domain(domain)
        if checked and len(local) + 1 + len(checked) <= 254:
            return f"{local.lower()}@{checked}"
    return normalise_address(raw)


PLAIN_LOCAL = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*\Z")


@lru_cache(maxsize=4096)
def _domain(domain: str) -> str:
    try:
        return normalise_address(f"x@{domain}").partition("@")[2]
    except InvalidAddress:
        return ""


def unescape_cell(value: str) -> str:
    """Undo the export's guard against spreadsheet formulas (a leading apostrophe)."""
    return unescape_formula(value)
