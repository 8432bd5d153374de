"""What an operator sees of a running process: recent events per source, their counts and
rates (:mod:`gateways.observe.recent`), rendered as JSON without secrets
(:mod:`gateways.observe.render`) for the status page and ``gateways tail``
(:mod:`gateways.observe.page`)."""
