"""``python -m plainnet``: the command line (with no command, the tutorial's demo)."""

import sys

from .cli import main

sys.exit(main())
