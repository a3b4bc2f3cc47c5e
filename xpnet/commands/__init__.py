"""Subcommands of the ``xpnet`` command line (see ``xpnet.cli``)."""
