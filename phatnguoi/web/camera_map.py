"""Where a camera stands, as a small static SVG: every known camera as a dot in a box around
them, the one in question highlighted, a scale bar and north. No map tiles: nothing is fetched
from outside, and the page works on a closed police network."""

from __future__ import annotations

import math
from collections.abc import Mapping
from html import escape

from markupsafe import Markup

EARTH_M_PER_DEG = 111_320.0


def camera_map(
    positions: Mapping[str, tuple[float, float]], highlight: str | None, *, width: int = 320, height: int = 200
) -> Markup:
    """``positions``: camera id -> (lat, lon). Empty markup when the highlighted camera has no
    position."""
    if highlight is not None and highlight not in positions:
        return Markup("")
    if not positions:
        return Markup("")
    lats = [p[0] for p in positions.values()]
    lons = [p[1] for p in positions.values()]
    mid_lat = (min(lats) + max(lats)) / 2
    kx = EARTH_M_PER_DEG * math.cos(math.radians(mid_lat))  # metres per degree of longitude here
    ky = EARTH_M_PER_DEG
    span_m = max((max(lons) - min(lons)) * kx, (max(lats) - min(lats)) * ky, 400.0) * 1.4
    pad = 20
    scale = min(width - 2 * pad, height - 2 * pad) / span_m  # px per metre
    cx, cy = (min(lons) + max(lons)) / 2, mid_lat

    def xy(lat: float, lon: float) -> tuple[float, float]:
        return width / 2 + (lon - cx) * kx * scale, height / 2 - (lat - cy) * ky * scale

    parts = [f'<svg class="map" viewBox="0 0 {width} {height}" role="img" aria-label="Vị trí camera">',
             f'<rect width="{width}" height="{height}" class="map-bg"/>']
    for k in range(1, 4):  # a faint grid every quarter of the box
        parts.append(f'<line x1="{width * k / 4}" y1="0" x2="{width * k / 4}" y2="{height}" class="map-grid"/>')
        parts.append(f'<line x1="0" y1="{height * k / 4}" x2="{width}" y2="{height * k / 4}" class="map-grid"/>')
    for camera_id, (lat, lon) in sorted(positions.items(), key=lambda kv: kv[0] == highlight):
        x, y = xy(lat, lon)
        mine = camera_id == highlight
        parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{7 if mine else 4}" class="{"cam-me" if mine else "cam"}">'
                     f"<title>{escape(camera_id)} ({lat:.5f}, {lon:.5f})</title></circle>")
        parts.append(f'<text x="{x + 9:.1f}" y="{y + 4:.1f}" class="{"map-label-me" if mine else "map-label"}">'
                     f"{escape(camera_id)}</text>")
    bar_m = 10 ** int(math.log10(span_m / 3))
    bar_px = bar_m * scale
    parts.append(f'<line x1="10" y1="{height - 12}" x2="{10 + bar_px:.1f}" y2="{height - 12}" class="map-scale"/>')
    parts.append(f'<text x="10" y="{height - 16}" class="map-label">{bar_m:g} m</text>')
    parts.append(f'<text x="{width - 14}" y="18" class="map-label" text-anchor="middle">N</text>'
                 f'<path d="M{width - 14},22 l-4,10 l4,-3 l4,3 z" class="map-north"/>')
    if highlight is not None:
        lat, lon = positions[highlight]
        parts.append(f'<text x="{width - 6}" y="{height - 6}" class="map-label" text-anchor="end">'
                     f"{lat:.5f}, {lon:.5f}</text>")
    parts.append("</svg>")
    return Markup("".join(parts))
