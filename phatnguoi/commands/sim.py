"""``phatnguoi sim``: render simulated camera footage with ground truth, and make data sets."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import click

DEFAULT_CAMERA = Path(__file__).resolve().parents[2] / "ingest" / "cameras" / "sim-intersection-01.yaml"


@click.group(name="sim")
def group() -> None:
    """Traffic-scene simulator: render scenes, make data sets."""


@group.command()
@click.option("--seed", type=int, default=0, show_default=True, help="Same seed, same bytes.")
@click.option("--seconds", type=float, default=10.0, show_default=True)
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), required=True)
@click.option(
    "--camera",
    "camera_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=DEFAULT_CAMERA,
    show_default="ingest/cameras/sim-intersection-01.yaml",
)
@click.option("--fps", type=float, default=None, help="Frames per second (default: the camera's).")
@click.option("--night", is_flag=True)
@click.option("--rain", is_flag=True)
@click.option("--glare", is_flag=True)
@click.option("--motion-blur", is_flag=True)
@click.option("--noise", type=float, default=3.0, show_default=True, help="Sensor noise sigma (grey levels).")
@click.option("--jpeg-quality", type=click.IntRange(10, 100), default=85, show_default=True)
@click.option("--drop-rate", type=click.FloatRange(0, 0.99), default=0.0, show_default=True)
@click.option(
    "--knocked-at", type=float, default=None, help="Seconds: the camera is knocked out of position."
)
@click.option("--covered-at", type=float, default=None, help="Seconds: the lens is covered.")
@click.option("--density", type=float, default=1.0, show_default=True)
@click.option("--boxes", is_flag=True, help="Draw ground-truth boxes on the contact sheet.")
@click.option("--video", is_flag=True, help="Also write video.mp4 (mp4v) of the kept frames.")
def render(
    seed,
    seconds,
    out_dir,
    camera_path,
    fps,
    night,
    rain,
    glare,
    motion_blur,
    noise,
    jpeg_quality,
    drop_rate,
    knocked_at,
    covered_at,
    density,
    boxes,
    video,
) -> None:
    """Write frames/*.jpg, truth.jsonl, violations.json, registry.csv, camera.yaml and
    contact_sheet.png (and video.mp4 with --video)."""
    import cv2
    import numpy as np
    from tqdm import tqdm

    from ingest.camera import CameraConfigError, load_camera
    from ingest.sim.camera import SimulatedCamera
    from ingest.sim.registry import write_registry
    from ingest.sim.sheet import contact_sheet, draw_truth
    from ingest.sim.types import SimOptions

    if seconds <= 0:
        raise click.BadParameter(f"expected seconds > 0, got {seconds}", param_hint="--seconds")
    try:
        camera = load_camera(camera_path)
    except CameraConfigError as exc:
        raise click.ClickException(str(exc)) from exc
    options = SimOptions(
        fps=fps,
        night=night,
        rain=rain,
        glare=glare,
        motion_blur=motion_blur,
        noise=noise,
        jpeg_quality=jpeg_quality,
        drop_rate=drop_rate,
        knocked_at_s=knocked_at,
        covered_at_s=covered_at,
        density=density,
    )
    rate = fps or camera.fps
    n_frames = max(1, int(round(seconds * rate)))
    sim = SimulatedCamera(camera, seed=seed, options=options, frames=n_frames)
    frames_dir = out_dir / "frames"
    frames_dir.mkdir(parents=True, exist_ok=True)
    # nine frames spread over the run; with dropped frames, the first kept one at or after each mark
    marks = sorted(set(np.linspace(0, n_frames - 1, 9).round().astype(int).tolist()))
    sheet_imgs: list[np.ndarray] = []
    sheet_caps: list[str] = []
    writer = None
    with (out_dir / "truth.jsonl").open("w", encoding="utf-8") as truth_file:
        for frame, truth in tqdm(sim, total=n_frames, unit="frame", desc="render"):
            (frames_dir / f"{frame.sequence:06d}.jpg").write_bytes(frame.jpeg)
            truth_file.write(truth.model_dump_json() + "\n")
            img: np.ndarray | None = None
            if video:
                img = np.asarray(cv2.imdecode(np.frombuffer(frame.jpeg, np.uint8), cv2.IMREAD_COLOR))
                if writer is None:
                    fourcc = cv2.VideoWriter.fourcc(*"mp4v")
                    writer = cv2.VideoWriter(
                        str(out_dir / "video.mp4"), fourcc, rate, (frame.width, frame.height)
                    )
                writer.write(img)
            if marks and frame.sequence >= marks[0]:
                while marks and marks[0] <= frame.sequence:
                    marks.pop(0)
                if img is None:
                    img = np.asarray(cv2.imdecode(np.frombuffer(frame.jpeg, np.uint8), cv2.IMREAD_COLOR))
                sheet_imgs.append(draw_truth(img, truth) if boxes else img)
                phase = truth.signal_phase.value if truth.signal_phase else "-"
                sheet_caps.append(
                    f"#{truth.sequence} t={truth.t_s:.1f}s {phase} vehicles={len(truth.vehicles)}"
                )
    if writer is not None:
        writer.release()
    violations = [v.model_dump(mode="json") for v in sim.violations]
    (out_dir / "violations.json").write_text(
        json.dumps(violations, ensure_ascii=False, indent=1) + "\n", encoding="utf-8"
    )
    write_registry(sim.registry(), out_dir / "registry.csv")
    shutil.copyfile(camera_path, out_dir / "camera.yaml")
    if sheet_imgs:
        cv2.imwrite(str(out_dir / "contact_sheet.png"), contact_sheet(sheet_imgs[:9], sheet_caps[:9]))
    click.echo(
        f"{n_frames} frames ({len(list(frames_dir.glob('*.jpg')))} kept), {len(violations)} violations, "
        f"{len(sim.plates)} plates -> {out_dir}"
    )


@group.group()
def dataset() -> None:
    """Training data sets made from the simulator."""


@dataset.command()
@click.option("--n", type=click.IntRange(min=1), required=True, help="Number of images.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), required=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--val-fraction", type=click.FloatRange(0, 0.9), default=0.15, show_default=True)
@click.option("--imgsz", type=int, default=None, help="Resize so the longer side is this many pixels.")
def detector(n, out_dir, seed, val_fraction, imgsz) -> None:
    """YOLO-format detector data: motorbike, car, bus, truck, plate."""
    from tqdm import tqdm

    from ingest.sim.dataset import write_detector_dataset

    with tqdm(total=n, unit="img", desc="detector data") as bar:
        summary = write_detector_dataset(
            out_dir, n=n, seed=seed, val_fraction=val_fraction, imgsz=imgsz, progress=bar.update
        )
    click.echo(f"images {summary.images}, objects {summary.objects} -> {out_dir / 'data.yaml'}")


@dataset.command()
@click.option("--n", type=click.IntRange(min=1), required=True, help="Number of plate crops.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), required=True)
@click.option("--seed", type=int, default=0, show_default=True)
def ocr(n, out_dir, seed) -> None:
    """Plate crops with their text in fast-plate-ocr's CSV format."""
    from ingest.sim.ocr_dataset import write_ocr_dataset

    result = write_ocr_dataset(out_dir, n=n, seed=seed)
    click.echo(f"{result if result is not None else n} -> {out_dir}")
