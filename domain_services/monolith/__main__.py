"""``python -m domain_services.monolith``: serve the monolith on ``PORT`` (default 8080)."""

from domain_services.monolith.app import DEFAULT_PORT, create_app
from kernel.server import serve

if __name__ == "__main__":
    serve(create_app, DEFAULT_PORT)
