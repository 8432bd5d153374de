"""AMQP 0-9-1 event sources (pika): declared exchange and queue, manual acks after delivery."""
