"""Traffic: vehicles arriving, following each other (IDM), stopping at red, and, at configured
rates, intending violations. What actually happened is judged separately (``judge.py``)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from detection.types import SignalPhase
from ingest.camera import VehicleClass
from ingest.sim.layout import LaneGeom, Layout
from ingest.sim.plates import SimPlate, random_plate
from ingest.sim.types import SimOptions
from ingest.sim.vehicles import PlateSprite, VehicleModel, make_model

KERB_CORRIDOR = 0.8  # metres along the right kerb kept for wrong-way riders and kerbside stops
ONCOMING_SHARE = 0.35  # traffic on the opposite carriageway, relative to the watched approach

# IDM parameters: max acceleration, comfortable braking, jam distance, time headway
IDM = {
    VehicleClass.MOTORBIKE: (2.2, 3.0, 0.7, 0.7),
    VehicleClass.CAR: (1.6, 2.6, 1.5, 1.1),
    VehicleClass.BUS: (1.0, 2.0, 2.0, 1.4),
    VehicleClass.TRUCK: (1.0, 2.0, 2.0, 1.4),
}


@dataclass
class Agent:
    track_id: int
    cls: VehicleClass
    model: VehicleModel
    plate: SimPlate
    sprite: PlateSprite
    x: float
    y: float  # centre of the footprint
    heading: int
    v: float
    v0: float
    lane_id: str
    intents: frozenset[str] = frozenset()
    ignores_signal: bool = False
    stop_at: float | None = None  # y of the centre where a kerbside stop is planned
    dwell_s: float = 0.0
    stopped_for: float = 0.0
    done_stop: bool = False
    entered_at: float = 0.0
    decided_go: bool = False  # committed to pass on yellow
    x_lo: float = 0.0  # lateral range it may weave in (motorbikes)
    x_hi: float = 0.0
    target_x: float | None = None
    extra: dict[str, float] = field(default_factory=dict)

    @property
    def near_y(self) -> float:
        """The ground point nearest the camera (the box's bottom centre): rear when driving away."""
        return self.y - self.model.length / 2

    @property
    def front_y(self) -> float:
        return self.y + self.heading * self.model.length / 2

    @property
    def half_width(self) -> float:
        return self.model.width / 2


class Traffic:
    """All vehicles of one scene, advanced in fixed steps. Deterministic in its ``rng``."""

    def __init__(self, layout: Layout, options: SimOptions, rng: np.random.Generator) -> None:
        self.layout = layout
        self.options = options
        self.rng = rng
        self.agents: list[Agent] = []
        self.next_id = 1
        self.plates_seen: dict[str, SimPlate] = {}
        self.on_road: dict[str, tuple[SimPlate, VehicleClass, str]] = {}  # every plate that entered the scene
        self.is_speed_scene = layout.speed_entry_y is not None and layout.stop_y is None
        # arrivals per second, all lanes together
        width = layout.x_max - layout.x_min
        # arrivals per second: dense urban traffic at a signal, free flow on the speed segment
        self.rate = (0.12 if self.is_speed_scene else 0.2) * width * options.density
        self.waiting: list[Agent] = []
        self._snap_live = False

    # --- spawning -------------------------------------------------------------------------
    def _lanes_for(self, cls: VehicleClass) -> list[LaneGeom]:
        return [lane for lane in self.layout.lanes if cls in lane.allowed and lane.direction > 0]

    def _new_plate(self, cls: VehicleClass) -> SimPlate:
        while True:
            plate = random_plate(self.rng, cls.value)
            if plate.text not in self.plates_seen:
                self.plates_seen[plate.text] = plate
                return plate

    def _range(self, lane: LaneGeom, model: VehicleModel) -> tuple[float, float]:
        lo = lane.x0 + model.width / 2 + 0.15
        hi = lane.x1 - model.width / 2 - 0.15
        if lane.x1 >= self.layout.x_max - 1e-6:
            hi = min(hi, lane.x1 - KERB_CORRIDOR - model.width / 2)
        return (lo, hi) if hi > lo else (lane.centre, lane.centre)

    def _lateral(self, lane: LaneGeom, cls: VehicleClass, model: VehicleModel) -> float:
        lo, hi = self._range(lane, model)
        if cls != VehicleClass.MOTORBIKE:
            return (lo + hi) / 2
        return float(self.rng.uniform(lo, hi))

    def _blocked(self, agent: Agent) -> bool:
        """True when entering now would put ``agent`` too close to someone; else sets its speed."""
        _, _, s0, T = IDM[agent.cls]
        for other in self.agents:
            if abs(other.x - agent.x) >= other.half_width + agent.half_width + 0.3:
                continue
            d = (other.y - agent.y) * agent.heading
            gap = abs(d) - (other.model.length + agent.model.length) / 2
            if d <= 0:
                if gap < s0 + 1.0:
                    return True
                continue
            if other.heading != agent.heading or gap < s0 + 1.0:
                return True
            # enter no faster than the vehicle ahead allows
            agent.v = min(agent.v, other.v + max(0.0, gap - s0) / max(T, 0.5) * 0.5)
        return False

    def _make_oncoming(self, t: float) -> Agent:
        """A vehicle on the opposite carriageway (beyond the median): legal, outside every lane."""
        moto = self.rng.random() < self.options.motorbike_share
        cls = (
            VehicleClass.MOTORBIKE
            if moto
            else VehicleClass.CAR
            if self.rng.random() < 0.75
            else VehicleClass.TRUCK
        )
        model = make_model(self.rng, cls, rain=self.options.rain)
        plate = self._new_plate(cls)
        lane_centre = self.layout.x_min - 0.6 - (1.75 if self.rng.random() < 0.5 else 5.25)
        x = lane_centre + (float(self.rng.uniform(-1.0, 1.0)) if moto else 0.0)
        v0 = float(self.rng.uniform(28, 45)) / 3.6
        return Agent(
            track_id=0,
            cls=cls,
            model=model,
            plate=plate,
            sprite=PlateSprite.make(plate, cls),
            x=x,
            y=self.layout.y_far - model.length / 2,
            heading=-1,
            v=v0 * 0.9,
            v0=v0,
            lane_id="",
            ignores_signal=True,
            entered_at=t,
            x_lo=x,
            x_hi=x,
        )

    def _make_agent(self, t: float) -> Agent | None:
        """One arriving vehicle with its intents (it enters when the entry is free)."""
        rates = self.options.violations
        moto = self.rng.random() < self.options.motorbike_share
        if moto:
            cls = VehicleClass.MOTORBIKE
        else:
            o = self.options
            names = [VehicleClass.CAR, VehicleClass.BUS, VehicleClass.TRUCK]
            p = np.array([max(0.0, 1.0 - o.bus_share - o.truck_share), o.bus_share, o.truck_share])
            cls = names[int(self.rng.choice(len(names), p=p / p.sum()))]
        model = make_model(self.rng, cls, rain=self.options.rain)
        plate = self._new_plate(cls)
        intents: set[str] = set()
        r = self.rng.random
        wants = {k: r() for k in ("red_light", "speeding", "wrong_way", "wrong_lane", "no_stopping")}
        legal = self._lanes_for(cls)
        lanes = legal
        if wants["wrong_lane"] < rates.wrong_lane:
            illegal = [ln for ln in self.layout.lanes if cls not in ln.allowed and ln.direction > 0]
            if illegal:
                lanes = illegal
                intents.add("wrong_lane")
        if not lanes:
            return None
        lane = lanes[int(self.rng.integers(len(lanes)))]
        heading = 1
        x = self._lateral(lane, cls, model)
        kerb_busy = any(a.stop_at is not None or "wrong_way" in a.intents for a in self.agents + self.waiting)
        if cls == VehicleClass.MOTORBIKE and not kerb_busy and "wrong_lane" not in intents:
            if wants["wrong_way"] < rates.wrong_way:
                intents.add("wrong_way")
                heading = -1
                lane = self.layout.lanes[-1]
                x = self.layout.x_max - KERB_CORRIDOR / 2
            elif self.layout.zones and wants["no_stopping"] < rates.no_stopping:
                zone = self.layout.zones[int(self.rng.integers(len(self.layout.zones)))]
                owner = self.layout.lane_at((zone.x0 + zone.x1) / 2)
                if owner is not None and cls in owner.allowed:
                    intents.add("no_stopping")
                    lane = owner
                    x = (zone.x0 + zone.x1) / 2
        ia, ib, s0, T = IDM[cls]
        if self.is_speed_scene:
            limit = self.layout.speed_limits.get(cls, 60.0)
            v0 = float(self.rng.uniform(0.7, 0.95)) * limit
            if wants["speeding"] < rates.speeding:
                intents.add("speeding")
                v0 = limit + float(self.rng.uniform(8.0, 30.0))
            v0 /= 3.6
        else:
            v0 = (
                float(self.rng.uniform(28, 42) if cls == VehicleClass.MOTORBIKE else self.rng.uniform(30, 45))
                / 3.6
            )
        ignores = False
        if self.layout.stop_y is not None and wants["red_light"] < rates.red_light:
            intents.add("red_light")
            ignores = True
        if heading < 0:
            ignores = True
        L = model.length
        y = (self.layout.y_near + L / 2 + 0.1) if heading > 0 else (self.layout.y_far - L / 2)
        agent = Agent(
            track_id=0,
            cls=cls,
            model=model,
            plate=plate,
            sprite=PlateSprite.make(plate, cls),
            x=x,
            y=y,
            heading=heading,
            v=v0 * 0.9,
            v0=v0,
            lane_id=lane.id,
            intents=frozenset(intents),
            ignores_signal=ignores,
            entered_at=t,
        )
        if cls == VehicleClass.MOTORBIKE and heading > 0 and "no_stopping" not in intents:
            agent.x_lo, agent.x_hi = self._range(lane, model)
        else:
            agent.x_lo = agent.x_hi = x
        if "no_stopping" in intents:
            zone = min(self.layout.zones, key=lambda z: abs((z.x0 + z.x1) / 2 - x))
            agent.stop_at = float(
                self.rng.uniform(zone.y0 + L / 2 + 0.6, max(zone.y0 + L / 2 + 0.7, zone.y1 - L / 2 - 0.3))
            )
            agent.dwell_s = zone.max_dwell_s + float(self.rng.uniform(4.0, 15.0))
        return agent

    # --- motion ---------------------------------------------------------------------------
    def _weave(self, a: Agent, gap: float, lead_v: float, dt: float) -> None:
        """Motorbikes held up by a slower vehicle look for room beside it, as riders do."""
        if a.x_hi - a.x_lo > 0.05 and a.target_x is None and gap < 12.0 and lead_v < a.v0 - 1.5:
            best_x, best_gap = None, gap + 4.0
            for dx in (-0.9, 0.9, -1.6, 1.6):
                x = a.x + dx
                if not a.x_lo <= x <= a.x_hi:
                    continue
                g, _ = self._gap_to_leader(a, x=x, behind=True)
                if g > best_gap:
                    best_x, best_gap = x, g
            a.target_x = best_x
        if a.target_x is not None:
            step = 0.9 * dt
            d = a.target_x - a.x
            a.x += max(-step, min(step, d))
            if abs(d) <= step:
                a.target_x = None

    def _snapshot(self) -> None:
        """Positions of everyone as arrays, for the leader search of one step."""
        ags = self.agents
        self._index = {id(a): i for i, a in enumerate(ags)}
        self._sx = np.array([a.x for a in ags], dtype=np.float64)
        self._sy = np.array([a.y for a in ags], dtype=np.float64)
        self._shw = np.array([a.model.width / 2 for a in ags], dtype=np.float64)
        self._slen = np.array([a.model.length for a in ags], dtype=np.float64)
        self._sv = np.array([a.v for a in ags], dtype=np.float64)
        self._shead = np.array([a.heading for a in ags], dtype=np.int64)

    def _gap_to_leader(self, a: Agent, x: float | None = None, behind: bool = False) -> tuple[float, float]:
        """Gap (m) to the nearest vehicle ahead in ``a``'s path (at lateral ``x``) and its speed
        along ``a``'s heading; with ``behind`` a vehicle overlapping alongside counts as gap 0."""
        if not self._snap_live:  # outside ``step``: positions may have moved since the last snapshot
            self._snapshot()
        i = self._index[id(a)]
        x = a.x if x is None else x
        near = np.abs(self._sx - x) < a.half_width + self._shw + 0.1
        near[i] = False
        d = (self._sy - a.y) * a.heading
        half = (a.model.length + self._slen) / 2
        if behind and bool(np.any(near & (d <= 0) & (-d < half + 1.0))):
            return 0.0, 0.0
        ahead = near & (d > 0)
        if not ahead.any():
            return math.inf, 0.0
        gaps = np.where(ahead, d - half, np.inf)
        j = int(np.argmin(gaps))
        return float(gaps[j]), float(self._sv[j]) * (1.0 if self._shead[j] == a.heading else -1.0)

    def _accel(self, a: Agent, gap: float, lead_v: float) -> float:
        amax, b, s0, T = IDM[a.cls]
        s_star = s0 + max(0.0, a.v * T + a.v * (a.v - lead_v) / (2 * math.sqrt(amax * b)))
        free = 1 - (a.v / max(a.v0, 0.1)) ** 4
        inter = (s_star / max(gap, 0.05)) ** 2 if math.isfinite(gap) else 0.0
        return amax * (free - inter)

    def step(self, t: float, dt: float, phase: SignalPhase | None) -> None:
        """Advance every vehicle by ``dt`` seconds at time ``t`` (start of the step)."""
        # arrivals that found the entry blocked wait for the next step (bounded backlog)
        for _ in range(int(self.rng.poisson(self.rate * dt))):
            agent = self._make_agent(t)
            if agent is not None:
                self.waiting.append(agent)
        for _ in range(int(self.rng.poisson(self.rate * ONCOMING_SHARE * dt))):
            self.waiting.append(self._make_oncoming(t))
        del self.waiting[:-8]  # arrivals beyond a short backlog give up
        still = []
        for agent in self.waiting:
            if self._blocked(agent):
                still.append(agent)
            else:
                agent.track_id = self.next_id
                self.next_id += 1
                self.on_road[agent.plate.text] = (agent.plate, agent.cls, agent.model.colour_name)
                self.agents.append(agent)
        self.waiting = still
        stop_y = self.layout.stop_y
        self._snapshot()
        self._snap_live = True
        accels = []
        for a in self.agents:
            gap, lead_v = self._gap_to_leader(a)
            # a red (or a yellow it can still stop for) is a standing obstacle at the stop line
            if stop_y is not None and phase is not None and not a.ignores_signal and a.heading > 0:
                to_line = stop_y - 0.4 - a.front_y
                if to_line > -0.2:
                    if phase == SignalPhase.GREEN:
                        a.decided_go = False
                    elif phase == SignalPhase.YELLOW and not a.decided_go and to_line < a.v * a.v / (2 * 3.2):
                        a.decided_go = True  # too close to stop comfortably: clear the line
                    must_stop = phase == SignalPhase.RED or (phase == SignalPhase.YELLOW and not a.decided_go)
                    if must_stop and to_line < gap:
                        gap, lead_v = max(to_line, 0.01), 0.0
            if a.stop_at is not None and not a.done_stop:
                to_stop = (a.stop_at - a.y) * a.heading
                if to_stop > -0.3:
                    if a.v < 0.3 and to_stop < 0.6:
                        a.stopped_for += dt
                        if a.stopped_for >= a.dwell_s:
                            a.done_stop = True
                        accels.append(-10.0)
                        continue
                    if to_stop < gap:
                        gap, lead_v = max(to_stop, 0.01) + IDM[a.cls][2], 0.0
            if a.cls == VehicleClass.MOTORBIKE and a.heading > 0:
                self._weave(a, gap, lead_v, dt)
            accels.append(self._accel(a, gap, lead_v))
        self._snap_live = False
        for a, acc in zip(self.agents, accels, strict=True):
            acc = max(acc, -8.0)
            v_new = max(0.0, a.v + acc * dt)
            a.y += a.heading * (a.v + v_new) / 2 * dt
            a.v = v_new
        self.agents = [
            a
            for a in self.agents
            if (a.heading > 0 and a.near_y < self.layout.y_far)
            or (a.heading < 0 and a.y + a.model.length / 2 > self.layout.y_near)
        ]
