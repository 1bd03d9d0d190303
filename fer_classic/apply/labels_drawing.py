"""Boxes and labels drawn on photos and video frames so a person can read them: the text scaled to the
face box, on a filled background, with the top score."""

from __future__ import annotations

import functools

import numpy as np

BOX_COLOUR = (255, 64, 32)


def top_score_text(row, label_column: str = "label") -> str:
    """The score of a row's label as a person reads it: ``87%`` for a probability, ``+1.25`` for a
    decision score (rows as ``predict`` writes them, with ``probability_<class>`` or ``decision_<class>``),
    followed by the detector's score where the face was detected (``det 1.23``)."""
    text = ""
    for kind, fmt in (("probability", "{:.0%}"), ("decision", "{:+.2f}")):
        column = f"{kind}_{row[label_column]}"
        if column in row:
            text = fmt.format(row[column])
            break
    detector = row.get("detector_score")
    if detector is not None and detector == detector:  # not missing, not NaN
        text = f"{text} det {float(detector):.2f}".strip()
    return text


@functools.lru_cache(maxsize=32)
def _font(size: int):
    from PIL import ImageFont

    return ImageFont.load_default(size=size)  # Pillow's scalable built-in font


def draw_labels(image: np.ndarray, faces) -> np.ndarray:
    """A copy of ``image`` (RGB or grayscale uint8) with each face ``(x, y, width, height, label, score
    text)`` boxed and labelled; the text height is about a fifth of the box, at least 12 px (smaller only
    where the image is too narrow for it), and the label is kept inside the image: above the box, below
    it at the top edge, moved left at the right edge."""
    from PIL import Image, ImageDraw

    rgb = image if image.ndim == 3 else np.stack([image] * 3, axis=-1)
    pil = Image.fromarray(np.ascontiguousarray(rgb))
    draw = ImageDraw.Draw(pil)
    line = max(2, round(max(pil.size) / 400))
    for x, y, w, h, label, score in faces:
        draw.rectangle([x, y, x + w, y + h], outline=BOX_COLOUR, width=line)
        text = f"{label} {score}".strip()
        size = max(12, round(h / 5))
        while True:
            font = _font(size)
            left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
            th, tw = bottom - top, right - left
            if tw + 2 * line < pil.width or size <= 6:  # the background spans tw + 2 * line + 1 pixels
                break
            size -= 1
        ty = y - th - 2 * line if y - th - 2 * line >= 0 else y + h + line  # above the box, or below at the top edge
        ty = max(0, min(ty, pil.height - 1 - th - 2 * line))
        tx = max(0, min(x, pil.width - 1 - tw - 2 * line))
        draw.rectangle([tx, ty, tx + tw + 2 * line, ty + th + 2 * line], fill=BOX_COLOUR)
        draw.text((tx + line, ty + line - top), text, fill=(255, 255, 255), font=font)
    return np.asarray(pil)
