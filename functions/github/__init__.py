"""The GitHub kind: repository and organization webhooks -> CloudEvents, served by the webhook
function (and by ``gateways up``), with the hook registered upstream.

:mod:`.config` is its schema, :mod:`.message` turns a delivery into a raw event,
:mod:`.client` makes sure of the hook through the GitHub REST API (PyGithub), and
:mod:`.source` checks signatures, answers and declares the kind (``KIND``).
"""
