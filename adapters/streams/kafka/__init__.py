"""Kafka event sources (kafka-python): consumer groups, commit after delivery, ordering."""
