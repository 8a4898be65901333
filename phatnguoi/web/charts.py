"""Charts drawn on the server as inline SVG: no JavaScript, no build chain, they print, and they
render in microseconds. Two shapes cover the statistics page: stacked columns (cases per day by
rule or status) and horizontal bars (throughput per officer, rejection reasons)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape

from markupsafe import Markup

PALETTE = ("#1f6feb", "#d29922", "#2da44e", "#cf222e", "#8250df", "#57606a", "#e16f24", "#0a7ea4", "#bf3989")


def _nice_max(value: float) -> float:
    """A round axis maximum at or above ``value`` (1, 2, 5 x 10^n)."""
    if value <= 0:
        return 1.0
    magnitude = 10 ** (len(str(int(value))) - 1)
    for step in (1, 2, 5, 10):
        if value <= step * magnitude:
            return float(step * magnitude)
    return float(10 * magnitude)


def stacked_columns(
    labels: Sequence[str],
    series: Mapping[str, Sequence[float]],
    *,
    width: int = 720,
    height: int = 240,
    title: str = "",
) -> Markup:
    """One column per label, one coloured stack per series (with a legend)."""
    for name, values in series.items():
        if len(values) != len(labels):
            raise ValueError(f"series {name!r}: expected {len(labels)} values, got {len(values)}")
    left, bottom, top, right = 36, 34, 12, 8
    plot_w, plot_h = width - left - right, height - top - bottom
    totals = [sum(v[i] for v in series.values()) for i in range(len(labels))]
    ymax = _nice_max(max(totals, default=0))
    if ymax <= 20:  # small counts: whole numbers on the four grid lines
        ymax = float(max(4, -(-int(max(totals, default=0)) // 4) * 4))
    n = max(len(labels), 1)
    slot = plot_w / n
    bar = max(2.0, slot * 0.7)
    parts = [f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}">']
    for k in range(5):
        y = top + plot_h * k / 4
        value = ymax * (1 - k / 4)
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>')
        parts.append(f'<text x="{left - 4}" y="{y + 4:.1f}" class="axis" text-anchor="end">{value:g}</text>')
    every = max(1, len(labels) // 10)
    for i, label in enumerate(labels):
        x = left + slot * i + (slot - bar) / 2
        base = float(top + plot_h)
        for j, (name, values) in enumerate(series.items()):
            h = plot_h * values[i] / ymax
            if h > 0:
                base -= h
                parts.append(
                    f'<rect x="{x:.1f}" y="{base:.1f}" width="{bar:.1f}" height="{h:.1f}" '
                    f'fill="{PALETTE[j % len(PALETTE)]}"><title>{escape(label)} · {escape(name)}: '
                    f"{values[i]:g}</title></rect>"
                )
        if i % every == 0:
            parts.append(
                f'<text x="{x + bar / 2:.1f}" y="{top + plot_h + 14}" class="axis" text-anchor="middle">'
                f"{escape(label)}</text>"
            )
    x = left
    for j, name in enumerate(series):
        parts.append(f'<rect x="{x}" y="{height - 12}" width="10" height="10" fill="{PALETTE[j % len(PALETTE)]}"/>')
        parts.append(f'<text x="{x + 14}" y="{height - 3}" class="legend">{escape(name)}</text>')
        x += 24 + 7 * len(name)
    parts.append("</svg>")
    return Markup("".join(parts))


def horizontal_bars(
    items: Sequence[tuple[str, float]], *, width: int = 420, row: int = 26, title: str = "", unit: str = ""
) -> Markup:
    """One labelled bar per item, longest = largest."""
    label_w, right = 170, 50
    height = max(row * len(items), row) + 4
    vmax = max((v for _, v in items), default=0) or 1
    parts = [f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}">']
    if not items:
        parts.append(f'<text x="4" y="{row - 8}" class="axis">Chưa có dữ liệu</text>')
    for i, (label, value) in enumerate(items):
        y = i * row + 4
        w = (width - label_w - right) * value / vmax
        short = label if len(label) <= 26 else label[:25] + "…"
        parts.append(f'<text x="{label_w - 6}" y="{y + row / 2 + 1:.1f}" class="axis" text-anchor="end">'
                     f"{escape(short)}<title>{escape(label)}</title></text>")
        parts.append(f'<rect x="{label_w}" y="{y + 3}" width="{w:.1f}" height="{row - 10}" '
                     f'fill="{PALETTE[i % len(PALETTE)]}" rx="2"/>')
        parts.append(f'<text x="{label_w + w + 4:.1f}" y="{y + row / 2 + 1:.1f}" class="axis">{value:g}{unit}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))
