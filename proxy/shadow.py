"""Shadow mode: mirror a share of GETs to the other backend and compare the answers.

The client is answered by the primary backend as usual; the mirrored request runs in the
background after the primary's body is known, and only its outcome (status and SHA-256 of
the body equal or not) is counted in ``proxy_shadow_comparisons``. Only fully buffered
(small) primary responses are compared. The mirror uses the worker's forwarding client
(:func:`proxy.forward.make_client`: no redirects, no decompression), so it sends the same
canonical path and headers the primary got.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time

from pyreqwest.client import Client
from pyreqwest.exceptions import PyreqwestError

from proxy.metrics import SHADOW, Recorder
from strangler.rollout_gates import shadow_field

log = logging.getLogger(__name__)
MAX_INFLIGHT = 64


class Shadower:
    """Runs mirrored GETs in the background, bounded by :data:`MAX_INFLIGHT`."""

    def __init__(self, client: Client, recorder: Recorder | None = None) -> None:
        self.client = client
        self.recorder = recorder
        self._tasks: set[asyncio.Task] = set()

    def mirror(self, domain: str, url: str, headers: list[tuple[str, str]], status: int, body: bytes) -> None:
        """Fire a background GET to ``url`` and compare it with ``(status, body)``."""
        if len(self._tasks) >= MAX_INFLIGHT:
            return
        task = asyncio.create_task(self._compare(domain, url, headers, status, hashlib.sha256(body).digest()))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _compare(self, domain: str, url: str, headers: list[tuple[str, str]], status: int,
                       digest: bytes) -> None:
        try:
            response = await self.client.request("GET", url).headers(headers).build().send()
            body = bytes(await response.bytes())
        except (PyreqwestError, ValueError) as exc:  # ValueError: a header value pyreqwest cannot hold
            log.debug("shadow request to %s failed: %s", url, exc)
            self._count(domain, "error")
            return
        same = response.status == status and hashlib.sha256(body).digest() == digest
        self._count(domain, "match" if same else "mismatch")

    def _count(self, domain: str, result: str) -> None:
        SHADOW.labels(domain, result).inc()
        if self.recorder is not None:
            self.recorder.count(int(time.time()), shadow_field(domain, result))

    async def stop(self) -> None:
        """Cancel mirrored requests still running."""
        for task in list(self._tasks):
            task.cancel()
