"""Reading one document: decode the upload, prepare the image, run Tesseract, keep its own confidence.

Tesseract (Debian's ``tesseract-ocr``, through pytesseract) returns a confidence per word, 0 to 100;
the document's confidence is their mean (words Tesseract marks -1, layout boxes, are left out), which
is what ``ocr_confidence_score`` shows. ``OMP_THREAD_LIMIT=1`` keeps each Tesseract process on one
thread: the worker pool is the parallelism, four OpenMP teams on two cores would only fight.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass

import pytesseract
from PIL import Image, ImageOps, UnidentifiedImageError

__all__ = ["OcrError", "Reading", "TesseractKilled", "read_document", "tesseract_version"]

os.environ.setdefault("OMP_THREAD_LIMIT", "1")

#: larger images are shrunk to this side first (the plan's "optimiser la taille des images")
MAX_SIDE = 2000


class OcrError(Exception):
    """The document could not be read (not an image, truncated, Tesseract failed)."""


class TesseractKilled(OcrError):
    """Tesseract died of a signal (the OOM killer, an operator's kill): the document is not at fault."""


@dataclass(frozen=True)
class Reading:
    text: str
    confidence: float
    words: int


def tesseract_version() -> str:
    return str(pytesseract.get_tesseract_version())


def _prepare(data: bytes) -> Image.Image:
    if not data:
        raise OcrError("empty upload")
    try:
        image = Image.open(io.BytesIO(data))
        image.load()
    except UnidentifiedImageError:
        raise OcrError("not a readable image: unknown format") from None
    except (OSError, ValueError) as exc:  # truncated, corrupt
        raise OcrError(f"not a readable image: {' '.join(str(exc).split())[:120]}") from None
    if max(image.size) > MAX_SIDE:
        image.thumbnail((MAX_SIDE, MAX_SIDE))
    return ImageOps.grayscale(image)


def read_document(data: bytes, *, timeout: float = 60.0) -> Reading:
    """The text of the image in ``data`` and Tesseract's confidence (OcrError when it cannot be read)."""
    image = _prepare(data)
    try:
        found = pytesseract.image_to_data(
            image, config="--psm 6", output_type=pytesseract.Output.DICT, timeout=timeout
        )
    except pytesseract.TesseractError as exc:
        if isinstance(exc.status, int) and exc.status < 0:
            raise TesseractKilled(f"tesseract killed by signal {-exc.status}") from None
        raise OcrError(f"tesseract failed: {' '.join(str(exc).split())[:120]}") from None
    except RuntimeError as exc:  # pytesseract's timeout
        raise OcrError(f"tesseract failed: {' '.join(str(exc).split())[:120]}") from None
    words = [
        (w, float(c))
        for w, c in zip(found["text"], found["conf"], strict=True)
        if w.strip() and float(c) >= 0
    ]
    if not words:
        return Reading("", 0.0, 0)
    confidence = sum(c for _, c in words) / len(words)
    return Reading(" ".join(w for w, _ in words), round(confidence, 1), len(words))
