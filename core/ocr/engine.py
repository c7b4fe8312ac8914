"""The OCR engine: RapidOCR on onnxruntime with the PP-OCR models its wheel bundles.

Nothing is ever downloaded. RapidOCR fetches a model only when it is given none
(`model_path` unset: it looks in its models directory and downloads what is missing
or fails its checksum) or when a recognition model carries no character table; so
the engine names the bundled files itself, refuses to start when one is missing
(`OcrUnavailableError`, which a test checks), and checks the recognition model
carries its table. Images are passed as arrays, never as paths or URLs.

The models load once per process: `get_engine(settings)` keeps one engine per
thread count. Loading takes about a second and ~0.9 GB of memory, which is why OCR
runs in a bounded number of worker processes (`[ocr] workers`).
"""

from __future__ import annotations

import importlib.util
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.errors import OcrUnavailableError
from core.ocr.model import Detected, Point

if TYPE_CHECKING:
    import numpy as np

    from core.config import Ocr

#: the models RapidOCR 3.10 ships in its wheel (its config.yaml defaults:
#: PP-OCRv6 small detection and recognition, the v2.0 mobile line-direction classifier)
MODEL_FILES = {
    "det": "PP-OCRv6_det_small.onnx",
    "rec": "PP-OCRv6_rec_small.onnx",
    "cls": "ch_ppocr_mobile_v2.0_cls_mobile.onnx",
}
#: recognition resolution: the page's long side is brought to this many pixels (A4 at
#: ~140 dpi). Measured on the test fax pages: the same characters read as at 2000
#: (RapidOCR's default), in half the detection time.
MAX_SIDE_PX = 1600


def model_dir() -> Path | None:
    """The models directory inside the installed rapidocr package (None: not installed).
    Found without importing rapidocr, which takes most of a second."""
    spec = importlib.util.find_spec("rapidocr")
    if spec is None or spec.origin is None:
        return None
    return Path(spec.origin).parent / "models"


def missing_models() -> list[str]:
    """The bundled model files that are not there (all of them without rapidocr)."""
    where = model_dir()
    if where is None:
        return list(MODEL_FILES.values())
    return [name for name in MODEL_FILES.values() if not (where / name).is_file()]


def threads_for(settings: Ocr) -> int:
    """onnxruntime threads per worker: as configured, else the cores shared by the workers."""
    if settings.threads:
        return settings.threads
    return max(1, (os.cpu_count() or 1) // max(1, settings.workers))


@dataclass(frozen=True)
class Loaded:
    """How long the models took to load, for the benchmark and the log."""

    seconds: float
    threads: int


class Engine:
    """The loaded models. `recognise` is not thread-safe: one engine per worker process."""

    def __init__(self, *, threads: int, drop_below: float) -> None:
        missing = missing_models()
        if missing:
            raise OcrUnavailableError(missing)
        try:
            from rapidocr import RapidOCR
        except ImportError as exc:  # onnxruntime or opencv missing from the install
            raise OcrUnavailableError([], problem=str(exc)) from exc
        import numpy as np

        where = model_dir()
        assert where is not None
        started = time.perf_counter()
        params: dict[str, Any] = {
            "Global.log_level": "error",
            "Global.text_score": drop_below,
            "Global.max_side_len": MAX_SIDE_PX,
            "Global.model_root_dir": str(where),
            "Det.model_path": str(where / MODEL_FILES["det"]),
            "Rec.model_path": str(where / MODEL_FILES["rec"]),
            "Cls.model_path": str(where / MODEL_FILES["cls"]),
            "EngineConfig.onnxruntime.intra_op_num_threads": threads,
            "EngineConfig.onnxruntime.inter_op_num_threads": 1,
        }
        self._ocr = RapidOCR(params=params)
        # RapidOCR loads each model on first use: load all three now, on a blank
        # strip, so that a broken model fails here and the load time is measured here
        blank = np.full((48, 320, 3), 255, dtype=np.uint8)
        self._ocr(blank, use_det=True, use_cls=False, use_rec=False)
        self._ocr(blank, use_det=False, use_cls=True, use_rec=True)
        rec = self._ocr.text_rec
        if rec is None or not rec.session.have_key():
            raise OcrUnavailableError([], problem="识别模型缺少字符表")
        self.loaded = Loaded(time.perf_counter() - started, threads)

    def recognise(self, image: np.ndarray) -> list[Detected]:
        """Every text box on a page image (H×W×3 uint8), with its text and score."""
        # the switches are given every time: RapidOCR keeps the last call's
        result = self._ocr(image, use_det=True, use_cls=True, use_rec=True)
        boxes = getattr(result, "boxes", None)
        texts = getattr(result, "txts", None)
        scores = getattr(result, "scores", None)
        if boxes is None or texts is None or scores is None:
            return []
        found = []
        for corners, text, score in zip(boxes, texts, scores, strict=True):
            points = tuple((float(x), float(y)) for x, y in corners[:4])
            found.append(Detected(_four(points), str(text), float(score)))
        return found


def _four(points: tuple[Point, ...]) -> tuple[Point, Point, Point, Point]:
    return (points[0], points[1], points[2], points[3])


_engines: dict[tuple[int, float], Engine] = {}
_lock = threading.Lock()


def get_engine(settings: Ocr) -> Engine:
    """This process's engine for `settings`, loaded on first use."""
    key = (threads_for(settings), settings.drop_below)
    with _lock:
        engine = _engines.get(key)
        if engine is None:
            engine = Engine(threads=key[0], drop_below=key[1])
            _engines[key] = engine
        return engine
