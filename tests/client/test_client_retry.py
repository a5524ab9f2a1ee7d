"""The retry policy as a pure function: no server, no sleeping."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from gcfetch.retry import NO_RETRY, Outcome, RetryPolicy, RetryState

NOW = datetime(2025, 6, 1, 12, 0, 0, tzinfo=UTC)


def policy(**kwargs: object) -> RetryPolicy:
    return RetryPolicy(rng=lambda: 0.5, now=lambda: NOW, **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize("status", [429, 502, 503, 504, 507])
def test_policy_retries_status_when_listed(status: int) -> None:
    decision = policy().decide(RetryState(), Outcome("GET", status=status))
    assert decision is not None
    assert decision.state.status == 1


@pytest.mark.parametrize("status", [400, 401, 403, 404, 501])
def test_policy_stops_when_status_is_not_transient(status: int) -> None:
    assert policy().decide(RetryState(), Outcome("GET", status=status)) is None


def test_policy_retries_500_once_when_method_is_idempotent() -> None:
    first = policy().decide(RetryState(), Outcome("GET", status=500))
    assert first is not None
    assert policy().decide(first.state, Outcome("GET", status=500)) is None
    assert policy().decide(RetryState(), Outcome("POST", status=500)) is None


def test_policy_stops_when_status_budget_is_spent() -> None:
    state = RetryState()
    count = 0
    while (decision := policy(status=3).decide(state, Outcome("GET", status=503))) is not None:
        state = decision.state
        count += 1
    assert count == 3


def test_policy_retries_connect_errors_when_method_is_post() -> None:
    assert policy().decide(RetryState(), Outcome("POST", error="connect")) is not None


def test_policy_stops_on_read_error_when_method_is_post() -> None:
    assert policy().decide(RetryState(), Outcome("POST", error="read")) is None
    assert policy().decide(RetryState(), Outcome("GET", error="read")) is not None


def test_policy_keeps_separate_budgets_when_errors_alternate() -> None:
    p = policy(connect=1, read=1)
    after_connect = p.decide(RetryState(), Outcome("GET", error="connect"))
    assert after_connect is not None
    after_read = p.decide(after_connect.state, Outcome("GET", error="read"))
    assert after_read is not None
    assert p.decide(after_read.state, Outcome("GET", error="connect")) is None


def test_policy_uses_retry_after_seconds_when_given() -> None:
    decision = policy().decide(RetryState(), Outcome("GET", status=429, retry_after="7"))
    assert decision is not None and decision.delay == 7.0


def test_policy_uses_retry_after_date_when_given() -> None:
    header = "Sun, 01 Jun 2025 12:00:30 GMT"
    decision = policy().decide(RetryState(), Outcome("GET", status=503, retry_after=header))
    assert decision is not None and decision.delay == 30.0


def test_policy_floors_retry_after_at_zero_when_date_is_past() -> None:
    header = "Sun, 01 Jun 2025 11:00:00 GMT"
    assert policy().parse_retry_after(header) == 0.0
    assert policy().parse_retry_after("-5") == 0.0


def test_policy_caps_retry_after_when_huge() -> None:
    assert policy(retry_after_max=60).parse_retry_after("86400") == 60.0


def test_policy_falls_back_to_backoff_when_retry_after_is_garbage() -> None:
    decision = policy(backoff_factor=1.0).decide(
        RetryState(), Outcome("GET", status=503, retry_after="soon")
    )
    assert decision is not None and decision.delay == 1.0


def test_backoff_grows_exponentially_and_is_capped() -> None:
    p = policy(backoff_factor=0.5, backoff_max=4.0)
    assert [p.backoff(n) for n in range(5)] == [0.5, 1.0, 2.0, 4.0, 4.0]


def test_backoff_jitter_stays_within_spread() -> None:
    low = RetryPolicy(rng=lambda: 0.0, backoff_factor=1.0, jitter=0.25).backoff(2)
    high = RetryPolicy(rng=lambda: 1.0, backoff_factor=1.0, jitter=0.25).backoff(2)
    assert (low, high) == (3.0, 5.0)


def test_policy_is_immutable_when_deciding() -> None:
    p = policy()
    state = RetryState()
    p.decide(state, Outcome("GET", status=503))
    assert state == RetryState()
    with pytest.raises(AttributeError):
        p.status = 1  # type: ignore[misc]


def test_no_retry_policy_never_retries() -> None:
    assert NO_RETRY.decide(RetryState(), Outcome("GET", status=503)) is None
    assert NO_RETRY.decide(RetryState(), Outcome("GET", error="connect")) is None
