"""Describe Aloud from a source checkout: `python main.py` starts the app, `python main.py --help` lists the
commands. Installed, the same program is the `describe-aloud` command (see cli/main.py)."""
import sys

from describe_aloud.cli.main import main

if __name__ == "__main__":
    sys.exit(main())
