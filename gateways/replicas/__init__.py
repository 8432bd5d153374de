"""Several replicas of one process: membership and per-source ownership through Leases.

Kind-agnostic: the reconciler says which sources are exclusive (``SourceKind.exclusive``) and
is told when this replica gains or loses one.
"""
