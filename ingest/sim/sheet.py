"""Contact sheets: a grid of frames, captioned, for people to judge a run at a glance."""

from __future__ import annotations

import cv2
import numpy as np

from ingest.sim.types import FrameTruth

CLASS_COLOURS = {"motorbike": (0, 200, 255), "car": (0, 255, 0), "bus": (255, 128, 0), "truck": (255, 0, 255)}


def draw_truth(image: np.ndarray, truth: FrameTruth) -> np.ndarray:
    """A copy of ``image`` with the ground-truth vehicle and plate boxes drawn on it."""
    out = image.copy()
    for v in truth.vehicles:
        x1, y1, x2, y2 = (int(round(c)) for c in v.box)
        colour = CLASS_COLOURS.get(v.cls.value, (255, 255, 255))
        cv2.rectangle(out, (x1, y1), (x2, y2), colour, 2)
        cv2.putText(
            out,
            f"{v.track_id} {v.cls.value}",
            (x1 + 2, max(12, y1 + 14)),
            cv2.FONT_HERSHEY_SIMPLEX,
            0.45,
            colour,
            1,
            cv2.LINE_AA,
        )
        if v.plate_box is not None:
            px1, py1, px2, py2 = (int(round(c)) for c in v.plate_box)
            cv2.rectangle(out, (px1, py1), (px2, py2), (0, 0, 255), 1)
    return out


def contact_sheet(
    images: list[np.ndarray], captions: list[str], *, cols: int = 3, tile_width: int = 426
) -> np.ndarray:
    """Tiles of ``images`` (BGR) in a grid, each with its caption in a dark band."""
    if not images:
        raise ValueError("expected at least one image for a contact sheet, got none")
    if len(captions) != len(images):
        raise ValueError(f"expected one caption per image ({len(images)}), got {len(captions)}")
    h, w = images[0].shape[:2]
    tile_h = int(round(tile_width * h / w))
    tiles = []
    for img, cap in zip(images, captions, strict=True):
        tile = cv2.resize(img, (tile_width, tile_h), interpolation=cv2.INTER_AREA)
        cv2.rectangle(tile, (0, tile_h - 18), (tile_width, tile_h), (20, 20, 20), -1)
        cv2.putText(
            tile, cap, (5, tile_h - 5), cv2.FONT_HERSHEY_SIMPLEX, 0.42, (235, 235, 235), 1, cv2.LINE_AA
        )
        tiles.append(tile)
    rows = []
    for r in range(0, len(tiles), cols):
        row = tiles[r : r + cols]
        row += [np.zeros_like(tiles[0])] * (cols - len(row))
        rows.append(cv2.hconcat(row))
    return cv2.vconcat(rows)


def write_doc_sheets(out_dir, *, seed: int = 7, max_bytes: int = 500_000) -> list:
    """The contact sheets in ``docs/img``: day, night and rain, two frames from each sim camera.

    Saved as PNG, downscaled until each is under ``max_bytes``.
    """
    from pathlib import Path

    from ingest.camera import load_camera
    from ingest.sim.camera import SimulatedCamera
    from ingest.sim.scenes import CAMERAS_DIR
    from ingest.sim.types import SimOptions

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    conditions = {
        "day": SimOptions(),
        "night": SimOptions(night=True),
        "rain": SimOptions(rain=True, motion_blur=True),
    }
    written = []
    for name, options in conditions.items():
        images, captions = [], []
        for cam_name in ("sim-intersection-01", "sim-intersection-02", "sim-speed-01"):
            camera = load_camera(CAMERAS_DIR / f"{cam_name}.yaml")
            picks = {120, 330}
            sim = SimulatedCamera(camera, seed=seed, options=options, frames=max(picks) + 1)
            for rendered in sim.render():
                if rendered.truth.sequence in picks:
                    images.append(rendered.image)
                    phase = rendered.truth.signal_phase.value if rendered.truth.signal_phase else "no signal"
                    captions.append(f"{cam_name}  t={rendered.truth.t_s:.0f}s  {phase}  {name}")
        # one row per camera, two moments each; an adaptive 256-colour palette keeps the PNG small
        width = 640
        while True:
            sheet = contact_sheet(images, captions, cols=2, tile_width=width)
            data = _png_palette(sheet)
            if len(data) <= max_bytes or width <= 240:
                break
            width -= 40
        path = out_dir / f"sim-{name}.png"
        path.write_bytes(data)
        written.append(path)
    return written


def _png_palette(image: np.ndarray) -> bytes:
    import io

    from PIL import Image

    pil = Image.fromarray(cv2.cvtColor(image, cv2.COLOR_BGR2RGB)).quantize(
        colors=256, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE
    )
    buf = io.BytesIO()
    pil.save(buf, format="PNG", optimize=True)
    return buf.getvalue()
