"""The API gateway: strangler-fig routing between the monolith and the domain services.

Request path: ``app`` (ASGI) or ``rsgi`` (granian RSGI) adapter → ``gateway.Gateway.handle``
→ ``target`` (canonical path) → ``auth`` → ``policy`` → ``routing`` (flag table from
``flagcache``, ``bucketing``) → ``forward`` (one pyreqwest client per worker) → ``metrics`` /
``failures`` + ``rollback`` / ``shadow`` bookkeeping. Everything that
does I/O other than the forward runs at start-up or in background tasks.

Design notes (decisions a reader would otherwise have to reverse-engineer):

* Server: granian with its RSGI interface by default (``PROXY_INTERFACE=asgi`` for the pure
  ASGI app); ``WEB_WORKERS`` processes, each with one pyreqwest client (docs/data-plane.md has
  the side-by-side figures). RSGI sees only the decoded path (see ``rsgi.py``).
* Auth: default ``PROXY_AUTH_MODE=writes`` as docs/architecture.md §6 says — legacy clients that POST
  without a token get 401 and must log in, or the deployment sets ``PROXY_AUTH_MODE=off``.
* Fallback replays a failed service attempt on the monolith when ``retry`` says it is safe:
  any method when no connection was ever made, reads only otherwise; ``idempotency`` dedupes
  ``POST`` with ``Idempotency-Key`` (Redis, bounded per caller). The failed service attempt
  counts toward rollback only when it is the service's own fault (``failures``), and the
  monolith retry is a separate attempt, so the console chart counts attempts, not client
  requests.
* Auto-rollback sets ``mode=monolith`` and keeps ``percent`` (re-enabling gradual resumes at
  the same split); a manual rollback (console/CLI) also zeroes the percent.
* Metrics: Prometheus multiprocess mode when ``WEB_WORKERS > 1`` (``/metrics`` sums workers);
  Redis traffic counters are aggregated in memory and flushed once a second.
"""
