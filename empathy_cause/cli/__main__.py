"""``python -m empathy_cause.cli``: the ``empathy-cause`` command."""

from .command import main

raise SystemExit(main())
