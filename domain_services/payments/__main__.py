"""``python -m domain_services.payments``: serve the payments service on ``PORT`` (default: the registry's port)."""

from domain_services.payments.app import DOMAIN, create_app
from kernel.server import serve

if __name__ == "__main__":
    serve(create_app, DOMAIN.port)
