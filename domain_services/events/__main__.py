"""``python -m domain_services.events``: the events API on ``PORT`` (default 8082) plus its consumers."""

from domain_services.events.runner import main

if __name__ == "__main__":
    main()
