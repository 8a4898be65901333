"""Proof of work and rate limits of the public lookup, as pure functions of the clock."""

from __future__ import annotations

import pytest

from notices.abuse import ChallengeError, ProofOfWork, RateLimiter, client_tag, solve

SECRET = "abuse-test-secret-0123456789"


def test_a_solved_challenge_is_accepted_once():
    pow_ = ProofOfWork(secret=SECRET, bits=10)
    challenge = pow_.issue(now=1000)
    answer = str(solve(challenge, "51A12345", "car", 10))
    pow_.check(challenge, answer, plate="51A12345", vehicle_type="car", now=1001)
    with pytest.raises(ChallengeError, match="already used"):
        pow_.check(challenge, answer, plate="51A12345", vehicle_type="car", now=1002)


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda c, a: ("", a), "missing proof of work"),
        (lambda c, a: ("v2.x", a), "malformed"),
        (lambda c, a: (c.replace(".10.", ".11."), a), "not issued by this server"),
        (lambda c, a: (c, "12ab"), "decimal counter"),
    ],
)
def test_bad_challenges_are_refused_with_the_reason(mutate, message):
    pow_ = ProofOfWork(secret=SECRET, bits=10)
    challenge = pow_.issue(now=1000)
    answer = str(solve(challenge, "51A12345", "car", 10))
    bad_challenge, bad_answer = mutate(challenge, answer)
    with pytest.raises(ChallengeError, match=message):
        pow_.check(bad_challenge, bad_answer, plate="51A12345", vehicle_type="car", now=1001)


def test_expired_and_weaker_challenges_are_refused():
    pow_ = ProofOfWork(secret=SECRET, bits=10, ttl_s=300)
    challenge = pow_.issue(now=1000)
    answer = str(solve(challenge, "51A12345", "car", 10))
    with pytest.raises(ChallengeError, match="expired"):
        pow_.check(challenge, answer, plate="51A12345", vehicle_type="car", now=1301)
    weaker = ProofOfWork(secret=SECRET, bits=4).issue(now=1000)  # same secret, fewer bits
    with pytest.raises(ChallengeError, match="at least 10 bits"):
        pow_.check(weaker, str(solve(weaker, "51A12345", "car", 4)), plate="51A12345", vehicle_type="car", now=1001)
    with pytest.raises(ValueError, match="bits in 0..32"):
        ProofOfWork(secret=SECRET, bits=40)


def test_rate_limiter_refills_and_says_how_long_to_wait():
    limiter = RateLimiter(capacity=2, per_minute=6)  # one token every 10 s
    assert [limiter.take("a", now=0), limiter.take("a", now=0)] == [0, 0]
    assert limiter.take("a", now=1) == 9  # empty: the next token comes at t=10
    assert limiter.take("b", now=1) == 0  # per client
    assert limiter.take("a", now=11) == 0
    with pytest.raises(ValueError, match="capacity >= 1"):
        RateLimiter(capacity=0)


def test_client_tags_are_keyed_and_short():
    assert client_tag(SECRET, "10.0.0.1") == client_tag(SECRET, "10.0.0.1") != client_tag(SECRET, "10.0.0.2")
    assert client_tag(SECRET, "10.0.0.1") != client_tag("another-secret-0123456789", "10.0.0.1")
    assert len(client_tag(SECRET, "10.0.0.1")) == 12 and "10.0.0.1" not in client_tag(SECRET, "10.0.0.1")
