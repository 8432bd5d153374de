"""The dispatcher function: raw events from adapters (and plain CloudEvents) -> watchers."""
