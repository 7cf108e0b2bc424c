"""``python -m sim.cli``: the ``ccsim`` command."""

from sim.cli import main

raise SystemExit(main())
