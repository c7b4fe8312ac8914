"""The reading wing: raw message bytes in, a `Decision` out.

Entry point: `core.reading.decide.decide(raw, directory, …)` (pure, total, picklable
inputs and output). Inside: `text` (charsets, HTML, normalisation), `mail` (headers,
transfer decoding, the part walker), `documents` (one reader per format behind a
registry), `fields` (GB/T 9704 elements), `classify` (intake checks and kind rules).

Kept empty on purpose: importing one submodule must not load the others.
"""
