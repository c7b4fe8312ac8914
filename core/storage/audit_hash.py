"""The audit chain's hash: sha256 over the previous hash and the entry's fields."""

from __future__ import annotations

import hashlib
import json

GENESIS = "0" * 64
#: json.dumps(…, ensure_ascii=False), built once (a full verify hashes millions of entries)
_encode = json.JSONEncoder(ensure_ascii=False).encode
#: one text as that encoder writes it (the C function it uses)
_encode_text = json.encoder.encode_basestring


def entry_hash(
    prev_hash: str, at: str, actor: str, action: str, subject: str, detail: str,
    state: str | None = None,
) -> str:
    """The entry's hash; `state` (the row-state digest) is covered when there is one, so
    entries written before it existed keep their hash."""
    fields = [prev_hash, at, actor, action, subject, detail]
    if state is not None:
        fields.append(state)
    try:  # the fields are texts: the list's JSON without the encoder's Python layers
        body = "[" + ", ".join(map(_encode_text, fields)) + "]"
    except TypeError:  # not a text (a damaged row read back): as json.dumps has it
        body = _encode(fields)
    return hashlib.sha256(body.encode("utf-8")).hexdigest()
