"""Plain text and HTML attachments."""

from __future__ import annotations

from core.reading.documents.base import Budget, Extracted, Limits
from core.reading.documents.reader import Reader, Source
from core.reading.text import decode_text, html_to_text


def read_text(source: Source, limits: Limits) -> Extracted:
    data = source.data
    att = source.attachment
    # JSON is UTF-8 by definition (RFC 8259); other text says or is guessed.
    charset = att.charset or ("utf-8" if att.content_type == "application/json" else None)
    text, findings = decode_text(data[: limits.max_text_chars * 4], charset)
    budget = Budget(limits.max_text_chars)
    budget.add(text)
    return Extracted("ok", budget.text(), {"format": "text"}, findings + budget.findings())


def read_html(source: Source, limits: Limits) -> Extracted:
    data = source.data
    att = source.attachment
    text, findings = decode_text(data[: limits.max_text_chars * 4], att.charset)
    budget = Budget(limits.max_text_chars)
    budget.add(html_to_text(text))
    return Extracted("ok", budget.text(), {"format": "html"}, findings + budget.findings())


TEXT_READER = Reader("text", ("text",), read_text)
HTML_READER = Reader("html", ("html",), read_html)
