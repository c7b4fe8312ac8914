"""Reading an incoming message: raw MIME bytes → `ParsedMessage` (see `parse`)."""

from core.reading.mail.headers import decode_words
from core.reading.mail.message import (
    MANIFEST_FILENAME,
    Addressing,
    Attachment,
    ParsedMessage,
    is_manifest_name,
)
from core.reading.mail.parse import parse_message
from core.reading.mail.transfer import decode_base64

__all__ = [
    "MANIFEST_FILENAME",
    "Addressing",
    "Attachment",
    "ParsedMessage",
    "decode_base64",
    "decode_words",
    "is_manifest_name",
    "parse_message",
]
