"""Entry point: ``python -m bench``. Everything Django-related is imported only after the
benchmark's database URL is in the environment (see bench.environment)."""

from bench.cli import main

raise SystemExit(main())
