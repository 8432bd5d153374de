"""``python -m gateways`` is the ``gateways`` command."""

from gateways.cli import main

raise SystemExit(main())
