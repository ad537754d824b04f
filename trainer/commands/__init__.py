"""One module a subcommand group; each exposes `register(subparsers)`."""
