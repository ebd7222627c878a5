"""The deployment files read as data (compose, Dockerfile): no service, no Go tools needed."""

from tests.deploy.conftest import compose  # noqa: F401  (the parsed docker-compose.yml fixture)
