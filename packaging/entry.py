"""The bundle's entry point: which command runs is chosen by atrap_studio/launcher.py."""

import sys

from atrap_studio.launcher import main

if __name__ == "__main__":
    sys.exit(main())
