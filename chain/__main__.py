"""``python -m subnetes.chain ...`` runs the chain commands of the CLI."""

import sys

from .cli import main

sys.exit(main(sys.argv[1:]))
