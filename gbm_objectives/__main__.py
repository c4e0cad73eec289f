"""``python -m gbm_objectives``: the ``gbm-objectives`` command line."""

from .cli import main

raise SystemExit(main())
