"""A pure retry policy: (attempt state, outcome) -> delay in seconds, or stop.

The policy never sleeps and never mutates: `RetryPolicy.decide` returns the delay together with
the next `RetryState`, so one policy is shared by every thread. `http.py` does the sleeping.

What is retried (budgets are counted separately):
- statuses 429, 502, 503, 504, 507 (`status` budget); for non-idempotent methods only 429 and 503,
  which mean the request was not processed;
- 500 for idempotent methods, at most `server_error` times (default once: a 500 of Grand
  Challenge is usually a bug that a retry will not fix, but a single retry rides out a restart);
- connection errors, where the request never reached the server (`connect` budget), any method;
- read errors and timeouts only for idempotent methods (`read` budget).
A `Retry-After` header (seconds or HTTP date) replaces the backoff, floored at 0 and capped at
`retry_after_max`; otherwise the delay is `backoff_factor * 2**n`, capped at `backoff_max`, with
+/- `jitter` (a fraction) of random spread.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Literal

RETRY_STATUSES = frozenset({429, 502, 503, 504, 507})
NON_IDEMPOTENT_RETRY_STATUSES = frozenset({429, 503})
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})

ErrorKind = Literal["connect", "read"]


@dataclass(frozen=True)
class Outcome:
    """What one attempt produced: a status (with its Retry-After header) or a transport error."""

    method: str
    status: int | None = None
    error: ErrorKind | None = None
    retry_after: str | None = None


@dataclass(frozen=True)
class RetryState:
    """Retries spent so far, per budget."""

    status: int = 0
    server_error: int = 0
    connect: int = 0
    read: int = 0

    @property
    def total(self) -> int:
        return self.status + self.server_error + self.connect + self.read


@dataclass(frozen=True)
class Decision:
    """Wait `delay` seconds, then try again with `state`."""

    delay: float
    state: RetryState


@dataclass(frozen=True)
class RetryPolicy:
    """Immutable retry settings; `decide` is the whole policy."""

    status: int = 8
    server_error: int = 1
    connect: int = 4
    read: int = 3
    backoff_factor: float = 0.5
    backoff_max: float = 30.0
    retry_after_max: float = 120.0
    jitter: float = 0.25
    rng: Callable[[], float] = field(default=random.random, compare=False, repr=False)
    now: Callable[[], datetime] = field(
        default=lambda: datetime.now(UTC), compare=False, repr=False
    )

    def decide(self, state: RetryState, outcome: Outcome) -> Decision | None:
        """Return how long to wait before the next attempt, or None to stop."""
        budget = self._budget_for(outcome)
        if budget is None:
            return None
        spent = getattr(state, budget)
        if spent >= getattr(self, budget):
            return None
        next_state = replace(state, **{budget: spent + 1})
        delay = self.parse_retry_after(outcome.retry_after)
        if delay is None:
            delay = self.backoff(state.total)
        return Decision(delay=delay, state=next_state)

    def _budget_for(self, outcome: Outcome) -> str | None:
        idempotent = outcome.method.upper() in IDEMPOTENT_METHODS
        if outcome.error == "connect":
            return "connect"
        if outcome.error == "read":
            return "read" if idempotent else None
        if outcome.status is None:
            return None
        allowed = RETRY_STATUSES if idempotent else NON_IDEMPOTENT_RETRY_STATUSES
        if outcome.status in allowed:
            return "status"
        if outcome.status == 500 and idempotent:
            return "server_error"
        return None

    def backoff(self, retries_done: int) -> float:
        """Exponential backoff with jitter for the retry after `retries_done` earlier ones."""
        base = min(self.backoff_max, self.backoff_factor * (2**retries_done))
        spread = base * self.jitter * (2 * self.rng() - 1)
        return max(0.0, min(self.backoff_max, base + spread))

    def parse_retry_after(self, value: str | None) -> float | None:
        """Seconds from a Retry-After header (seconds or HTTP date), in [0, retry_after_max]."""
        if value is None or not value.strip():
            return None
        text = value.strip()
        try:
            seconds = float(text)
        except ValueError:
            try:
                when = parsedate_to_datetime(text)
            except (TypeError, ValueError, IndexError):
                return None
            if when.tzinfo is None:
                when = when.replace(tzinfo=UTC)
            seconds = (when - self.now()).total_seconds()
        if seconds != seconds:  # NaN
            return None
        return max(0.0, min(self.retry_after_max, seconds))


NO_RETRY = RetryPolicy(status=0, server_error=0, connect=0, read=0)
