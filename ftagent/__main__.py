"""``python -m ftagent`` is the same as the ``ftagent`` command."""

from ftagent.cli import main

raise SystemExit(main())
