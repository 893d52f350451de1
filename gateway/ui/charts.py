"""Charts of the Cruscotto drawn on the server as SVG: no JavaScript, nothing from elsewhere,
and readable without the picture (``<title>``, ``aria-label`` and each value written as text
next to its bar or point), so colour never carries a figure alone.

Colours are attributes, not ``style``: the console's Content-Security-Policy forbids inline
styles but not SVG presentation attributes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

# Bootstrap Italia's palette, with a contrast of at least 4.5:1 on white for the text
GOOD, WARNING, BAD, NEUTRAL = "#008055", "#995c00", "#b0243a", "#0066cc"
TEXT = "#1a1a1a"
MIN_LINE_WIDTH = 420
GRID = "#c5c7c9"


@dataclass(frozen=True)
class Grade:
    """How an indicator reads: a word and a colour (the word is always shown)."""

    code: str
    label: str
    colour: str


GRADES = {
    "good": Grade("good", "Buono", GOOD),
    "warning": Grade("warning", "Attenzione", WARNING),
    "bad": Grade("bad", "Critico", BAD),
    "none": Grade("none", "Non calcolabile", NEUTRAL),
}
# the indicator's bands: at least 90% within the threshold is good, below 70% is critical
GOOD_FROM, WARNING_FROM = 0.9, 0.7


def grade(ratio: float | None) -> Grade:
    if ratio is None:
        return GRADES["none"]
    if ratio >= GOOD_FROM:
        return GRADES["good"]
    if ratio >= WARNING_FROM:
        return GRADES["warning"]
    return GRADES["bad"]


def percent(value: float | None) -> str:
    """0.6667 → '66,7%' (Italian decimal comma); None → 'n.d.'."""
    if value is None:
        return "n.d."
    return f"{value * 100:.1f}%".replace(".", ",")


def number(value: float | None) -> str:
    if value is None:
        return "n.d."
    if float(value).is_integer():
        return str(int(value))
    return f"{value:.1f}".replace(".", ",")


def _svg(width: int, height: int, title: str, body: list[str], testid: str) -> Markup:
    label = escape(title)
    return Markup(
        f'<svg class="combid-chart" xmlns="http://www.w3.org/2000/svg" role="img" '
        f'width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'aria-label="{label}" data-testid="{escape(testid)}">'
        f"<title>{label}</title>{''.join(body)}</svg>"
    )


def bar_chart(
    items: Sequence[tuple[str, float | None]],
    title: str,
    *,
    fmt: Callable[[float | None], str] = number,
    maximum: float | None = None,
    colour: Callable[[float | None], str] | None = None,
    testid: str = "grafico-barre",
) -> Markup:
    """Horizontal bars, one per ``(label, value)``, the value written after each bar; a value of
    None draws no bar and reads 'n.d.'. ``maximum`` fixes the scale (1 for ratios)."""
    label_width, bar_width, row, top = 220, 380, 28, 8
    width = label_width + bar_width + 90
    height = top * 2 + row * max(len(items), 1)
    values = [value for _, value in items if value is not None]
    scale = maximum if maximum is not None else max(values, default=0) or 1
    body = []
    if not items:
        body.append(f'<text x="8" y="{top + 18}" fill="{TEXT}">Nessun dato nel periodo</text>')
    for index, (name, value) in enumerate(items):
        y = top + index * row
        shown = f"{name}: {fmt(value)}"
        body.append(f"<g><title>{escape(shown)}</title>")
        body.append(
            f'<text x="{label_width - 8}" y="{y + 18}" text-anchor="end" fill="{TEXT}">{escape(name)}</text>'
        )
        length = 0.0 if value is None else max(0.0, min(1.0, value / scale)) * bar_width
        fill = colour(value) if colour else NEUTRAL
        body.append(
            f'<rect x="{label_width}" y="{y + 4}" width="{length:.1f}" height="{row - 10}" fill="{fill}"/>'
        )
        body.append(
            f'<text x="{label_width + length + 6:.1f}" y="{y + 18}" fill="{TEXT}">{escape(fmt(value))}</text>'
        )
        body.append("</g>")
    return _svg(width, height, title, body, testid)


def line_chart(
    points: Sequence[tuple[str, float | None]],
    title: str,
    *,
    fmt: Callable[[float | None], str] = number,
    maximum: float | None = None,
    testid: str = "grafico-linea",
) -> Markup:
    """A line through ``(label, value)`` in order (months), each point with its value written
    above it; a None value breaks the line."""
    left, right, top, bottom, step = 40, 20, 24, 36, 70
    width = max(MIN_LINE_WIDTH, left + right + step * max(len(points) - 1, 1))
    plot = 160
    height = top + plot + bottom
    values = [value for _, value in points if value is not None]
    scale = maximum if maximum is not None else max(values, default=0) or 1
    body = [
        f'<line x1="{left}" y1="{top + plot}" x2="{width - right}" y2="{top + plot}" stroke="{GRID}"/>',
    ]
    if not points:
        body.append(f'<text x="{left}" y="{top + 18}" fill="{TEXT}">Nessun dato nel periodo</text>')
    segment: list[str] = []
    for index, (name, value) in enumerate(points):
        x = left + index * step
        body.append(
            f'<text x="{x}" y="{top + plot + 20}" text-anchor="middle" fill="{TEXT}">{escape(name)}</text>'
        )
        if value is None:
            if len(segment) > 1:
                body.append(_polyline(segment))
            segment = []
            continue
        y = top + plot - max(0.0, min(1.0, value / scale)) * plot
        segment.append(f"{x},{y:.1f}")
        body.append(f"<g><title>{escape(f'{name}: {fmt(value)}')}</title>")
        body.append(f'<circle cx="{x}" cy="{y:.1f}" r="4" fill="{NEUTRAL}"/>')
        body.append(
            f'<text x="{x}" y="{y - 8:.1f}" text-anchor="middle" fill="{TEXT}">{escape(fmt(value))}</text>'
        )
        body.append("</g>")
    if len(segment) > 1:
        body.append(_polyline(segment))
    return _svg(width, height, title, body, testid)


def _polyline(points: list[str]) -> str:
    return f'<polyline points="{" ".join(points)}" fill="none" stroke="{NEUTRAL}" stroke-width="2"/>'
