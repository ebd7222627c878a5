"""``python -m domain_services.payment_sandbox``: serve the sandbox provider on ``PORT`` (default 8085).

One server process: its checkouts and the callbacks it owes live in memory.
"""

from domain_services.payment_sandbox.app import DEFAULT_PORT, create_app
from kernel.server import serve

if __name__ == "__main__":
    serve(create_app, DEFAULT_PORT, workers=1)
