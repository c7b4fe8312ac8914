"""Printed registers (登记簿) as an office keeps them: a book of sheets, one per register,
each with a title line and a header row. Pure: plain strings in, the writers
(core.books.xlsx, core.books.pdf) lay them out for landscape A4."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True)
class Column:
    """A column: its header and the widest it may print (in Latin character widths; a CJK
    character takes two). Text past it wraps."""

    header: str
    max_width: int = 24


class Rows(Protocol):
    """A register's rows: a list, or a source read again each time it is iterated (a year's
    register streamed from the database, core.services.books), so a writer may pass over
    them twice (widths, then rows) without holding them."""

    def __iter__(self) -> Iterator[Sequence[str]]: ...

    def __len__(self) -> int: ...


@dataclass
class Sheet:
    """One register: its sheet name, the title printed above it, columns and rows."""

    name: str
    title: str
    columns: Sequence[Column]
    rows: Rows = field(default_factory=list)


@dataclass(frozen=True)
class Book:
    """A file of registers (收文登记簿: 办件, 阅件, 抄件, 内刊, 简报, 封存件)."""

    title: str
    sheets: list[Sheet]

    @property
    def row_count(self) -> int:
        return sum(len(s.rows) for s in self.sheets)


def display_width(text: str) -> int:
    """Columns a text takes in print or on a terminal: wide and full-width characters
    (Unicode East Asian Width W/F: CJK, full-width forms) count double."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def clip(text: str, width: int) -> str:
    """`text` cut to `width` display columns, … marking the cut (拟办/批示 in short)."""
    if display_width(text) <= width:
        return text
    out = ""
    for ch in text:
        if display_width(out + ch) > width - 1:
            break
        out += ch
    return out + "…"
