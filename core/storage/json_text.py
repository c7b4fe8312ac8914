"""JSON text exactly as `json.JSONEncoder(...).encode` writes it, without that method's
Python layers (each call defines a closure and checks its options again): a registration
encodes half a dozen small values, its audit details, push payloads and record state."""

from __future__ import annotations

import json
from collections.abc import Callable
from json import encoder as _std
from typing import Any


def encoder(
    *, ensure_ascii: bool = True, sort_keys: bool = False,
    default: Callable[[Any], Any] | None = None,
) -> Callable[[Any], str]:
    """`json.JSONEncoder(ensure_ascii=…, sort_keys=…, default=…).encode`, the other options
    json.dumps's defaults; the C encoder called directly where the interpreter has it."""
    std = json.JSONEncoder(ensure_ascii=ensure_ascii, sort_keys=sort_keys, default=default)
    make = getattr(_std, "c_make_encoder", None)
    if make is None:  # pragma: no cover - CPython has the C encoder
        return std.encode
    text = _std.encode_basestring_ascii if ensure_ascii else _std.encode_basestring
    fallback = std.default

    def encode(value: Any) -> str:
        # a new encoder each call, with its own circular-reference markers (as
        # JSONEncoder.iterencode builds one): one left by an error cannot touch the next
        return "".join(make({}, fallback, text, None, ": ", ", ", sort_keys, False, True)(
            value, 0))

    return encode
