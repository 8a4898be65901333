"""Multi-frame plate vote: many reads of one vehicle's plate -> one answer with a confidence.

Reads are grouped by their normalised text (``cases.plates.normalize``). Each read weighs its own
confidence (its weakest character); a read that does not fit the plate grammar weighs
``invalid_weight`` times less and can never win while a valid read exists. The winner's
confidence is its share of all the weight times the noisy-or of its reads' confidences: one
read at 0.4 stays at 0.4, three agreeing reads at 0.7 give 0.97, and disagreement lowers it.

When the reads disagree in a character or two (the usual OCR error on small plates), a
*consensus* candidate is also formed: among the reads of the most common length, each position
takes the character with the most confidence behind it. Its confidence is that of its weakest
position (the position's share of the weight times the noisy-or of the agreeing characters), so
it wins only when every position is well supported.

A vote below ``min_confidence``, or without any valid read, is marked for manual reading; its
candidates still travel with the violation so a person can choose.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from cases.plates import is_valid, normalize
from detection.types import PlateCandidate, PlateRead


@dataclass(frozen=True)
class PlateObservation:
    """One read of the track's plate, on one frame."""

    read: PlateRead
    frame_sequence: int


@dataclass(frozen=True)
class VoteSettings:
    min_confidence: float = 0.6
    invalid_weight: float = 0.25
    max_candidates: int = 5
    min_votes: int = 2  # a plate read on a single frame is never trusted alone
    consensus: bool = True  # also form a character-wise consensus candidate


@dataclass(frozen=True)
class PlateVote:
    text: str | None  # normalised winner; None when the plate needs manual reading
    best_guess: str | None  # the top candidate even when it is not trusted
    confidence: float
    votes: int
    frame_sequence: int | None  # the frame the winner was best read on
    layout: str | None
    candidates: list[PlateCandidate]
    needs_manual_plate: bool


def _noisy_or(confidences: Iterable[float]) -> float:
    miss = 1.0
    for c in confidences:
        miss *= 1.0 - min(max(c, 0.0), 1.0)
    return 1.0 - miss


def vote(observations: Iterable[PlateObservation], settings: VoteSettings = VoteSettings()) -> PlateVote:
    """Vote over the reads; deterministic (ties go to the earlier first read, then the text)."""
    groups: dict[str, list[PlateObservation]] = {}
    for observation in observations:
        text = normalize(observation.read.text)
        if text:
            groups.setdefault(text, []).append(observation)
    if not groups:
        return PlateVote(None, None, 0.0, 0, None, None, [], True)

    def weight(obs: PlateObservation) -> float:
        c = max(obs.read.confidence, 1e-6)
        return c if obs.read.valid else c * settings.invalid_weight

    total = sum(weight(o) for group in groups.values() for o in group)
    scored: list[_Scored] = []
    for text, obs in groups.items():
        share = sum(weight(o) for o in obs) / total
        scored.append(
            _Scored(
                valid=any(o.read.valid for o in obs),
                confidence=share * _noisy_or(o.read.confidence for o in obs),
                first=min(o.frame_sequence for o in obs),
                text=text,
                support=len(obs),
                best=max(obs, key=lambda o: (o.read.confidence, -o.frame_sequence)),
            )
        )
    if settings.consensus:
        consensus = _consensus([o for group in groups.values() for o in group], settings)
        if consensus is not None and consensus[0] not in groups:
            text, conf, support, used = consensus
            scored.append(
                _Scored(
                    valid=is_valid(text),
                    confidence=conf,
                    first=min(o.frame_sequence for o in used),
                    text=text,
                    support=support,
                    best=max(used, key=lambda o: (_agreement(o, text), o.read.confidence, -o.frame_sequence)),
                )
            )
    scored.sort(key=lambda c: (c.valid, c.confidence, -c.first, c.text), reverse=True)

    candidates = [
        PlateCandidate(
            text=c.text,
            confidence=round(min(c.confidence, 1.0), 4),
            votes=c.support,
            frame_sequence=c.best.frame_sequence,
            valid=c.valid,
            layout=c.best.read.layout,
        )
        for c in scored[: settings.max_candidates]
    ]
    win = scored[0]
    trusted = win.valid and win.confidence >= settings.min_confidence and win.support >= settings.min_votes
    return PlateVote(
        text=win.text if trusted else None,
        best_guess=win.text,
        confidence=round(min(win.confidence, 1.0), 4),
        votes=win.support,
        frame_sequence=win.best.frame_sequence,
        layout=win.best.read.layout,
        candidates=candidates,
        needs_manual_plate=not trusted,
    )


@dataclass(frozen=True)
class _Scored:
    valid: bool
    confidence: float
    first: int  # first frame with a read behind this candidate
    text: str
    support: int  # reads behind it (for the consensus: the fewest agreeing at any position)
    best: PlateObservation  # the read whose frame is kept


def _chars(obs: PlateObservation) -> tuple[str, tuple[float, ...]]:
    text = normalize(obs.read.text)
    confs = obs.read.char_confidences
    if len(confs) != len(text):  # the reader did not give one confidence per character
        confs = (obs.read.confidence,) * len(text)
    return text, confs


def _agreement(obs: PlateObservation, text: str) -> int:
    read = normalize(obs.read.text)
    return sum(a == b for a, b in zip(read, text, strict=False)) if len(read) == len(text) else -1


def _consensus(
    observations: Sequence[PlateObservation], settings: VoteSettings
) -> tuple[str, float, int, list[PlateObservation]] | None:
    """(text, confidence, support, reads used) of the position-wise vote over the reads of the
    most common length (support: the fewest reads agreeing at any position); None with fewer
    than two such reads."""
    by_length: dict[int, list[PlateObservation]] = defaultdict(list)
    for obs in observations:
        text = normalize(obs.read.text)
        if text:
            by_length[len(text)].append(obs)
    if not by_length:
        return None
    length, used = max(by_length.items(), key=lambda kv: (len(kv[1]), kv[0]))
    if len(used) < 2:
        return None
    out, confidence, support = [], 1.0, len(used)
    for i in range(length):
        weight: dict[str, float] = defaultdict(float)
        agree: dict[str, list[float]] = defaultdict(list)
        for obs in used:
            text, confs = _chars(obs)
            w = max(confs[i], 1e-6) * (1.0 if obs.read.valid else settings.invalid_weight)
            weight[text[i]] += w
            agree[text[i]].append(confs[i])
        char = max(sorted(weight), key=lambda c: weight[c])
        share = weight[char] / sum(weight.values())
        confidence = min(confidence, share * _noisy_or(agree[char]))
        support = min(support, len(agree[char]))
        out.append(char)
    return "".join(out), round(confidence, 4), support, used
