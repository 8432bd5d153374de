"""The storage-grid kind: NetApp StorageGRID's S3 event notifications, posted to an endpoint.

StorageGRID publishes bucket notifications as an SNS client would (a form-encoded ``Publish``
action) or as JSON; each S3 record becomes its own CloudEvent, named as the artifact kind names
MinIO's. :mod:`.config` is its schema, :mod:`.message` turns a request into raw events,
:mod:`.source` answers the request and declares the kind (``KIND``). Nothing is registered
upstream: StorageGRID's endpoints are configured in its tenant manager.
"""
