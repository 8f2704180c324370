"""Command line: one command per DVC stage, plus the tools users run by hand.

One module per command group, each registering its commands on the shared
:data:`~summarizer.cli.app.app`; they are imported in the order ``--help`` lists them.
"""

from __future__ import annotations

import importlib

from summarizer.cli.app import app

COMMAND_MODULES = ("stages", "summarize", "registry", "scoring")
for _module in COMMAND_MODULES:
    importlib.import_module(f"{__name__}.{_module}")

__all__ = ["app"]
