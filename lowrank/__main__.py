"""``python -m lowrank``: the lowrank command."""

import sys

from lowrank.cli import main

if __name__ == "__main__":
    sys.exit(main())
