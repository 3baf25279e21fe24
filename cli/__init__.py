"""Command-line subcommands. Each module has `register(subparsers)`; heavy imports happen inside `run`."""
