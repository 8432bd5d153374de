"""The webhook kind and function: every endpoint in the registry, request -> CloudEvent -> watchers.

:mod:`.config` is its schema, :mod:`.message` turns a request into a raw event,
:mod:`.router` routes and authenticates requests, :mod:`.source` declares the kind (``KIND``);
:mod:`.app` (with the ``handler``/``main`` entry points) is the deployed function.
"""
