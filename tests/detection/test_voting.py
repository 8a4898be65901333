"""Multi-frame plate vote, table-driven."""

from __future__ import annotations

import pytest

from cases.plates import is_valid
from detection.types import PlateRead
from detection.voting import PlateObservation, VoteSettings, vote


def obs(text: str, conf: float, seq: int, layout: str = "one-row") -> PlateObservation:
    return PlateObservation(PlateRead(text, (conf,) * max(1, len(text)), layout, is_valid(text)), seq)


@pytest.mark.parametrize(
    "name, reads, text, manual, votes, frame",
    [
        ("no reads", [], None, True, 0, None),
        ("one confident read is not enough", [("51A-123.45", 0.95, 3)], None, True, 1, 3),
        ("two confident reads", [("51A-123.45", 0.95, 3), ("51A12345", 0.9, 5)], "51A12345", False, 2, 3),
        ("one weak read", [("51A12345", 0.4, 3)], None, True, 1, 3),
        (
            "agreeing weak reads add up",
            [("51A12345", 0.6, 1), ("51A-123.45", 0.7, 2), ("51A 12345", 0.65, 3)],
            "51A12345",
            False,
            3,
            2,
        ),
        (
            "majority beats a confident outlier",
            [("51A12345", 0.8, 1), ("51A12345", 0.8, 2), ("51A12346", 0.9, 3), ("51A12345", 0.8, 4)],
            "51A12345",
            False,
            3,
            1,
        ),
        (
            "valid beats a heavier invalid",
            [("51O12345", 0.99, 1), ("51O12345", 0.99, 2), ("51A12345", 0.9, 3), ("51O12345", 0.99, 4)],
            None,
            True,
            1,
            3,
        ),  # valid read wins but its share is too low: manual, best guess kept
        ("only invalid reads", [("5IA12345", 0.99, 1), ("5IA12345", 0.99, 2)], None, True, 2, 1),
        (
            "blank reads ignored",
            [("", 0.9, 1), ("59X123456", 0.9, 2), ("59X123456", 0.9, 3)],
            "59X123456",
            False,
            2,
            2,
        ),
        ("even split is not trusted", [("51A12345", 0.9, 1), ("51A12346", 0.9, 2)], None, True, 1, 1),
    ],
)
def test_vote(name, reads, text, manual, votes, frame):
    result = vote([obs(*r) for r in reads])
    assert result.text == text
    assert result.needs_manual_plate is manual
    assert result.votes == votes
    assert result.frame_sequence == frame
    if reads and any(r[0] for r in reads):
        assert result.candidates and result.candidates[0].text == result.best_guess
        assert all(0 <= c.confidence <= 1 for c in result.candidates)
        confs = [c.confidence for c in result.candidates if c.valid]
        assert confs == sorted(confs, reverse=True)


def test_best_guess_kept_when_manual():
    result = vote([obs("51O12345", 0.99, 1), obs("51O12345", 0.99, 2), obs("51A12345", 0.9, 3)])
    assert result.needs_manual_plate and result.best_guess == "51A12345"
    assert {c.text for c in result.candidates} == {"51A12345", "51O12345"}
    assert [c.valid for c in result.candidates] == [True, False]


def test_threshold_is_configurable():
    reads = [obs("51A12345", 0.5, 1)]
    assert vote(reads).needs_manual_plate
    assert vote(reads, VoteSettings(min_votes=1)).needs_manual_plate
    assert not vote(reads, VoteSettings(min_confidence=0.4, min_votes=1)).needs_manual_plate


def test_vote_is_order_independent():
    reads = [obs("51A12345", 0.8, 1), obs("51A12346", 0.8, 2), obs("51A12345", 0.7, 3)]
    assert vote(reads) == vote(list(reversed(reads)))


def test_max_candidates():
    reads = [obs(f"51A1234{i}", 0.9, i) for i in range(9)]
    assert len(vote(reads, VoteSettings(max_candidates=3)).candidates) == 3


def test_consensus_recovers_a_plate_no_single_read_got_right():
    reads = [obs("51B802384", 0.8, 1), obs("51B902304", 0.8, 2), obs("51H902384", 0.8, 3)]
    result = vote(reads)
    assert result.text == "51B902384" and not result.needs_manual_plate
    assert result.confidence == pytest.approx(2 / 3 * (1 - 0.2**2), abs=1e-3)
    assert result.votes == 2  # at worst two of the three reads agree at a position
    assert result.frame_sequence == 1  # ties on agreement: the first frame
    assert {c.text for c in result.candidates} >= {"51B902384", "51B802384"}
    assert vote(reads, VoteSettings(consensus=False)).needs_manual_plate


@pytest.mark.parametrize(
    "name, reads, text",
    [
        (
            "uses the most common length only",
            [("51B802384", 0.8, 1), ("51B902304", 0.8, 2), ("51H902384", 0.8, 3), ("51B90238", 0.99, 4)],
            "51B902384",
        ),
        ("a single read forms no consensus", [("51B802384", 0.5, 1)], None),
        (
            "a disputed position keeps it manual",
            [("51B802384", 0.8, 1), ("51B902384", 0.8, 2), ("51B302384", 0.8, 3)],
            None,
        ),
    ],
)
def test_consensus_table(name, reads, text):
    assert vote([obs(*r) for r in reads]).text == text


def test_consensus_uses_per_character_confidence():
    def read(text, confs, seq):
        return PlateObservation(PlateRead(text, confs, "two-row", is_valid(text)), seq)

    # each read is unsure only of the character it got wrong
    hi, lo = 0.95, 0.2
    reads = [
        read("51B802384", (hi, hi, hi, lo, hi, hi, hi, hi, hi), 1),
        read("51B902304", (hi, hi, hi, hi, hi, hi, hi, lo, hi), 2),
        read("51B902385", (hi, hi, hi, hi, hi, hi, hi, hi, lo), 3),
    ]
    result = vote(reads)
    assert result.text == "51B902384" and result.confidence > 0.6


def test_one_confident_read_against_two_agreeing_is_not_trusted():
    # the case seen on the simulator: one high-confidence read outweighs two lower ones at a position
    reads = [obs("59C387841", 0.9, 1), obs("58C387841", 0.4, 2), obs("58C387841", 0.4, 3)]
    result = vote(reads)
    assert result.needs_manual_plate
