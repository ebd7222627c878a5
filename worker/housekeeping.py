"""Housekeeping tasks: tables that would otherwise only grow."""

from __future__ import annotations

import logging

from kernel import exactly_once
from worker.app import PURGE_KEYS_TASK, app

log = logging.getLogger(__name__)


@app.task(name=PURGE_KEYS_TASK, ignore_result=True)
def purge_request_keys() -> int:
    """Delete the keys and answers of writes older than a day (``kernel.exactly_once``)."""
    deleted = exactly_once.purge()
    if deleted:
        log.info("housekeeping: deleted %d request keys older than a day", deleted)
    return deleted
