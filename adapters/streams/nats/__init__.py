"""The NATS source kind: core NATS subjects (optionally in a queue group) and JetStream."""
