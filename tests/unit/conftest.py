"""Fast tests: no PostgreSQL, Redis or Kafka (``make test-fast`` points their URLs at closed ports).

They test pure decisions and protocols with the fakes in ``tests/support/fakes.py``; the
wiring of the same code to the real services is covered by the integration tests beside
them (``tests/<area>/``).
"""
