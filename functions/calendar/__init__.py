"""The calendar function: cron and interval sources; each tick -> CloudEvent -> watchers.

Two ways to run it, sharing the tick arithmetic (:mod:`.ticks`), the state (:mod:`.state`)
and one firing path (:mod:`.firing`):

- :mod:`.source`: the long-running scheduler, the ``calendar`` kind of the embedded default;
  serves sub-minute intervals.
- :mod:`.trigger` / :mod:`.app`: the scale-to-zero function that a cron trigger (OpenFaaS
  cron-connector, Knative PingSource) invokes to fire whatever fell due.
"""
