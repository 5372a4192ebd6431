"""``python -m subnetes``: the ``subnetes`` command line."""

import sys

from subnetes.cli import main

sys.exit(main())
