"""The aws-sns kind: an HTTP(S) endpoint subscribed to one SNS topic.

:mod:`.config` is its schema, :mod:`.message` reads SNS's JSON messages and turns a
notification into a raw event, :mod:`.signature` checks SNS's message signatures and the
hosts they point at, :mod:`.client` talks to SNS (the subscription through boto3, signing
certificates and confirmations over HTTPS), and :mod:`.source` declares the kind (``KIND``).
"""
