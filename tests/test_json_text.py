"""core.storage.json_text writes what json.dumps does with the same options: audit
details, push payloads and record states hashed before it keep their hashes."""

from __future__ import annotations

import json
from typing import Any

import pytest

from core.storage import json_text

VALUES: list[Any] = [
    None, True, 0, -7, 2**70, 1.5, float("nan"), float("inf"), "", "甘孜州财政局",
    'quote " and \\ and \n \x00 \u2028', [], {}, [1, "二", None, [{}]],
    {"b": 1, "a": [None, "中"], "c": {"z": 1.25, "y": "\t"}}, {3: "int key", 2: "two"},
    {"kind": "办件", "number": "办2026-0001", "due": None, "to": ["州长", "秘书长"]},
]


@pytest.mark.parametrize("value", VALUES)
@pytest.mark.parametrize("ensure_ascii", [True, False])
@pytest.mark.parametrize("sort_keys", [True, False])
def test_the_text_is_json_dumps_own(value: Any, ensure_ascii: bool, sort_keys: bool) -> None:
    encode = json_text.encoder(ensure_ascii=ensure_ascii, sort_keys=sort_keys, default=str)
    assert encode(value) == json.dumps(value, ensure_ascii=ensure_ascii, sort_keys=sort_keys,
                                       default=str)


def test_default_and_errors_are_json_dumps_own() -> None:
    from datetime import date

    assert json_text.encoder(default=str)({"d": date(2026, 3, 1)}) == '{"d": "2026-03-01"}'
    with pytest.raises(TypeError):
        json_text.encoder()({"d": date(2026, 3, 1)})
    with pytest.raises(TypeError):
        json_text.encoder(sort_keys=True)({1: "a", "b": 2})  # keys of two types
    loop: list[Any] = []
    loop.append(loop)
    encode = json_text.encoder()
    with pytest.raises(ValueError, match="Circular"):
        encode(loop)
    shared = [1]
    assert encode([shared, shared]) == "[[1], [1]]"  # no marker left behind by the error
