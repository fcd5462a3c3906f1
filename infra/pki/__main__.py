"""`python -m infra.pki …` (see infra/pki/README.md)."""

from .cli import main

raise SystemExit(main())
