"""Ground-truth violations judged from what the simulated vehicles actually did.

Intent flags only make violations likely; a label is written when the trajectory and the signal
phase show the act: the ground point (the vehicle's end nearest the camera, i.e. the box's bottom
centre) crossing the stop line during red, the time between the speed lines (an excess the fine table
reaches: ``SPEED_FINE_MIN_OVER_KMH``), movement against
the lane's flow, time spent in a lane closed to the class, standing time in a no-stopping zone.
"""

from __future__ import annotations

from dataclasses import dataclass

from detection.rules import speed_is_fined
from detection.types import Rule, SignalPhase
from ingest.sim.layout import Layout
from ingest.sim.traffic import Agent

WRONG_WAY_MIN_M = 4.0  # metres travelled against the flow inside a lane
WRONG_LANE_MIN_S = 1.0  # seconds inside a lane closed to the class
STANDING_KMH = 2.0


@dataclass(frozen=True)
class Judged:
    rule: Rule
    agent: Agent
    t_s: float
    signal_phase: SignalPhase | None = None
    seconds_since_red: float | None = None
    speed_kmh: float | None = None
    speed_limit_kmh: float | None = None
    dwell_s: float | None = None
    lane: str | None = None
    zone: str | None = None


@dataclass
class _Track:
    near_y: float
    y: float
    entry_t: float | None = None
    wrong_way_m: float = 0.0
    wrong_lane_steps: int = 0
    wrong_lane_id: str | None = None
    dwell_s: float = 0.0
    dwell_zone: str | None = None


def _inside(poly, x: float, y: float) -> bool:
    n = len(poly)
    inside = False
    j = n - 1
    for i in range(n):
        xi, yi = poly[i]
        xj, yj = poly[j]
        if (yi > y) != (yj > y) and x < (xj - xi) * (y - yi) / (yj - yi) + xi:
            inside = not inside
        j = i
    return inside


class Judge:
    """Watches every step and labels violations; each (track, rule) is labelled at most once."""

    def __init__(self, layout: Layout, red_grace_s: float = 0.0) -> None:
        self.layout = layout
        self.red_grace_s = red_grace_s
        self.tracks: dict[int, _Track] = {}
        self.done: set[tuple[int, Rule]] = set()
        # lane rules apply where the lanes are painted and seen: from the bottom of the image to
        # the stop line (or the far end of the segment), and within the lane polygon of the
        # camera's configuration, which the stage applies the rules with (the simulated cameras'
        # lanes end 0.3 m before the stop line, on the stop bar)
        self.lane_y = (layout.y_visible, layout.stop_y if layout.stop_y is not None else layout.y_far)

    def before(self, agents: list[Agent]) -> None:
        for a in agents:
            tr = self.tracks.get(a.track_id)
            if tr is None:
                self.tracks[a.track_id] = _Track(near_y=a.near_y, y=a.y)
            else:
                tr.near_y, tr.y = a.near_y, a.y

    def after(self, agents: list[Agent], t0: float, dt: float, phase_at) -> list[Judged]:
        """Compare positions after a step of ``dt`` from ``t0``; ``phase_at(t)`` -> (phase, since)."""
        out: list[Judged] = []
        L = self.layout
        for a in agents:
            tr = self.tracks.get(a.track_id)
            if tr is None:
                continue
            y0, y1 = tr.near_y, a.near_y
            # red light: ground point crosses the stop line (driving with the flow)
            if L.stop_y is not None and a.heading > 0 and y0 < L.stop_y <= y1:
                tc = t0 + dt * (L.stop_y - y0) / (y1 - y0)
                phase, since = phase_at(tc)
                if phase == SignalPhase.RED and since >= self.red_grace_s:
                    out += self._emit(
                        a, Rule.RED_LIGHT, tc, signal_phase=phase, seconds_since_red=round(since, 3)
                    )
            # speed between the two lines, from crossing times of the ground point
            if L.speed_entry_y is not None and L.speed_exit_y is not None and a.heading > 0:
                if y0 < L.speed_entry_y <= y1:
                    tr.entry_t = t0 + dt * (L.speed_entry_y - y0) / (y1 - y0)
                if tr.entry_t is not None and y0 < L.speed_exit_y <= y1:
                    tx = t0 + dt * (L.speed_exit_y - y0) / (y1 - y0)
                    kmh = (L.speed_exit_y - L.speed_entry_y) / (tx - tr.entry_t) * 3.6
                    limit = L.speed_limits.get(a.cls)
                    tol = L.camera.speed.tolerance_kmh if L.camera.speed else 0.0
                    if limit is not None and speed_is_fined(kmh, limit, tol):
                        out += self._emit(
                            a, Rule.SPEEDING, tx, speed_kmh=round(kmh, 2), speed_limit_kmh=limit
                        )
            lane = L.lane_at(a.x)
            if lane is not None and not max(self.lane_y[0], lane.y0) <= y1 <= min(self.lane_y[1], lane.y1):
                lane = None
            # wrong way: moving against the lane's legal direction
            if lane is not None:
                moved = (y1 - y0) * lane.direction
                if moved < 0:
                    tr.wrong_way_m += -moved
                    if tr.wrong_way_m >= WRONG_WAY_MIN_M:
                        out += self._emit(a, Rule.WRONG_WAY, t0 + dt, lane=lane.id)
                # wrong lane: a class the lane does not allow, for long enough
                if a.cls not in lane.allowed and moved >= 0:
                    # the time between the first and the latest step seen in the lane: what a
                    # camera watching every step can prove (a sum of dt from the first step would
                    # count a step the vehicle spent partly outside the lane, or rely on rounding)
                    tr.wrong_lane_steps = tr.wrong_lane_steps + 1 if tr.wrong_lane_id == lane.id else 1
                    tr.wrong_lane_id = lane.id
                    if (tr.wrong_lane_steps - 1) * dt >= WRONG_LANE_MIN_S - 1e-9:
                        out += self._emit(a, Rule.WRONG_LANE, t0 + dt, lane=lane.id)
                else:
                    tr.wrong_lane_steps, tr.wrong_lane_id = 0, None
            # no stopping: standing in a zone longer than allowed
            zone_hit = None
            if a.v * 3.6 < STANDING_KMH:
                for zone in L.zones:
                    if _inside(zone.polygon, a.x, a.y):
                        zone_hit = zone
                        break
            if zone_hit is not None:
                tr.dwell_s = tr.dwell_s + dt if tr.dwell_zone == zone_hit.id else dt
                tr.dwell_zone = zone_hit.id
                if tr.dwell_s > zone_hit.max_dwell_s:
                    out += self._emit(
                        a, Rule.NO_STOPPING, t0 + dt, dwell_s=round(tr.dwell_s, 2), zone=zone_hit.id
                    )
            else:
                tr.dwell_s, tr.dwell_zone = 0.0, None
        alive = {a.track_id for a in agents}
        for tid in list(self.tracks):
            if tid not in alive:
                del self.tracks[tid]
        return out

    def _emit(self, agent: Agent, rule: Rule, t: float, **measured) -> list[Judged]:
        key = (agent.track_id, rule)
        if key in self.done:
            return []
        self.done.add(key)
        return [Judged(rule=rule, agent=agent, t_s=t, **measured)]
