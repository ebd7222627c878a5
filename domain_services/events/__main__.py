"""``python -m domain_services.events``: the events API on ``PORT`` (default: its registry port) and its consumers."""

from domain_services.events.runner import main

if __name__ == "__main__":
    main()
