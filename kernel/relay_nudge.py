"""Wake the outbox relay after a commit, without importing the worker.

The task is sent *by name* over the Celery broker (Redis), so the kernel and the web
processes never import ``worker``. A request only sets an event; a background thread sends
at most one nudge per ``DEBOUNCE_S`` (a burst of writes costs one message, and the last
write of a burst is still followed by a nudge). Failures are logged and left to the beat
sweep, which picks every row up within a second anyway — a nudge never raises into a request.
"""

from __future__ import annotations

import logging
import os
import threading

from celery import Celery

log = logging.getLogger(__name__)

RELAY_TASK = "worker.relay_outbox"
DEBOUNCE_S = 0.05
# Older nudges are useless: the sweep has run by then (matches worker.app.TASK_EXPIRES_S).
EXPIRES_S = 5


class RelayNudge:
    """A debounced, fire-and-forget sender of the relay task; call the instance to nudge."""

    def __init__(self, broker_url: str | None = None) -> None:
        self._broker_url = broker_url
        self._client: Celery | None = None
        self._wanted = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def __call__(self) -> None:
        """Request a nudge (cheap: sets a flag; the thread starts on first use, after any fork)."""
        self._wanted.set()
        if self._thread is None:
            with self._lock:
                if self._thread is None:
                    self._thread = threading.Thread(target=self._run, name="relay-nudge", daemon=True)
                    self._thread.start()

    def _run(self) -> None:
        while True:
            self._wanted.wait()
            self._wanted.clear()
            self.send_now()
            # writes arriving during the pause set the flag again and share the next message
            threading.Event().wait(DEBOUNCE_S)

    def send_now(self) -> bool:
        """Send one relay task immediately; False (logged) when the broker is unreachable."""
        try:
            if self._client is None:
                if self._broker_url is None:
                    raise RuntimeError("relay nudge not installed with a broker URL")
                self._client = Celery("relay-nudge", broker=self._broker_url)
                self._client.conf.broker_connection_retry = False
                self._client.conf.broker_transport_options = {"socket_connect_timeout": 1, "socket_timeout": 1}
            self._client.send_task(RELAY_TASK, expires=EXPIRES_S, ignore_result=True, retry=False)
        except Exception as exc:  # any broker failure: the beat sweep is the safety net
            log.warning("relay nudge not sent (%s: %s); the sweep will relay", exc.__class__.__name__, exc)
            return False
        return True


_default = RelayNudge()
# A forked child (gunicorn worker) inherits the flag but not the thread: start afresh there.
os.register_at_fork(after_in_child=lambda: _default.__init__(_default._broker_url))


def nudge_relay() -> None:
    """The process-wide nudge registered with :func:`kernel.outbox.register_nudge`."""
    _default()


def install(broker_url: str) -> None:
    """Nudge the relay over ``broker_url`` (the root's ``REDIS_URL``) after every outbox commit (idempotent)."""
    from kernel.outbox import register_nudge

    _default._broker_url = broker_url

    register_nudge(nudge_relay)
