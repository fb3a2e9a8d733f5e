"""``python -m api.cli``: the ``ledger`` command."""

from api.cli.main import main

raise SystemExit(main())
