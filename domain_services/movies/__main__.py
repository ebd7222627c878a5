"""``python -m domain_services.movies``: serve the movies service on ``PORT`` (default 8081)."""

from domain_services.movies.app import DEFAULT_PORT, create_app
from kernel.server import serve

if __name__ == "__main__":
    serve(create_app, DEFAULT_PORT)
