"""The API gateway: strangler-fig routing between the monolith and the domain services.

Request path: ``app`` (ASGI) or ``rsgi`` (granian RSGI) adapter → ``gateway.Gateway.handle``
→ ``auth`` → ``routing`` (flag table from ``flagcache``, ``bucketing``) → ``forward`` (one
shared aiohttp session) → ``metrics`` / ``rollback`` / ``shadow`` bookkeeping. Everything that
does I/O other than the forward runs at start-up or in background tasks.
"""
