"""``python -m domain_services.users``: serve the users service on ``PORT`` (default 8083)."""

from domain_services.users.app import DEFAULT_PORT, create_app
from kernel.server import serve

if __name__ == "__main__":
    serve(create_app, DEFAULT_PORT)
