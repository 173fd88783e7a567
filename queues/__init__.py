"""SQS mechanics: topology, envelope, producer, consumer runtime, bootstrap."""
