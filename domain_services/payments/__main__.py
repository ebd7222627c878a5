"""``python -m domain_services.payments``: serve the payments service on ``PORT`` (default 8084)."""

from domain_services.payments.app import DEFAULT_PORT, create_app
from kernel.server import serve

if __name__ == "__main__":
    serve(create_app, DEFAULT_PORT)
