"""The artifact adapter: MinIO bucket notifications as CloudEvents."""
