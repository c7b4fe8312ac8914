"""How well OCR reads the generated fax pages: character error rate per variant and
which fields come out exact, over every test document.

    python bench/ocr_accuracy.py [--variant fine] [--document county_request] [--show]

Fields: the 版头 (sender line) as one line, the 发文字号, and the title (its printed
lines joined). CER counts edits per known character, whitespace and width ignored.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core.config import Ocr  # noqa: E402 - after the path set-up above
from core.ocr import OcrText, get_engine, read_image_file, read_pdf  # noqa: E402
from tests.data.fax import DOCUMENTS, FaxFile, cer, comparable, fax_file  # noqa: E402
from tests.data.fax.render import (  # noqa: E402
    BLURRED,
    COLOUR_SCAN,
    FINE,
    GREY_SCAN,
    SKEWED,
    STANDARD,
)

#: each variant in the format it usually comes in
VARIANTS = {
    FINE.name: (FINE, "tiff"),
    STANDARD.name: (STANDARD, "tiff"),
    SKEWED.name: (SKEWED, "tiff"),
    GREY_SCAN.name: (GREY_SCAN, "pdf"),
    COLOUR_SCAN.name: (COLOUR_SCAN, "jpeg"),
    BLURRED.name: (BLURRED, "png"),
}


def fields_read(sample: FaxFile, text: OcrText) -> dict[str, bool]:
    """Which of the document's fields OCR gave exactly."""
    doc = sample.document
    lines = [comparable(line) for line in text.text.splitlines()]
    joined = "".join(lines)
    out = {"sender": any(line.startswith(comparable(doc.masthead)) for line in lines)}
    if doc.doc_number:
        out["docno"] = comparable(doc.doc_number) in joined
    out["title"] = comparable(doc.title) in joined
    return out


def read(sample: FaxFile, settings: Ocr) -> OcrText:
    if sample.fmt == "pdf":
        return read_pdf(sample.data, settings)
    return read_image_file(sample.data, settings)


def main() -> int:
    parser = argparse.ArgumentParser(description="OCR accuracy on the generated fax pages")
    parser.add_argument("--variant", choices=sorted(VARIANTS), action="append")
    parser.add_argument("--document", choices=[d.name for d in DOCUMENTS], action="append")
    parser.add_argument("--show", action="store_true", help="print what was read")
    args = parser.parse_args()
    settings = Ocr(keep_page_images=False)
    get_engine(settings)
    docs = [d for d in DOCUMENTS if not args.document or d.name in args.document]
    for name in args.variant or list(VARIANTS):
        variant, fmt = VARIANTS[name]
        rates: list[float] = []
        exact: dict[str, list[bool]] = {}
        doubtful = lines = 0
        started = time.perf_counter()
        for doc in docs:
            sample = fax_file(doc, variant, fmt)
            text = read(sample, settings)
            rates.append(cer(sample.text, text.text))
            for field, ok in fields_read(sample, text).items():
                exact.setdefault(field, []).append(ok)
            doubtful += len(text.doubtful_lines)
            lines += sum(1 for _ in text.lines)
            if args.show:
                print(f"--- {doc.name} / {name} ({fmt}) cer {rates[-1]:.4f}")
                for line in text.lines:
                    mark = "?" if line.doubtful else " "
                    print(f"{mark} {line.confidence:.3f} {line.text}")
        fields = "  ".join(f"{k} {sum(v)}/{len(v)}" for k, v in exact.items())
        print(f"{name:9} {fmt:5} CER mean {statistics.mean(rates):.4f} max {max(rates):.4f}  "
              f"{fields}  doubtful lines {doubtful}/{lines}  "
              f"{time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
