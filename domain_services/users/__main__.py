"""``python -m domain_services.users``: serve the users service on ``PORT`` (default: the registry's port)."""

from domain_services.users.app import DOMAIN, create_app
from kernel.server import serve

if __name__ == "__main__":
    serve(create_app, DOMAIN.port)
