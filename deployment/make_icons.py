"""Draw the Teams app icons: appPackage/color.png (192x192) and appPackage/outline.png (32x32).

    .venv/bin/python deployment/make_icons.py

The mark is a shield (safeguarding) holding three rising steps (the policy's stages of
escalation). Teams wants the colour icon full-bleed on the accent colour and the outline icon
white on transparent. Drawn at 8x and scaled down, so edges are smooth. Needs Pillow (dev extra).
"""

from __future__ import annotations

import json
from pathlib import Path

from PIL import Image, ImageDraw

HERE = Path(__file__).resolve().parent / "appPackage"
SCALE = 8
WHITE = (255, 255, 255, 255)


def accent() -> tuple[int, int, int, int]:
    colour = json.loads((HERE / "manifest.json").read_text(encoding="utf-8"))["accentColor"]
    r, g, b = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return (r, g, b, 255)


def shield(size: float, inset: float) -> list[tuple[float, float]]:
    """A shield's outline in a size x size square, `inset` from its edges."""
    left, right, top, bottom = inset, size - inset, inset, size - inset
    middle = size / 2
    shoulder = top + (bottom - top) * 0.12
    waist = top + (bottom - top) * 0.58
    return [
        (middle, top),
        (right, shoulder),
        (right, waist),
        (middle, bottom),
        (left, waist),
        (left, shoulder),
    ]


def steps(size: float, inset: float) -> list[tuple[float, float, float, float]]:
    """Three rising bars inside the shield."""
    width = (size - 2 * inset) * 0.16
    gap = width * 0.45
    total = 3 * width + 2 * gap
    x0 = size / 2 - total / 2
    base = size * 0.66
    heights = (size * 0.14, size * 0.24, size * 0.34)
    return [
        (x0 + i * (width + gap), base - h, x0 + i * (width + gap) + width, base)
        for i, h in enumerate(heights)
    ]


def color_icon(size: int = 192) -> Image.Image:
    big = size * SCALE
    image = Image.new("RGBA", (big, big), accent())
    draw = ImageDraw.Draw(image)
    draw.polygon(shield(big, big * 0.14), fill=WHITE)
    for bar in steps(big, big * 0.14):
        draw.rectangle(bar, fill=accent())
    return image.resize((size, size), Image.Resampling.LANCZOS).convert("RGB")


def outline_icon(size: int = 32) -> Image.Image:
    """White on transparent: the shape lives in the alpha channel only."""
    big = size * SCALE
    mask = Image.new("L", (big, big), 0)
    draw = ImageDraw.Draw(mask)
    draw.polygon(shield(big, big * 0.06), fill=255)
    for bar in steps(big, big * 0.06):
        draw.rectangle(bar, fill=0)
    alpha = mask.resize((size, size), Image.Resampling.LANCZOS)
    image = Image.new("RGBA", (size, size), (255, 255, 255, 0))
    image.putalpha(alpha)
    return image


def main() -> None:
    color_icon().save(HERE / "color.png", optimize=True)
    outline_icon().save(HERE / "outline.png", optimize=True)
    print(f"wrote {HERE / 'color.png'} and {HERE / 'outline.png'}")


if __name__ == "__main__":
    main()
