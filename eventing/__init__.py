"""The eventing machinery: Kafka client settings, the consumer loop with retries and dead
letters, consumer-group lag and outbox statistics.

Used by consumers (the events service, payments' reactions), the relay worker and the console.
The outbox *writer* that domains call stays in the kernel (``kernel.outbox``).
"""
