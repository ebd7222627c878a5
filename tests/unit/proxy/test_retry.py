"""Which failed service attempts may be replayed on the monolith (pure decision)."""

from __future__ import annotations

import pytest

from proxy.retry import Failure, may_replay

WRITES = ("POST", "PUT", "PATCH", "DELETE")


@pytest.mark.parametrize("method", ["GET", "HEAD", *WRITES])
def test_never_sent_requests_are_replayed_whatever_the_method(method):
    assert may_replay(method, Failure.NOT_SENT, fallback=True)


@pytest.mark.parametrize("failure", [Failure.MAY_HAVE_REACHED, Failure.ANSWERED_5XX, Failure.BODY_BROKEN])
@pytest.mark.parametrize("method", WRITES)
def test_writes_that_may_have_reached_the_service_are_not_replayed(method, failure):
    assert not may_replay(method, failure, fallback=True)


@pytest.mark.parametrize("failure", list(Failure))
def test_reads_are_replayed_after_any_failure(failure):
    assert may_replay("GET", failure, fallback=True)


def test_nothing_is_replayed_once_the_client_saw_bytes():
    assert not may_replay("GET", Failure.BODY_BROKEN, fallback=True, client_saw_bytes=True)


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_nothing_is_replayed_when_the_flag_disables_fallback(method):
    assert not may_replay(method, Failure.NOT_SENT, fallback=False)


def test_a_partly_sent_unbuffered_body_is_not_replayed():
    assert not may_replay("POST", Failure.NOT_SENT, fallback=True, body_replayable=False)
