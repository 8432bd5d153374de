"""The calendar function: cron and interval sources; each tick -> CloudEvent -> watchers.

Its schema is :mod:`.config`; a tick becomes a raw event in :mod:`.message`. Two ways to run
it, sharing the tick arithmetic (:mod:`.ticks`), the state (:mod:`.state`, :mod:`.kube_state`)
and one firing path (:mod:`.firing`):

- :mod:`.source`: the long-running scheduler, the ``calendar`` kind (``KIND``) of the
  embedded default; serves sub-minute intervals.
- :mod:`.trigger` / :mod:`.app`: the scale-to-zero function that a cron trigger (OpenFaaS
  cron-connector, Knative PingSource) invokes to fire whatever fell due.
"""
