"""Text of an attached document: one reader per format behind a registry.

`extract(attachment)` → `Extracted` (status ok | damaged | image | unsupported, text,
metadata, findings). Modules: `formats` (sniffing), `registry` (dispatch), `reader`
(what a reader declares), `package` (zip and XML safety for OFD and DOCX), `base`
(limits, result, text budget), `pages` (page furniture of laid-out formats), and one
module per format family: `pdf`, `ofd`, `docx`, `images`, `plain`.
"""

from core.reading.documents.base import DEFAULT_LIMITS, Extracted, Limits, Status
from core.reading.documents.formats import Format
from core.reading.documents.reader import Reader, Source
from core.reading.documents.registry import READERS, Registry, extract

__all__ = [
    "DEFAULT_LIMITS",
    "READERS",
    "Extracted",
    "Format",
    "Limits",
    "Reader",
    "Registry",
    "Source",
    "Status",
    "extract",
]
