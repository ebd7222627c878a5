"""Celery worker: relays the outbox to Kafka; beat sweeps it every second (``worker.beat``)."""
