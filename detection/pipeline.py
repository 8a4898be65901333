"""The detection stage: one ``frames.raw`` frame in, zero or more ``violations.detected`` out.

Per frame: decode -> signal phase -> detect -> track (one tracker per camera) -> attach plates to
vehicles -> read plates now and then -> extend the tracks -> evaluate the rules -> and, once the
"after" frame exists (and the plate vote is confident, or waiting longer would not help), build
the evidence, sign it and emit the event.

Determinism: the violation id comes from the camera, the rule and a track key made of the
track's first frame sequence and a per-camera counter of tracks in order of appearance (not the
tracker's own id, so the key does not depend on how a tracker numbers its tracks: older
ultralytics releases used one process-wide counter for every camera). The same frames through a
fresh stage give the same ids, so a replay creates nothing new downstream.

State is bounded: a camera keeps a ring of recent JPEGs, tracks unseen for ``track_ttl_frames``
are dropped, each track keeps at most ``max_track_points`` points and ``max_plate_reads`` reads.
"""

from __future__ import annotations

import inspect
from collections import Counter, deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Protocol

import cv2
import numpy as np

from detection.evidence import BarInfo, BufferedFrame, EvidenceInput, FrameRing, crop, signed, store_evidence
from detection.evidence_privacy import FrameObjects
from detection.evidence_store import EvidenceStore
from detection.rules import Decision, RuleFn, RuleSettings, Scene, Track, TrackPoint, select_rules
from detection.signal import PhaseFeed, PhaseTracker, SignalSource, source_for
from detection.tracking import YOUNG_BUFFER, grow_boxes
from detection.types import Box, Detection, ObjectClass, PlateRead, Rule, ViolationEvent, violation_id
from detection.voting import PlateObservation, PlateVote, VoteSettings, vote
from ingest.camera import CameraConfig, VehicleClass
from ingest.types import Frame

PIPELINE_VERSION = "detection-stage@1"


class Detector(Protocol):
    def detect(self, image: np.ndarray) -> list[Detection]: ...


class Tracker(Protocol):
    def update(self, detections: list[Detection], image: np.ndarray) -> list[Detection]: ...


class PlateReader(Protocol):
    def read(self, crop: np.ndarray) -> PlateRead: ...


# Called after each processed frame with the decoded image and its tracked vehicles and plates
# (issue 8: camera health and the operator's annotated preview). Must be quick; must not raise.
FrameHook = Callable[[Frame, np.ndarray, list[Detection]], None]

TrackerFactory = Callable[[CameraConfig], Tracker] | Callable[[], Tracker]


def _make_tracker(factory: TrackerFactory, camera: CameraConfig) -> Tracker:
    """Call ``factory(camera)``, or ``factory()`` for a factory that takes no argument."""
    try:
        params = inspect.signature(factory).parameters.values()
    except (TypeError, ValueError):  # a builtin without a signature: assume it takes the camera
        return factory(camera)  # type: ignore[call-arg]
    positional = [
        p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.VAR_POSITIONAL)
    ]
    if positional:
        return factory(camera)  # type: ignore[call-arg]
    return factory()  # type: ignore[call-arg]


class FrameError(ValueError):
    """A frame this stage cannot process; names the camera and sequence (the stream loop sends
    the message to the dead-letter topic with this message)."""

    def __init__(self, camera_id: str, sequence: int, problem: str) -> None:
        super().__init__(f"frame {camera_id}#{sequence}: {problem}")
        self.camera_id = camera_id
        self.sequence = sequence


class UnknownCameraError(FrameError):
    pass


class CorruptFrameError(FrameError):
    pass


@dataclass(frozen=True)
class StageSettings:
    before_s: float = 1.0  # the "before" frame, this long before the violation
    after_s: float = 1.0  # the "after" frame, this long after
    plate_wait_s: float = 2.0  # keep reading the plate this much longer when the vote is weak
    track_ttl_s: float = 3.0  # forget a track unseen this long
    max_track_points: int = 600
    max_tracks: int = 256
    min_plate_width_px: float = 24.0  # smaller plates are not worth reading
    read_every_frames: int = 1  # read a track's plate at most every k-th frame
    max_plate_reads: int = 12
    strip_frames: int = 5
    # a box whose bottom lies this close to the frame's bottom edge is taken as cut by it: YOLO ends
    # the box of a vehicle the edge cuts up to ~10 px short of the edge (p95 8.9 px, seed 9000011),
    # and such a "ground point" put vehicles into lanes before they were there (docs/rules.md)
    bottom_margin_px: float = 10.0
    dedupe_window_s: float = 1.0  # same rule, overlapping box, this close in time: one vehicle
    dedupe_iou: float = 0.3
    # a track born overlapping a live track this much is a second box on the same vehicle
    twin_iou: float = 0.5
    # a new track's first point: the last frame's untracked detection overlapping it this much
    # (both boxes widened by ``birth_buffer`` of their size, as the tracker's young tracks); > 1: off
    birth_iou: float = 0.3
    birth_buffer: float = YOUNG_BUFFER
    # a track lost this long before a new track starts where its motion leads (within stitch_m)
    # is the same vehicle: the new track shares the rules it fired; stitch_s <= 0: off
    stitch_s: float = 0.5
    stitch_m: float = 2.5
    check_resolution: bool = True  # the frame must have the camera's configured resolution
    rules: tuple[str, ...] | None = None  # None: every rule
    vote: VoteSettings = VoteSettings()
    rule_settings: RuleSettings = RuleSettings()


@dataclass
class _TrackState:
    tracker_id: int
    key: str
    first_sequence: int
    points: deque[TrackPoint]
    classes: Counter[VehicleClass] = field(default_factory=Counter)
    last_sequence: int = -1
    plate_reads: list[PlateObservation] = field(default_factory=list)
    last_read_sequence: int = -(10**9)
    plate_crops: dict[int, tuple[np.ndarray, int]] = field(default_factory=dict)  # seq -> crop, t_ns
    fired: set[Rule] = field(default_factory=set)
    succeeded: bool = False  # a new track took this lost one's place (at most one may)

    @property
    def vehicle_class(self) -> VehicleClass:
        return self.classes.most_common(1)[0][0]

    def snapshot(self, local_id: int) -> Track:
        return Track(local_id, self.key, self.vehicle_class, tuple(self.points))


@dataclass
class _Pending:
    decision: Decision
    track: _TrackState
    local_id: int
    due_sequence: int
    deadline_sequence: int


@dataclass
class _CameraState:
    camera: CameraConfig
    tracker: Tracker
    ring: FrameRing
    signal: SignalSource | None
    phases: PhaseTracker
    tracks: dict[int, _TrackState] = field(default_factory=dict)  # by tracker id
    local_ids: dict[int, int] = field(default_factory=dict)  # tracker id -> local number
    next_local: int = 1
    pending: list[_Pending] = field(default_factory=list)
    last_sequence: int | None = None
    recent: deque[tuple[Rule, int, Box]] = field(default_factory=lambda: deque(maxlen=64))
    # the last frame's vehicle detections that no track took: (sequence, t_ns, detections)
    unclaimed: tuple[int, int, list[Detection]] | None = None


class DetectionStage:
    """``process(frame) -> list[ViolationEvent]``; one instance serves many cameras."""

    def __init__(
        self,
        cameras: Mapping[str, CameraConfig],
        *,
        detector: Detector,
        reader: PlateReader,
        store: EvidenceStore,
        signing_key: bytes,
        tracker_factory: TrackerFactory,
        model_versions: Mapping[str, str],
        settings: StageSettings = StageSettings(),
        signal_feeds: Mapping[str, PhaseFeed] | None = None,
        on_frame: FrameHook | None = None,
    ) -> None:
        if len(signing_key) < 16:
            raise ValueError("expected a signing key of at least 16 bytes")
        self.cameras = dict(cameras)
        self.detector = detector
        self.reader = reader
        self.store = store
        self.signing_key = signing_key
        self.tracker_factory = tracker_factory
        self.model_versions = {**model_versions, "pipeline": PIPELINE_VERSION}
        self.settings = settings
        self.rules: dict[Rule, RuleFn] = select_rules(settings.rules)
        self.signal_feeds = dict(signal_feeds or {})
        self.on_frame = on_frame  # issue 8: camera health and the operator's preview see every frame
        unknown = set(self.signal_feeds) - set(self.cameras)
        if unknown:
            raise ValueError(f"signal feeds for unknown cameras: {sorted(unknown)}")
        self._states: dict[str, _CameraState] = {}
        self.stats: Counter[str] = Counter()
        # Every tracker is made now, before any frame: in older ultralytics releases a new
        # tracker reset a process-wide id counter, which could reissue a live track's id.
        for camera_id in self.cameras:
            self._state(camera_id, -1)

    # --- per-camera state -----------------------------------------------------------------------

    def _frames(self, camera: CameraConfig, seconds: float) -> int:
        return max(1, round(seconds * camera.fps))

    def _state(self, camera_id: str, sequence: int) -> _CameraState:
        state = self._states.get(camera_id)
        if state is not None:
            return state
        camera = self.cameras.get(camera_id)
        if camera is None:
            raise UnknownCameraError(
                camera_id, sequence, f"unknown camera; known cameras: {', '.join(sorted(self.cameras))}"
            )
        s = self.settings
        capacity = (
            self._frames(camera, s.before_s)
            + self._frames(camera, s.after_s)
            + self._frames(camera, s.plate_wait_s)
            + 4
        )
        state = _CameraState(
            camera=camera,
            tracker=_make_tracker(self.tracker_factory, camera),
            ring=FrameRing(capacity),
            signal=source_for(camera, self.signal_feeds.get(camera_id)),
            phases=PhaseTracker(),
        )
        self._states[camera_id] = state
        return state

    # --- the stage ------------------------------------------------------------------------------

    def decode(self, frame: Frame) -> np.ndarray:
        """The frame's image (BGR), or ``CorruptFrameError``."""
        if not frame.jpeg:
            raise CorruptFrameError(frame.camera_id, frame.sequence, "empty JPEG payload")
        image = cv2.imdecode(np.frombuffer(frame.jpeg, np.uint8), cv2.IMREAD_COLOR)
        if image is None:
            raise CorruptFrameError(
                frame.camera_id, frame.sequence, f"cannot decode JPEG ({len(frame.jpeg)} bytes)"
            )
        h, w = image.shape[:2]
        if (w, h) != (frame.width, frame.height):
            raise CorruptFrameError(
                frame.camera_id,
                frame.sequence,
                f"headers say {frame.width}x{frame.height}, the JPEG is {w}x{h}",
            )
        camera = self.cameras[frame.camera_id]
        if self.settings.check_resolution and (w, h) != tuple(camera.resolution):
            raise CorruptFrameError(
                frame.camera_id,
                frame.sequence,
                f"expected the camera's resolution {camera.resolution[0]}x{camera.resolution[1]}, "
                f"got {w}x{h} (the geometry in its configuration would not apply)",
            )
        return image

    def process(self, frame: Frame) -> list[ViolationEvent]:
        """Process one frame; returns the violations that became complete with it.

        A frame whose sequence is not after the camera's last one (a redelivery) is skipped.
        """
        state = self._state(frame.camera_id, frame.sequence)
        if state.last_sequence is not None and frame.sequence <= state.last_sequence:
            self.stats["frames_skipped_out_of_order"] += 1
            return []
        image = self.decode(frame)
        state.last_sequence = frame.sequence
        self.stats["frames"] += 1
        t = frame.captured_at_ns
        state.ring.append(BufferedFrame(frame.sequence, t, frame.jpeg))
        if state.signal is not None:
            state.phases.update(state.signal.observe(image, t), t)

        detections = self.detector.detect(image)
        vehicles = [d for d in detections if d.cls != ObjectClass.PLATE]
        plates = [d for d in detections if d.cls == ObjectClass.PLATE]
        tracked = [
            d
            for d in state.tracker.update(vehicles, image)
            if d.track_id is not None and d.cls != ObjectClass.PLATE
        ]
        tracked = _with_detector_boxes(tracked, vehicles)
        owners = _plate_owners(plates, tracked)
        # what was on the frame, for the public copies of its evidence (bystanders blurred)
        state.ring.annotate(
            frame.sequence,
            FrameObjects(
                vehicles=tuple((d.track_id, d.cls, d.box) for d in tracked)
                + tuple((None, d.cls, d.box) for d in vehicles),
                plates=tuple((p.box, owner) for p, owner in zip(plates, owners, strict=True)),
            ),
        )
        self._extend_tracks(state, tracked, frame)
        taken = {d.box for d in tracked}
        state.unclaimed = (frame.sequence, t, [d for d in vehicles if d.box not in taken])
        self._read_plates(state, plates, owners, image, frame)
        self._evaluate(state, tracked)
        events = self._emit(state, frame.sequence)
        self._forget(state, frame.sequence)
        if self.on_frame is not None:
            self.on_frame(frame, image, tracked + plates)
        return events

    def flush(self, camera_id: str | None = None) -> list[ViolationEvent]:
        """Emit every pending violation with the frames at hand (end of a stream or a test)."""
        events = []
        for cid, state in self._states.items():
            if camera_id is None or cid == camera_id:
                events += self._emit(state, state.last_sequence or 0, force=True)
        return events

    # --- steps ----------------------------------------------------------------------------------

    def _extend_tracks(self, state: _CameraState, tracked: list[Detection], frame: Frame) -> None:
        if not tracked:
            return
        world = state.camera.to_world([d.box.bottom_centre for d in tracked])
        born: list[tuple[_TrackState, Box]] = []
        for d, (wx, wy) in zip(tracked, world, strict=True):
            assert d.track_id is not None
            track = state.tracks.get(d.track_id)
            if track is None:
                if d.track_id not in state.local_ids:
                    state.local_ids[d.track_id] = state.next_local
                    state.next_local += 1
                local = state.local_ids[d.track_id]
                track = _TrackState(
                    tracker_id=d.track_id,
                    key=f"{frame.sequence}:{local}",
                    first_sequence=frame.sequence,
                    points=deque(maxlen=self.settings.max_track_points),
                )
                state.tracks[d.track_id] = track
                self.stats["tracks"] += 1
                self._add_birth(state, track, d.box, frame)
                born.append((track, d.box))
            track.classes[VehicleClass(d.cls.value)] += 1
            track.last_sequence = frame.sequence
            if _clipped(d.box, frame.width, frame.height, bottom_margin=self.settings.bottom_margin_px):
                continue  # cut by the frame edge: its bottom centre is not where it touches the road
            track.points.append(
                TrackPoint(
                    frame.sequence, frame.captured_at_ns, d.box.bottom_centre, (float(wx), float(wy)), d.box
                )
            )
        # a new track on a vehicle an older track already follows shares its fired rules (one act,
        # one violation): a twin box on it, or the successor of a track the tracker lost. A lost
        # track has one successor at most, the nearest of the tracks born on this frame: when a
        # group of motorbikes comes into view together, the others are other vehicles.
        successors: list[tuple[float, _TrackState, _TrackState]] = []
        for track, box in born:
            twin = self._twin(state, track, box, frame.sequence)
            if twin is not None:
                track.fired = twin.fired  # shared: what one of them fires, the other has fired
                twin.succeeded = twin.succeeded or twin.last_sequence < frame.sequence  # lost: taken
                self.stats["twin_tracks"] += 1
                continue
            successors += [(d, track, older) for d, older in self._predecessors(state, track)]
        linked: set[int] = set()  # tracker ids of the new tracks given a predecessor
        for _, track, older in sorted(successors, key=lambda c: c[0]):
            if older.succeeded or track.tracker_id in linked:
                continue
            older.succeeded = True
            linked.add(track.tracker_id)
            track.fired = older.fired
            self.stats["successor_tracks"] += 1

    def _add_birth(self, state: _CameraState, track: _TrackState, box: Box, frame: Frame) -> None:
        """Give a new track the detection it was born from on the frame before.

        ByteTrack reports a track from its second detection on (the first only makes a tentative
        track), so every track lost its first frame: time in a lane, the approach to a stop line
        and the timed stretch all began a frame late. The last frame's detection that no track
        took and that overlaps the new track's box best (buffered IoU, as the tracker's young
        tracks, >= ``birth_iou``) is taken as its first point."""
        if state.unclaimed is None or self.settings.birth_iou > 1:
            return
        sequence, t_ns, candidates = state.unclaimed
        if not candidates:
            return
        corners = [(b.x1, b.y1, b.x2, b.y2) for b in [box] + [c.box for c in candidates]]
        grown = [Box(*row) for row in grow_boxes(np.array(corners, dtype=np.float64), self.settings.birth_buffer)]
        best, best_iou = None, self.settings.birth_iou
        for c, g in zip(candidates, grown[1:], strict=True):
            overlap = _iou(g, grown[0])
            if overlap >= best_iou:
                best, best_iou = c, overlap
        if best is None:
            return
        candidates.remove(best)
        track.classes[VehicleClass(best.cls.value)] += 1
        self.stats["births_recovered"] += 1
        if _clipped(best.box, frame.width, frame.height, bottom_margin=self.settings.bottom_margin_px):
            return
        ((wx, wy),) = state.camera.to_world([best.box.bottom_centre])
        track.points.append(TrackPoint(sequence, t_ns, best.box.bottom_centre, (float(wx), float(wy)), best.box))

    def _twin(self, state: _CameraState, track: _TrackState, box: Box, sequence: int) -> _TrackState | None:
        """The live track a new track was born on top of (IoU >= ``twin_iou`` with its box on this
        frame or the one before), or None.

        YOLO sometimes gives one vehicle two boxes just under its NMS overlap (0.7); each became a
        track, and the twin, living on after the first had fired a rule, fired it again seconds
        later: a second case for one act."""
        best, best_iou = None, self.settings.twin_iou
        for other in state.tracks.values():
            if other is track or not other.points or sequence - other.points[-1].sequence > 1:
                continue
            overlap = _iou(other.points[-1].box, box)
            if overlap >= best_iou:
                best, best_iou = other, overlap
        return best

    def _predecessors(self, state: _CameraState, track: _TrackState) -> list[tuple[float, _TrackState]]:
        """(distance, lost track) for each track lost at most ``stitch_s`` before the
        new track's first point, not yet succeeded, whose motion (its road-plane velocity over its
        last ``stitch_s``) carried on to that moment lands within ``stitch_m`` of it. ByteTrack
        loses a fast vehicle near the camera (it moves most of its length between frames) and
        starts a new track on it."""
        if not track.points:
            return []
        first = track.points[0]
        window = int(self.settings.stitch_s * 1e9)
        found = []
        for other in state.tracks.values():
            if other is track or other.succeeded or len(other.points) < 2 or other.last_sequence >= first.sequence:
                continue
            last = other.points[-1]
            if not 0 < first.t_ns - last.t_ns <= window:
                continue
            ref = next((q for q in other.points if last.t_ns - q.t_ns <= window), other.points[0])
            if ref is last:
                ref = other.points[-2]
            v = np.subtract(last.world, ref.world) / ((last.t_ns - ref.t_ns) / 1e9)
            predicted = np.add(last.world, v * ((first.t_ns - last.t_ns) / 1e9))
            d = float(np.hypot(*np.subtract(first.world, predicted)))
            if d <= self.settings.stitch_m:
                found.append((d, other))
        return found

    def _read_plates(
        self,
        state: _CameraState,
        plates: list[Detection],
        owners: list[int | None],
        image: np.ndarray,
        frame: Frame,
    ) -> None:
        """Read the largest plate of a track (``owners``: ``_plate_owners``) when it is big
        enough and the track was not read recently."""
        best: dict[int, Detection] = {}
        for plate, owner in zip(plates, owners, strict=True):
            if owner is None:
                continue
            if owner not in best or plate.box.area > best[owner].box.area:
                best[owner] = plate
        s = self.settings
        todo: list[tuple[_TrackState, np.ndarray]] = []
        for track_id, plate in best.items():
            track = state.tracks[track_id]
            if (
                plate.box.x2 - plate.box.x1 < s.min_plate_width_px
                or frame.sequence - track.last_read_sequence < s.read_every_frames
                or len(track.plate_reads) >= s.max_plate_reads
            ):
                continue
            patch = crop(image, plate.box, pad=0.08)
            if patch is not None:
                todo.append((track, patch))
        if not todo:
            return
        patches = [patch for _, patch in todo]
        read_many = getattr(self.reader, "read_many", None)
        reads = read_many(patches) if read_many else [self.reader.read(patch) for patch in patches]
        if len(reads) != len(patches):
            raise RuntimeError(f"plate reader returned {len(reads)} reads for {len(patches)} crops")
        for (track, patch), read in zip(todo, reads, strict=True):
            self.stats["plate_reads"] += 1
            track.last_read_sequence = frame.sequence
            track.plate_reads.append(PlateObservation(read, frame.sequence))
            track.plate_crops[frame.sequence] = (patch, frame.captured_at_ns)

    def _evaluate(self, state: _CameraState, tracked: list[Detection]) -> None:
        scene = Scene(state.camera, state.phases.timeline(), self.settings.rule_settings)
        for d in tracked:
            assert d.track_id is not None
            track = state.tracks[d.track_id]
            if len(track.points) < 2 or len(track.fired) == len(self.rules):
                continue
            local = state.local_ids[d.track_id]
            snapshot = track.snapshot(local)
            for rule, fn in self.rules.items():
                if rule in track.fired:
                    continue
                decision = fn(snapshot, scene)
                if decision is None:
                    continue
                track.fired.add(rule)
                box = min(track.points, key=lambda q: abs(q.sequence - decision.sequence)).box
                if self._is_duplicate(state, rule, decision.occurred_at_ns, box):
                    self.stats[f"duplicates_{rule.value}"] += 1
                    continue
                state.recent.append((rule, decision.occurred_at_ns, box))
                self.stats[f"decisions_{rule.value}"] += 1
                due = decision.sequence + self._frames(state.camera, self.settings.after_s)
                state.pending.append(
                    _Pending(
                        decision,
                        track,
                        local,
                        due,
                        due + self._frames(state.camera, self.settings.plate_wait_s),
                    )
                )

    def _is_duplicate(self, state: _CameraState, rule: Rule, t_ns: int, box: Box) -> bool:
        """The same rule fired within ``dedupe_window_s`` on an overlapping box: one vehicle the
        tracker split into two tracks."""
        window = int(self.settings.dedupe_window_s * 1e9)
        return any(
            r == rule and abs(t - t_ns) <= window and _iou(b, box) >= self.settings.dedupe_iou
            for r, t, b in state.recent
        )

    def _emit(self, state: _CameraState, sequence: int, *, force: bool = False) -> list[ViolationEvent]:
        events, waiting = [], []
        for p in state.pending:
            if not force and sequence < p.due_sequence:
                waiting.append(p)
                continue
            plate_vote = vote(p.track.plate_reads, self.settings.vote)
            track_alive = p.track.tracker_id in state.tracks and sequence - p.track.last_sequence <= max(
                2, self.settings.read_every_frames
            )
            if (
                not force
                and plate_vote.needs_manual_plate
                and sequence < p.deadline_sequence
                and track_alive
                and len(p.track.plate_reads) < self.settings.max_plate_reads
            ):
                waiting.append(p)  # the vehicle is still in view: more reads may settle the plate
                continue
            events.append(self._build(state, p, plate_vote))
        state.pending = waiting
        return events

    def _build(self, state: _CameraState, p: _Pending, plate_vote: PlateVote) -> ViolationEvent:
        camera, d, s = state.camera, p.decision, self.settings
        ring = state.ring
        at = ring.nearest(d.sequence, direction=1) or ring.nearest(d.sequence)
        assert at is not None
        before = ring.nearest(at.sequence - self._frames(camera, s.before_s), direction=1) or at
        after = ring.nearest(at.sequence + self._frames(camera, s.after_s), direction=-1) or at
        if before.sequence > at.sequence:
            before = at
        point = min(p.track.points, key=lambda q: abs(q.sequence - at.sequence))
        span = ring.between(before.sequence, after.sequence)
        if len(span) > s.strip_frames:
            idx = np.linspace(0, len(span) - 1, s.strip_frames).round().astype(int)
            span = [span[i] for i in idx]
        # the plate image is the crop the vote's winner was best read on
        plate_seq = plate_vote.frame_sequence
        plate = p.track.plate_crops.get(plate_seq) if plate_seq is not None else None
        vid = violation_id(camera.id, p.track.key, d.rule)
        source = EvidenceInput(
            before=before,
            at=at,
            after=after,
            vehicle_box=point.box,
            plate_crop=plate[0] if plate else None,
            plate_sequence=plate_seq if plate else None,
            plate_t_ns=plate[1] if plate else None,
            strip=tuple(span),
            boxes={
                q.sequence: q.box for q in p.track.points if before.sequence <= q.sequence <= after.sequence
            },
            violator=p.track.tracker_id,
        )
        timeline = state.phases.timeline()
        bar = BarInfo(camera, d.rule, d.rule_version, d.measurement, vid, phase_at=timeline.phase_at)
        refs = store_evidence(source, bar, self.store)
        thresholds = {
            **d.thresholds,
            "plate_min_confidence": s.vote.min_confidence,
            "plate_invalid_weight": s.vote.invalid_weight,
        }
        event = ViolationEvent(
            violation_id=vid,
            camera_id=camera.id,
            rule=d.rule,
            rule_version=d.rule_version,
            occurred_at=datetime.fromtimestamp(at.t_ns // 1_000_000_000, tz=UTC).replace(
                microsecond=(at.t_ns % 1_000_000_000) // 1000
            ),
            frame_sequence=at.sequence,
            track_id=p.local_id,
            vehicle_class=p.track.vehicle_class.value,
            plate_candidates=plate_vote.candidates,
            plate_text=plate_vote.text,
            plate_confidence=plate_vote.confidence,
            needs_manual_plate=plate_vote.needs_manual_plate,
            measurement=d.measurement,
            evidence=refs,
            model_versions=self.model_versions,
            thresholds=thresholds,
        )
        self.stats["violations"] += 1
        return signed(event, self.signing_key)

    def _forget(self, state: _CameraState, sequence: int) -> None:
        ttl = self._frames(state.camera, self.settings.track_ttl_s)
        for track_id in [k for k, t in state.tracks.items() if sequence - t.last_sequence > ttl]:
            del state.tracks[track_id]
        if len(state.tracks) > self.settings.max_tracks:
            for track_id in sorted(state.tracks, key=lambda k: state.tracks[k].last_sequence)[
                : len(state.tracks) - self.settings.max_tracks
            ]:
                del state.tracks[track_id]
        # tracker ids of forgotten tracks can be dropped from the id map too
        if len(state.local_ids) > 4 * self.settings.max_tracks:
            live = set(state.tracks) | {p.track.tracker_id for p in state.pending}
            state.local_ids = {k: v for k, v in state.local_ids.items() if k in live}

    def tracks(self, camera_id: str) -> list[Track]:
        """Snapshots of a camera's live tracks (for tools and tests)."""
        state = self._states.get(camera_id)
        if state is None:
            return []
        return [t.snapshot(state.local_ids[k]) for k, t in state.tracks.items()]


def _plate_owners(plates: list[Detection], tracked: list[Detection]) -> list[int | None]:
    """The tracker id of the vehicle holding each plate: the smallest tracked box that holds the
    plate's centre (a motorbike in front of a bus holds its own plate); None when none does."""
    owners: list[int | None] = []
    for plate in plates:
        cx, cy = (plate.box.x1 + plate.box.x2) / 2, (plate.box.y1 + plate.box.y2) / 2
        holders = [v for v in tracked if v.box.x1 <= cx <= v.box.x2 and v.box.y1 <= cy <= v.box.y2]
        owners.append(min(holders, key=lambda v: v.box.area).track_id if holders else None)
    return owners


def _clipped(box: Box, width: int, height: int, margin: float = 2.0, bottom_margin: float = 2.0) -> bool:
    """True when the box touches the bottom (within ``bottom_margin``), left or right edge of the
    frame (within ``margin``)."""
    return box.y2 >= height - max(margin, bottom_margin) or box.x1 <= margin or box.x2 >= width - margin


def _iou(a: Box, b: Box) -> float:
    ix = max(0.0, min(a.x2, b.x2) - max(a.x1, b.x1))
    iy = max(0.0, min(a.y2, b.y2) - max(a.y1, b.y1))
    inter = ix * iy
    union = a.area + b.area - inter
    return inter / union if union > 0 else 0.0


def _with_detector_boxes(tracked: list[Detection], raw: list[Detection]) -> list[Detection]:
    """Each track's box replaced by the detector's box it came from (best IoU, at least 0.3).

    A tracker's Kalman-smoothed box lags a vehicle whose box grows or shrinks fast (near the
    camera), and the lag moves the ground point: the stop-line crossing must be timed on what
    the detector saw."""
    out, used = [], set()
    for d in tracked:
        best, best_iou = None, 0.3
        for i, r in enumerate(raw):
            if i in used:
                continue
            score = _iou(d.box, r.box)
            if score > best_iou:
                best, best_iou = i, score
        if best is None:
            out.append(d)
        else:
            used.add(best)
            out.append(replace(d, box=raw[best].box))
    return out


def default_stage(
    cameras: Mapping[str, CameraConfig],
    *,
    store: EvidenceStore,
    signing_key: bytes,
    detector: Detector | None = None,
    reader: PlateReader | None = None,
    tracker_kind: str = "bytetrack",
    model_versions: Mapping[str, str] | None = None,
    settings: StageSettings = StageSettings(),
    signal_feeds: Mapping[str, PhaseFeed] | None = None,
) -> DetectionStage:
    """The stage with the shipped models unless others are given: ``YoloDetector()``,
    ``OnnxPlateReader()`` and one ultralytics tracker of ``tracker_kind`` per camera.

    ``model_versions`` defaults to the adapters' ``version`` attribute (or their class name)."""
    from detection.tracking import make_tracker

    if detector is None:
        from detection.detector import YoloDetector

        detector = YoloDetector()
    if reader is None:
        from detection.reader import OnnxPlateReader  # type: ignore[import-not-found,unused-ignore]

        reader = OnnxPlateReader()

    def describe(part: object) -> str:
        version = getattr(part, "version", None)
        return str(version) if version else type(part).__name__

    versions = dict(model_versions or {})
    versions.setdefault("detector", describe(detector))
    versions.setdefault("reader", describe(reader))
    versions.setdefault("tracker", tracker_kind)
    return DetectionStage(
        cameras,
        detector=detector,
        reader=reader,
        store=store,
        signing_key=signing_key,
        tracker_factory=lambda camera: make_tracker(tracker_kind, fps=camera.fps),
        model_versions=versions,
        settings=settings,
        signal_feeds=signal_feeds,
    )
