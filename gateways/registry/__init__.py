"""The event-source registry: ConfigMaps (in a cluster, or in a local file) of source configs."""
