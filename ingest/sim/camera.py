"""``SimulatedCamera``: the project's own camera, a frame source with ground truth.

Iterating yields ``(Frame, FrameTruth)`` forever (or until ``frames``/``seconds`` when given);
the same camera, seed, options and start time give byte-identical JPEGs.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from functools import cmp_to_key

import cv2
import numpy as np

from detection.types import SignalPhase
from ingest.camera import CameraConfig, VehicleClass
from ingest.sim.background import Background, render_background
from ingest.sim.draw import to_pixels
from ingest.sim.effects import Effects, knock_homography, knocked_pose, night_lights, wet_reflections
from ingest.sim.geometry import CameraPose
from ingest.sim.judge import Judge, Judged
from ingest.sim.layout import Layout, build_layout
from ingest.sim.plates import SimPlate
from ingest.sim.registry import RegistryEntry, registry_entry
from ingest.sim.traffic import Agent, Traffic
from ingest.sim.types import FrameTruth, SimOptions, TruthVehicle, TruthViolation
from ingest.sim.vehicles import Drawn, draw_vehicle
from ingest.types import Frame, SourceKind

VN_TZ = timezone(timedelta(hours=7), "ICT")
DAY_START_NS = int(datetime(2026, 3, 16, 8, 0, tzinfo=VN_TZ).timestamp()) * 1_000_000_000
NIGHT_OFFSET_NS = int(12.5 * 3600) * 1_000_000_000
LAMP_COLOURS = {
    SignalPhase.RED: (40, 40, 255),
    SignalPhase.YELLOW: (20, 200, 255),
    SignalPhase.GREEN: (120, 255, 60),
}
LAMP_INDEX = {SignalPhase.RED: 0, SignalPhase.YELLOW: 1, SignalPhase.GREEN: 2}


@dataclass(frozen=True)
class RenderedFrame:
    """One rendered frame before encoding (used by the data-set writers)."""

    image: np.ndarray
    truth: FrameTruth


class SimulatedCamera:
    """A deterministic simulated camera for ``camera`` (its lanes, stop line, zones, signal)."""

    def __init__(
        self,
        camera: CameraConfig,
        *,
        seed: int,
        options: SimOptions | None = None,
        start_ns: int | None = None,  # None: 16/03/2026 08:00 (day) or 20:30 (night), Vietnam time
        frames: int | None = None,
    ) -> None:
        if seed < 0:
            raise ValueError(f"expected a seed >= 0, got {seed}")
        self.camera = camera
        self.seed = seed
        self.options = options or SimOptions()
        if start_ns is None:
            start_ns = DAY_START_NS + (NIGHT_OFFSET_NS if (options and options.night) else 0)
        self.start_ns = start_ns
        self.frames = frames
        self.fps = self.options.fps or camera.fps
        self.layout: Layout = build_layout(camera)
        ss = np.random.SeedSequence(seed)
        traffic_ss, effects_ss, drop_ss = ss.spawn(3)
        self._traffic_seed, self._effects_seed, self._drop_seed = traffic_ss, effects_ss, drop_ss
        self.background: Background = render_background(
            self.layout, seed=seed, night=self.options.night, rain=self.options.rain
        )
        self._knocked: tuple[CameraPose, Background] | None = None
        self.red_grace_s = camera.signal.red_grace_s if camera.signal else 0.0
        self.traffic: Traffic | None = None
        self.violations: list[TruthViolation] = []

    @property
    def plates(self) -> dict[str, tuple[SimPlate, VehicleClass, str]]:
        """Every plate that entered the scene so far: text -> (plate, vehicle class, colour name)."""
        return dict(self.traffic.on_road) if self.traffic else {}

    def registry(self) -> list[RegistryEntry]:
        """Registry entries for every plate that entered the scene so far."""
        return [
            registry_entry(p, seed=self.seed, vehicle_class=c.value, colour=col)
            for p, c, col in self.plates.values()
        ]

    # --- signal -------------------------------------------------------------------------
    def phase_at(self, t: float) -> tuple[SignalPhase | None, float]:
        if self.camera.signal is None:
            return None, 0.0
        return self.options.signal.phase(t)

    # --- iteration ----------------------------------------------------------------------
    def __iter__(self) -> Iterator[tuple[Frame, FrameTruth]]:
        q = self.options.jpeg_quality
        for rendered in self.render():
            ok, buf = cv2.imencode(".jpg", rendered.image, [cv2.IMWRITE_JPEG_QUALITY, q])
            if not ok:
                raise RuntimeError("JPEG encoding failed")
            t = rendered.truth
            yield (
                Frame(
                    camera_id=self.camera.id,
                    sequence=t.sequence,
                    captured_at_ns=t.captured_at_ns,
                    width=self.layout.pose.width,
                    height=self.layout.pose.height,
                    source=SourceKind.SIMULATOR,
                    jpeg=buf.tobytes(),
                ),
                t,
            )

    def render(self, every: int = 1) -> Iterator[RenderedFrame]:
        """Frames as BGR arrays with their truth (dropped frames are skipped, sequence keeps counting).

        ``every`` > 1 simulates every step but draws only every n-th frame (data sets).
        """
        if every < 1:
            raise ValueError(f"expected every >= 1, got {every}")
        effects = Effects(self.options, self.layout.pose, np.random.default_rng(self._effects_seed))
        drops = np.random.default_rng(self._drop_seed)
        pending: list[TruthViolation] = []
        dropped = 0
        for k, t, agents, new in self._simulate():
            pending.extend(new)
            if k % every or (self.options.drop_rate > 0 and drops.random() < self.options.drop_rate):
                dropped += 1
                continue
            image, truth = self._render_frame(k, t, agents, effects, pending, dropped)
            pending, dropped = [], 0
            yield RenderedFrame(image, truth)

    def judge_only(self, frames: int) -> list[TruthViolation]:
        """The violations of the first ``frames`` frames, the traffic simulated without drawing
        anything (the same traffic and labels as ``render``: for statistics over many seeds)."""
        for k, _, _, _ in self._simulate():
            if k + 1 >= frames:
                break
        return list(self.violations)

    def _simulate(self) -> Iterator[tuple[int, float, list[Agent], list[TruthViolation]]]:
        """Step the traffic frame by frame: (frame index, time, agents, violations labelled in the
        step that led to this frame), after a warm-up that fills the road."""
        traffic = Traffic(self.layout, self.options, np.random.default_rng(self._traffic_seed))
        judge = Judge(self.layout, self.red_grace_s)
        dt = 1.0 / self.fps
        self.traffic = traffic
        self.violations = []
        t = -self.options.warmup_s
        while t < -1e-9:
            phase, _ = self.phase_at(t)
            judge.before(traffic.agents)
            traffic.step(t, dt, phase)
            judge.after(traffic.agents, t, dt, self.phase_at)
            t += dt
        k = 0
        while self.frames is None or k < self.frames:
            t = k * dt
            new: list[TruthViolation] = []
            if k > 0:
                t_prev = (k - 1) * dt
                phase, _ = self.phase_at(t_prev)
                judge.before(traffic.agents)
                traffic.step(t_prev, dt, phase)
                new = [self._violation(j, k) for j in judge.after(traffic.agents, t_prev, dt, self.phase_at)]
                self.violations.extend(new)
            yield k, t, traffic.agents, new
            k += 1

    def _time_ns(self, t: float) -> int:
        return self.start_ns + int(round(t * 1e9))

    def _violation(self, j: Judged, k: int) -> TruthViolation:
        a = j.agent
        return TruthViolation(
            rule=j.rule,
            track_id=a.track_id,
            cls=a.cls,
            plate_text=a.plate.text,
            plate_printed=a.plate.printed,
            time_ns=self._time_ns(j.t_s),
            t_s=round(j.t_s, 4),
            frame_sequence=k,
            signal_phase=j.signal_phase,
            seconds_since_red=j.seconds_since_red,
            speed_kmh=j.speed_kmh,
            speed_limit_kmh=j.speed_limit_kmh,
            dwell_s=j.dwell_s,
            lane=j.lane,
            zone=j.zone,
        )

    # --- drawing ------------------------------------------------------------------------
    def _knocked_view(self) -> tuple[CameraPose, Background]:
        """Pose and static scene of the camera after it was knocked (rendered on first use)."""
        if self._knocked is None:
            pose = knocked_pose(self.layout.pose)
            region = None
            signal = self.camera.signal
            if signal is not None and signal.region is not None:
                x, y, w, h = signal.region
                corners = np.array([[[x, y]], [[x + w, y]], [[x + w, y + h]], [[x, y + h]]], dtype=np.float64)
                moved = cv2.perspectiveTransform(corners, knock_homography(self.layout.pose)).reshape(-1, 2)
                (x1, y1), (x2, y2) = moved.min(axis=0), moved.max(axis=0)
                region = (int(x1), int(y1), int(x2 - x1), int(y2 - y1))
            layout = replace(self.layout, pose=pose)
            background = render_background(
                layout, seed=self.seed, night=self.options.night, rain=self.options.rain, signal_region=region
            )
            self._knocked = (pose, background)
        return self._knocked

    def _render_frame(self, k: int, t: float, agents: list[Agent], effects: Effects, pending, dropped: int):
        opts = self.options
        knocked = opts.knocked_at_s is not None and t >= opts.knocked_at_s
        covered = opts.covered_at_s is not None and t >= opts.covered_at_s
        pose, background = self._knocked_view() if knocked else (self.layout.pose, self.background)
        w, h = pose.width, pose.height
        phase, _ = self.phase_at(t)
        img = background.image.copy()
        if phase is not None and background.lamp_centres:
            cx, cy = background.lamp_centres[LAMP_INDEX[phase]]
            r = background.lamp_radius
            cv2.circle(
                img, (cx, cy), r + 2, tuple(int(c * 0.5) for c in LAMP_COLOURS[phase]), -1, cv2.LINE_AA
            )
            cv2.circle(img, (cx, cy), r, LAMP_COLOURS[phase], -1, cv2.LINE_AA)
            cv2.circle(img, (cx - r // 3, cy - r // 3), max(1, r // 3), (235, 245, 255), -1, cv2.LINE_AA)
        order = paint_order(agents, pose.centre)
        light = 0.38 if opts.night else (0.78 if opts.rain else 1.0)
        img = _shadows(img, pose, order, 0.25 if opts.night else (0.3 if opts.rain else 0.45))
        drawn: list[tuple[Agent, Drawn]] = []
        lamps = []
        for a in order:
            d = draw_vehicle(
                img,
                pose,
                a.model,
                a.sprite,
                x=a.x,
                y=a.y,
                heading=a.heading,
                light=light,
                lights_on=opts.night,
            )
            drawn.append((a, d))
            if opts.night:
                lamps += _vehicle_lamps(a)
        if opts.night:
            img = night_lights(img, pose, lamps)
        if opts.rain:
            img = wet_reflections(img)
        vehicles = [] if covered else self._truth_vehicles(drawn, w, h)
        overlay = ""
        if opts.overlay:
            stamp = datetime.fromtimestamp(self._time_ns(t) / 1e9, tz=VN_TZ)
            overlay = f"{stamp:%Y-%m-%d %H:%M:%S}  {self.camera.id.upper()}"
        img = effects.apply(img, covered=covered, overlay=overlay)
        truth = FrameTruth(
            camera_id=self.camera.id,
            sequence=k,
            captured_at_ns=self._time_ns(t),
            t_s=round(t, 4),
            dropped_before=dropped,
            signal_phase=phase,
            knocked=knocked,
            covered=covered,
            vehicles=vehicles,
            violations=list(pending),
        )
        return img, truth

    def _truth_vehicles(self, drawn: list[tuple[Agent, Drawn]], w: int, h: int) -> list[TruthVehicle]:
        """Boxes, visibility (half-resolution id map, painted far to near) and plate boxes."""
        s = 0.5
        ids = np.zeros((int(h * s), int(w * s)), np.int32)
        frame_rect = np.array([[0, 0], [w, 0], [w, h], [0, h]], dtype=np.float32)
        shapes: list[tuple[np.ndarray, np.ndarray | None] | None] = []
        for n, (_, d) in enumerate(drawn, start=1):
            if d.hull is None:
                shapes.append(None)
                continue
            hull, quad = d.hull, d.plate_quad
            if quad is not None:
                hull = (
                    cv2.convexHull(np.vstack([hull, quad]).astype(np.float32))
                    .reshape(-1, 2)
                    .astype(np.float64)
                )
            shapes.append((hull, quad))
            pts = np.round(hull * s * 16).astype(np.int32)
            cv2.fillPoly(ids, [pts], n, cv2.LINE_8, 4)
        counts = np.bincount(ids.ravel(), minlength=len(drawn) + 1)
        out = []
        for n, ((a, _), shape) in enumerate(zip(drawn, shapes, strict=True), start=1):
            if shape is None:
                continue
            hull, quad = shape
            x1, y1 = hull.min(axis=0)
            x2, y2 = hull.max(axis=0)
            bx = (
                max(0.0, float(x1)),
                max(0.0, float(y1)),
                min(float(w), float(x2)),
                min(float(h), float(y2)),
            )
            if bx[2] - bx[0] < 1 or bx[3] - bx[1] < 1:
                continue
            full = cv2.contourArea(hull.astype(np.float32))
            area = full * s * s
            vis = float(min(1.0, counts[n] / area)) if area > 0 else 0.0
            inter, _ = cv2.intersectConvexConvex(hull.astype(np.float32), frame_rect)
            in_frame = float(min(1.0, inter / full)) if full > 0 else 0.0
            vis = min(vis, in_frame)
            plate_box: tuple[float, float, float, float] | None = None
            plate_vis = 0.0
            if quad is not None:
                px1, py1 = quad.min(axis=0)
                px2, py2 = quad.max(axis=0)
                pb = (
                    max(0.0, float(px1)),
                    max(0.0, float(py1)),
                    min(float(w), float(px2)),
                    min(float(h), float(py2)),
                )
                if pb[2] - pb[0] >= 1 and pb[3] - pb[1] >= 1:
                    plate_box = (round(pb[0], 2), round(pb[1], 2), round(pb[2], 2), round(pb[3], 2))
                    qm = np.zeros_like(ids, dtype=np.uint8)
                    cv2.fillPoly(qm, [np.round(quad * s * 16).astype(np.int32)], 1, cv2.LINE_8, 4)
                    inside = qm.astype(bool)
                    full = cv2.contourArea(quad.astype(np.float32)) * s * s
                    own = int((ids[inside] == n).sum())
                    plate_vis = float(min(1.0, own / full)) if full > 0 else 0.0
            lane = self.layout.lane_at(a.x)
            out.append(
                TruthVehicle(
                    track_id=a.track_id,
                    cls=a.cls,
                    box=(round(bx[0], 2), round(bx[1], 2), round(bx[2], 2), round(bx[3], 2)),
                    visible_fraction=round(vis, 3),
                    in_frame_fraction=round(in_frame, 3),
                    plate_text=a.plate.text,
                    plate_printed=a.plate.printed,
                    plate_layout=a.plate.layout.value,
                    plate_colour=a.plate.colour.value,
                    plate_box=plate_box,
                    plate_visible_fraction=round(plate_vis, 3),
                    lane=lane.id if lane else None,
                    speed_kmh=round(a.v * 3.6, 2),
                    heading=a.heading,
                    ground_world=(round(a.x, 3), round(a.near_y, 3)),
                )
            )
        return out


def paint_order(agents: list[Agent], camera_centre: np.ndarray) -> list[Agent]:
    """Vehicles from hidden to hiding, so that nearer ones paint over farther ones.

    Footprints are rectangles along y. Two vehicles in the same file (overlapping x): the one
    nearer the camera in y hides the other. Side by side: only the one between the camera and the
    other (in x) can hide it; a camera above the gap between them sees both whole.
    """
    cx, cy = float(camera_centre[0]), float(camera_centre[1])

    def span(a: Agent) -> tuple[float, float]:
        return a.x - a.model.width / 2, a.x + a.model.width / 2

    def cmp(a: Agent, b: Agent) -> int:
        (a0, a1), (b0, b1) = span(a), span(b)
        if a0 < b1 and b0 < a1:
            da, db = a.y - a.model.length / 2 - cy, b.y - b.model.length / 2 - cy
            return -1 if da > db else (1 if da < db else 0)
        ga = max(a0 - cx, cx - a1, 0.0)  # lateral distance from the camera
        gb = max(b0 - cx, cx - b1, 0.0)
        same_side = (a0 >= cx and b0 >= cx) or (a1 <= cx and b1 <= cx)
        if same_side and ga != gb:
            return -1 if ga > gb else 1
        da, db = a.y - cy, b.y - cy
        return -1 if da > db else (1 if da < db else 0)

    return sorted(agents, key=cmp_to_key(cmp))


def _shadows(img: np.ndarray, pose, agents: list[Agent], strength: float) -> np.ndarray:
    """Soft contact shadows: each vehicle's footprint darkens the road under it."""
    h, w = img.shape[:2]
    s = 0.25
    mask = np.zeros((int(h * s), int(w * s)), np.uint8)
    any_drawn = False
    for a in agents:
        m = a.model
        hw, hl = m.width / 2 + 0.1, m.length / 2 + 0.1
        foot = np.array(
            [
                [a.x - hw, a.y - hl, 0],
                [a.x + hw, a.y - hl, 0],
                [a.x + hw, a.y + hl, 0],
                [a.x - hw, a.y + hl, 0],
            ]
        )
        pix = to_pixels(pose, foot)
        if pix is None:
            continue
        if pix[:, 1].min() > h or pix[:, 1].max() < 0 or pix[:, 0].min() > w or pix[:, 0].max() < 0:
            continue
        cv2.fillPoly(mask, [np.round(pix * s * 16).astype(np.int32)], 255, cv2.LINE_AA, 4)
        any_drawn = True
    if not any_drawn:
        return img
    mask = np.asarray(cv2.GaussianBlur(mask, (0, 0), 1.5), dtype=np.uint8)
    # darkening factor as 0..255 at quarter resolution, then one integer multiply at full size
    small = (255.0 - mask.astype(np.float32) * strength).astype(np.uint8)
    shade = cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)
    return cv2.multiply(img, cv2.merge([shade, shade, shade]), scale=1.0 / 255.0)


def _vehicle_lamps(a: Agent) -> list[tuple[np.ndarray, tuple[int, int, int], float]]:
    """Glowing lamps (world points) of a vehicle at night: tail lights, headlights and their beam."""
    m = a.model
    out = []
    rear_y = a.y - a.heading * m.length / 2
    front_y = a.y + a.heading * m.length / 2
    half = m.width / 2 - 0.25 if m.width > 1 else 0.0
    z_tail = 0.75 if m.width > 1 else 0.76
    xs = [a.x - half, a.x + half] if half > 0 else [a.x]
    for x in xs:
        if a.heading > 0:  # driving away: the camera sees the tail lights
            out.append((np.array([x, rear_y - 0.05, z_tail]), (0, 0, 140), 0.3))
        else:  # oncoming: headlights glare into the camera
            out.append((np.array([x, front_y - 0.05, 0.7 if half > 0 else 1.05]), (200, 210, 220), 0.4))
    # headlight beam: a widening patch of light on the road ahead
    f0, f1 = front_y + a.heading * 0.5, front_y + a.heading * 10.0
    beam = np.array([[a.x - 0.4, f0, 0.0], [a.x + 0.4, f0, 0.0], [a.x + 1.6, f1, 0.0], [a.x - 1.6, f1, 0.0]])
    out.append((beam, (14, 19, 24), 0.0))
    return out
