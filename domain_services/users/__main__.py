"""``python -m domain_services.users``: serve the users service on ``PORT`` (default 8083)."""

from domain_services.shared.server import serve
from domain_services.users.app import DEFAULT_PORT, create_app

if __name__ == "__main__":
    serve(create_app, DEFAULT_PORT)
