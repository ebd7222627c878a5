"""Events service: publishes events to Kafka on request (``api``) and consumes the domain topics (``consumers``)."""
