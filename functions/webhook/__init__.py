"""The webhook function: every endpoint in the registry, request -> CloudEvent -> watchers."""
