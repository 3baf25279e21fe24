"""`python -m describe_aloud.cli`: the same as the `describe-aloud` command."""
import sys

from describe_aloud.cli.main import main

sys.exit(main())
