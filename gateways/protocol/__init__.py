"""The event-source protocol (``eventing.proto``) and its generated Python code.

Regenerate after editing the .proto with ``python -m gateways.protocol.generate``; a test fails
while the committed files are stale. The README's event-source protocol section documents
the protocol for server authors.
"""
