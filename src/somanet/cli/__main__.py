"""``python -m somanet.cli ...``: the same as the ``somanet`` command."""
import sys

from . import main

if __name__ == "__main__":
    sys.exit(main())
