"""The strangler control: routing flags, the flag change protocol, rollout plans and their gates.

Read by the gateway (the protocol and the gates, no ORM), the console, the CLI and the worker's
plan runner. Sits above the kernel and imports no domain.
"""
