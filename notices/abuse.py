"""Abuse protection for the public lookup: a proof-of-work challenge and per-client rate limits.

Proof of work: the server issues a signed challenge ``v1.<nonce>.<bits>.<issued>.<mac>`` (HMAC
with the app secret, so nothing is stored until it is spent). The client finds a counter such that
``sha256("<challenge>:<plate>:<vehicle_type>:<counter>")`` starts with ``bits`` zero bits (about
``2**bits`` hashes: a fraction of a second in the page's JavaScript, real cost for anyone trying
plates in bulk). The solution is bound to the plate and type it asks about, and each challenge is
spent once (kept until it expires), so one solution cannot be replayed for other plates.

Rate limits: a token bucket per client (``capacity`` requests, refilled at ``per_minute``); an
empty bucket gives the number of seconds to wait (the ``Retry-After`` of a 429).

Both keep their state in this process's memory: one web process (see docs/notices.md); several
processes would each keep their own (share them through Redis or PostgreSQL before scaling out).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass

MAX_BITS = 32


class ChallengeError(ValueError):
    """A missing, forged, expired, spent or unsolved challenge; the message says which."""


def _mac(secret: str, body: str) -> str:
    return hmac.new(secret.encode(), f"pow.v1|{body}".encode(), hashlib.sha256).hexdigest()[:32]


def leading_zero_bits_ok(digest: bytes, bits: int) -> bool:
    return int.from_bytes(digest[:4], "big") >> (32 - bits) == 0 if bits else True


def pow_digest(challenge: str, plate: str, vehicle_type: str, counter: int | str) -> bytes:
    return hashlib.sha256(f"{challenge}:{plate}:{vehicle_type}:{counter}".encode()).digest()


def solve(challenge: str, plate: str, vehicle_type: str, bits: int) -> int:
    """What the page's JavaScript does, in Python (for API clients, tests and the benchmark)."""
    counter = 0
    while not leading_zero_bits_ok(pow_digest(challenge, plate, vehicle_type, counter), bits):
        counter += 1
    return counter


@dataclass
class ProofOfWork:
    secret: str
    bits: int = 16
    ttl_s: float = 300.0
    max_spent: int = 200_000  # remembered spent challenges (older ones have expired anyway)

    def __post_init__(self) -> None:
        if not 0 <= self.bits <= MAX_BITS:
            raise ValueError(f"expected proof-of-work bits in 0..{MAX_BITS}, got {self.bits}")
        if len(self.secret) < 16:
            raise ValueError("expected a secret of at least 16 characters to sign challenges")
        self._spent: OrderedDict[str, float] = OrderedDict()
        self._lock = threading.Lock()

    def issue(self, now: float | None = None) -> str:
        body = f"v1.{secrets.token_urlsafe(12)}.{self.bits}.{int(now if now is not None else time.time())}"
        return f"{body}.{_mac(self.secret, body)}"

    def check(self, challenge: str, solution: str, *, plate: str, vehicle_type: str, now: float | None = None) -> None:
        """Accept a solved challenge once; ``ChallengeError`` otherwise (nothing is spent then)."""
        moment = now if now is not None else time.time()
        if not challenge or not solution:
            raise ChallengeError("missing proof of work: get a challenge and solve it")
        parts = challenge.split(".")
        if len(parts) != 5 or parts[0] != "v1":
            raise ChallengeError("malformed challenge")
        body, mac = ".".join(parts[:4]), parts[4]
        if not hmac.compare_digest(mac, _mac(self.secret, body)):
            raise ChallengeError("the challenge was not issued by this server")
        bits, issued = int(parts[2]), int(parts[3])
        if bits < self.bits:
            raise ChallengeError(f"expected a challenge of at least {self.bits} bits, got {bits}")
        if not issued - 5 <= moment <= issued + self.ttl_s:
            raise ChallengeError("the challenge has expired: get a new one")
        if not solution.isdigit() or len(solution) > 12:
            raise ChallengeError("expected the solution as a decimal counter")
        if not leading_zero_bits_ok(pow_digest(challenge, plate, vehicle_type, solution), bits):
            raise ChallengeError("the proof of work does not solve the challenge for this plate and type")
        with self._lock:
            while self._spent and next(iter(self._spent.values())) < moment:
                self._spent.popitem(last=False)
            if parts[1] in self._spent:
                raise ChallengeError("the challenge was already used: get a new one")
            self._spent[parts[1]] = issued + self.ttl_s
            while len(self._spent) > self.max_spent:
                self._spent.popitem(last=False)


@dataclass
class RateLimiter:
    """Token buckets per client key; ``take`` returns 0 when allowed, else seconds to wait."""

    capacity: float = 10.0
    per_minute: float = 10.0
    max_clients: int = 100_000

    def __post_init__(self) -> None:
        if self.capacity < 1 or self.per_minute <= 0:
            raise ValueError(f"expected capacity >= 1 and per_minute > 0, got {self.capacity}, {self.per_minute}")
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()

    def take(self, client: str, now: float | None = None) -> int:
        moment = now if now is not None else time.monotonic()
        rate = self.per_minute / 60.0
        with self._lock:
            tokens, last = self._buckets.pop(client, (self.capacity, moment))
            tokens = min(self.capacity, tokens + (moment - last) * rate)
            if tokens >= 1:
                self._buckets[client] = (tokens - 1, moment)
                wait = 0
            else:
                self._buckets[client] = (tokens, moment)
                wait = max(1, int((1 - tokens) / rate + 0.999))
            while len(self._buckets) > self.max_clients:
                self._buckets.popitem(last=False)
        return wait


def client_tag(secret: str, client: str) -> str:
    """A short keyed hash of the client address: lookups can be correlated in the log for abuse
    analysis without the log holding anyone's IP address."""
    return hmac.new(secret.encode(), f"client|{client}".encode(), hashlib.sha256).hexdigest()[:12]
