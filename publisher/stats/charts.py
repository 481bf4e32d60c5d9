"""Charts as inline SVG, drawn on the server: bars and lines with axes, tooltips and a legend.

No script and nothing fetched: each chart is a ``<figure>`` holding an ``<svg role="img">``
with a title and a text description, one ``<title>`` tooltip per bar or point, and colours
from the page's CSS variables (so dark mode just works). Every page puts the same numbers in
a table beside the chart.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

WIDTH, HEIGHT = 640, 240
LEFT, RIGHT, TOP, BOTTOM = 48, 12, 12, 36
COLOURS = ("var(--accent)", "var(--ok)", "var(--warn)", "var(--bad)", "var(--muted)")


@dataclass(frozen=True, slots=True)
class Series:
    """One named row of values, one per label."""

    name: str
    values: Sequence[float]
    colour: str = ""


def bar_chart(title: str, labels: Sequence[str], series: Sequence[Series]) -> Markup:
    """Grouped bars: one group per label, one bar per series."""
    top = _nice_max(max((v for s in series for v in s.values), default=0))
    group = (WIDTH - LEFT - RIGHT) / max(len(labels), 1)
    bar = max(group * 0.8 / max(len(series), 1), 1)
    shapes = []
    for index, label in enumerate(labels):
        for number, row in enumerate(series):
            value = row.values[index]
            height = _scale(value, top)
            x = LEFT + index * group + group * 0.1 + number * bar
            shapes.append(
                f'<rect x="{x:.1f}" y="{TOP + _plot_height() - height:.1f}" width="{bar:.1f}" '
                f'height="{height:.1f}" fill="{_colour(row, number)}">'
                f"<title>{escape(label)} · {escape(row.name)}: {_number(value)}</title></rect>"
            )
    return _figure(title, labels, series, top, "".join(shapes))


def line_chart(title: str, labels: Sequence[str], series: Sequence[Series]) -> Markup:
    """Lines over the labels, with a dot (and tooltip) per point."""
    top = _nice_max(max((v for s in series for v in s.values), default=0))
    slot = (WIDTH - LEFT - RIGHT) / max(len(labels), 1)
    shapes = []
    for number, row in enumerate(series):
        colour = _colour(row, number)
        points = [
            (LEFT + index * slot + slot / 2, TOP + _plot_height() - _scale(value, top))
            for index, value in enumerate(row.values)
        ]
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
        shapes.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"/>')
        for (x, y), label, value in zip(points, labels, row.values, strict=True):
            shapes.append(
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{colour}">'
                f"<title>{escape(label)} · {escape(row.name)}: {_number(value)}</title></circle>"
            )
    return _figure(title, labels, series, top, "".join(shapes))


def _figure(
    title: str, labels: Sequence[str], series: Sequence[Series], top: float, shapes: str
) -> Markup:
    summary = "; ".join(
        f"{row.name}: total {_number(sum(row.values))}, "
        f"highest {_number(max(row.values, default=0))}"
        for row in series
    )
    svg = (
        f'<svg viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{escape(title)}. '
        f'{escape(summary)}" preserveAspectRatio="xMidYMid meet">'
        f"<title>{escape(title)}</title><desc>{escape(summary)}</desc>"
        f"{_axes(labels, top)}{shapes}</svg>"
    )
    legend = "".join(
        f'<li><span class="swatch" style="background:{_colour(row, n)}"></span>'
        f"{escape(row.name)}</li>"
        for n, row in enumerate(series)
    )
    return Markup(  # noqa: S704 - every text part above is escaped
        f'<figure class="chart"><figcaption>{escape(title)}</figcaption>{svg}'
        f'<ul class="legend">{legend}</ul></figure>'
    )


def _axes(labels: Sequence[str], top: float) -> str:
    bottom = TOP + _plot_height()
    parts = [
        f'<line x1="{LEFT}" y1="{bottom}" x2="{WIDTH - RIGHT}" y2="{bottom}" stroke="var(--line)"/>'
    ]
    for fraction in (0, 0.5, 1):
        y = bottom - fraction * _plot_height()
        parts.append(
            f'<line x1="{LEFT}" y1="{y:.1f}" x2="{WIDTH - RIGHT}" y2="{y:.1f}" '
            f'stroke="var(--line)" stroke-dasharray="2 4"/>'
            f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11" '
            f'fill="var(--muted)">{_number(top * fraction)}</text>'
        )
    every = max(1, math.ceil(len(labels) / 8))
    width = (WIDTH - LEFT - RIGHT) / max(len(labels), 1)
    for index in range(0, len(labels), every):
        x = LEFT + index * width + width / 2
        parts.append(
            f'<text x="{x:.1f}" y="{bottom + 16}" text-anchor="middle" font-size="11" '
            f'fill="var(--muted)">{escape(labels[index])}</text>'
        )
    return "".join(parts)


def _plot_height() -> int:
    return HEIGHT - TOP - BOTTOM


def _scale(value: float, top: float) -> float:
    return max(value, 0) / top * _plot_height() if top else 0.0


def _nice_max(value: float) -> float:
    """The smallest 1, 2 or 5 × 10ⁿ at or above ``value`` (1 for nothing)."""
    if value <= 0:
        return 1
    power = 10.0 ** math.floor(math.log10(value))
    return next(float(m * power) for m in (1, 2, 5, 10) if m * power >= value)


def _colour(row: Series, number: int) -> str:
    return row.colour or COLOURS[number % len(COLOURS)]


def _number(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() or value >= 100 else f"{value:.2f}"
