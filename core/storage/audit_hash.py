"""The audit chain's hash: sha256 over the previous hash and the entry's fields."""

from __future__ import annotations

import hashlib
import json

GENESIS = "0" * 64


def entry_hash(prev_hash: str, at: str, actor: str, action: str, subject: str, detail: str) -> str:
    body = json.dumps([prev_hash, at, actor, action, subject, detail], ensure_ascii=False)
    return hashlib.sha256(body.encode("utf-8")).hexdigest()
