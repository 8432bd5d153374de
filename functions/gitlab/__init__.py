"""The GitLab kind: project webhook deliveries -> CloudEvents, served by the webhook function.

:mod:`.config` is its schema (the seed era's fields first), :mod:`.message` turns a delivery
into a raw event, :mod:`.client` keeps the project hook on GitLab through python-gitlab, and
:mod:`.source` verifies, filters and delivers, and declares the kind (``KIND``).
"""
