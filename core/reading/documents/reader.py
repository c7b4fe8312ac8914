"""What a reader is: the formats it declares and the function that reads one attachment.

paperless-ngx's parser declaration is the model: a reader names the formats it handles;
the registry (`registry`) sniffs the format and hands the attachment to the first reader
registered for it. A reader is a plain record of module-level functions, so a registry
pickles into a worker process.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from core.reading.documents.base import Extracted, Limits
from core.reading.documents.formats import Format
from core.reading.documents.package import Package
from core.reading.mail.message import Attachment


@dataclass(frozen=True, slots=True)
class Source:
    """One attachment to read, with its zip package when the format lives in one
    (opened once, within the limits, by the registry)."""

    attachment: Attachment
    package: Package | None = None

    @property
    def data(self) -> bytes:
        return self.attachment.data

    def opened(self) -> Package:
        """The zip package (readers that claim packages are only called with one)."""
        if self.package is None:
            raise ValueError("a package reader was called without its package")
        return self.package


@dataclass(frozen=True, slots=True)
class Reader:
    """One reader: its name, the formats it reads, and how.

    `read` never needs to catch: a part that does not open raises `Damaged` (or anything
    else), which the registry turns into a damaged result. `claims` is for formats that
    live in a zip package (OFD, DOCX): whether an opened package is one of them.
    """

    name: str
    formats: tuple[Format, ...]
    read: Callable[[Source, Limits], Extracted]
    claims: Callable[[Package], bool] | None = None
