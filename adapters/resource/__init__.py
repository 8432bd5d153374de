"""The resource adapter: Kubernetes watches of any group/version/kind as CloudEvents."""
