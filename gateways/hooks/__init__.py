"""Sources that receive events over HTTP (the webhook, and the GitHub, GitLab, Slack, SNS and
StorageGRID kinds): their endpoint config, the router and listeners that serve them, and the
base class that routes a request to a kind's handler and registers hooks upstream."""
