"""The documents the traffic sends: drawn with Pillow, as a scanner in a mail room would produce them.

Four kinds (the ``document_type`` label): invoices, receipts, letters and forms, each a few lines of
text in Pillow's embedded font (no system font needed). A *degraded* scan (a failing scanner lamp,
a smudged glass) is the same page blurred and speckled: Tesseract still reads something, with a low
confidence of its own. A *corrupt* upload is what a broken client sends: a truncated PNG, an empty
body, or bytes that are no image at all.
"""

from __future__ import annotations

import io
import random
from functools import cache

from PIL import Image, ImageDraw, ImageFilter, ImageFont

__all__ = ["TYPES", "corrupt_upload", "draw", "lines_for"]

TYPES = ("invoice", "receipt", "letter", "form")
_CLIENTS = [
    "Atelier Dupont SA",
    "Boulangerie Favre",
    "Garage du Lac",
    "Pharmacie Rochat",
    "Hotel Bellevue",
    "Librairie Payot",
    "Cave Morel",
    "Imprimerie Vaudoise",
    "Fromagerie Blanc",
    "Clinique Alpes",
]
_CITIES = ["Lausanne", "Geneva", "Fribourg", "Neuchatel", "Sion", "Montreux", "Nyon", "Vevey"]


@cache
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=size)


def lines_for(kind: str, n: int) -> list[str]:
    """The text of document ``n`` of ``kind`` (deterministic: the same n gives the same page)."""
    r = random.Random(f"{kind}-{n}")
    client = r.choice(_CLIENTS)
    day = f"{r.randint(1, 28):02d}.{r.randint(1, 12):02d}.2025"
    amount = f"{r.randint(20, 9000)}.{r.randint(0, 99):02d}"
    if kind == "invoice":
        return [f"INVOICE No 2025-{n:05d}", f"Client: {client}", f"Total due: {amount} CHF", f"Date: {day}"]
    if kind == "receipt":
        return [f"RECEIPT {n:06d}", f"{r.randint(1, 9)} x Item {r.randint(100, 999)}", f"Paid: {amount} CHF"]
    if kind == "letter":
        return [f"{r.choice(_CITIES)}, {day}", f"Dear {client.split()[-1]} team,", "Please find our order",
                f"reference {n:06d} attached."]  # fmt: skip
    return [f"FORM A-{n:05d}", f"Name: {client}", f"City: {r.choice(_CITIES)}", f"Signed: {day}"]


def draw(kind: str, n: int, *, degraded: bool = False, scale: float = 1.0) -> bytes:
    """Document ``n`` of ``kind`` as PNG bytes; ``degraded`` blurs and speckles it like a bad scan."""
    lines = lines_for(kind, n)
    size = round(22 * scale)
    step = round(30 * scale)
    image = Image.new("L", (round(520 * scale), step * len(lines) + round(20 * scale)), 255)
    pen = ImageDraw.Draw(image)
    for i, line in enumerate(lines):
        pen.text((round(12 * scale), round(10 * scale) + step * i), line, fill=0, font=_font(size))
    if degraded:
        r = random.Random(n)
        image = image.filter(ImageFilter.GaussianBlur(1.4 + r.random() * 0.4))
        pixels = image.load()
        assert pixels is not None
        for _ in range(image.width * image.height // 6):
            pixels[r.randrange(image.width), r.randrange(image.height)] = r.randrange(256)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def corrupt_upload(n: int) -> bytes:
    """What a broken client uploads: a truncated PNG, nothing, or text (in turn)."""
    kind = n % 3
    if kind == 0:
        return draw("receipt", n)[:200]
    if kind == 1:
        return b""
    return b"%PDF-1.4 this is not an image\n"
