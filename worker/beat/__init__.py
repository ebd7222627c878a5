"""Celery beat: the every-second outbox sweep (``python -m worker.beat``)."""
