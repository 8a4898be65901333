"""The server-drawn SVG: charts and the camera map are pure functions of their data."""

from __future__ import annotations

import re

import pytest

from phatnguoi.web.camera_map import camera_map
from phatnguoi.web.charts import horizontal_bars, stacked_columns


def test_stacked_columns_draw_one_rect_per_nonzero_value_with_a_legend():
    svg = stacked_columns(["01/03", "02/03", "03/03"], {"red <light>": [1, 0, 3], "speeding": [2, 2, 0]})
    assert svg.count("<rect") == 4 + 2  # four non-zero values, two legend swatches
    assert "red &lt;light&gt;" in svg and "<light>" not in svg  # labels are escaped
    heights = [float(h) for h in re.findall(r'height="([0-9.]+)" fill="[^"]+"><title>', svg)]
    assert len(heights) == 4
    assert max(heights) == pytest.approx(3 * min(heights), rel=0.02)  # values 1, 2, 2, 3: proportional
    with pytest.raises(ValueError, match="expected 3 values, got 2"):
        stacked_columns(["a", "b", "c"], {"x": [1, 2]})


def test_horizontal_bars_and_empty_data():
    svg = horizontal_bars([("canbo", 8), ("chihuy", 2)], unit=" vụ")
    widths = [float(w) for w in re.findall(r'<rect x="170" y="[0-9.]+" width="([0-9.]+)"', svg)]
    assert widths[0] == pytest.approx(4 * widths[1])
    assert "8 vụ" in svg
    assert "Chưa có dữ liệu" in horizontal_bars([])


def test_camera_map_marks_the_camera_among_the_others():
    positions = {"a": (10.79, 106.69), "b": (10.77, 106.70), "c": (10.76, 106.66)}
    svg = camera_map(positions, "b")
    assert svg.count("<circle") == 3 and svg.count('class="cam-me"') == 1
    assert "10.77000, 106.70000" in svg
    assert camera_map(positions, "unknown") == "" and camera_map({}, None) == ""
