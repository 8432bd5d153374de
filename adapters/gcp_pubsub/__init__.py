"""The GCP Pub/Sub source kind: a subscription (given, or created for a topic), streaming pull."""
