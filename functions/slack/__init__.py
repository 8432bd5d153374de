"""The slack kind: Slack's Events API, interactivity and slash commands, served by the webhook
function.

:mod:`.config` is its schema, :mod:`.message` turns a verified request into what it is (a
handshake or a raw event), :mod:`.source` verifies requests (signing secret, replay window, the
old verification token) and declares the kind (``KIND``). Slack apps are configured in Slack,
so the kind registers nothing upstream.
"""
