"""`python -m crayon_bridge`: the same as the `crayon-bridge` command."""

from .cli import main

raise SystemExit(main())
