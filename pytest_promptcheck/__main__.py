"""``python -m pytest_promptcheck SUBCOMMAND ...``: commands that run outside a pytest run.

Each subcommand is a module whose ``main(argv) -> int`` runs it, imported only when named.
"""

from __future__ import annotations

import importlib
import sys

COMMANDS = {
    "cache": "pytest_promptcheck.cache_cli",
}


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if not args or args[0] in ("-h", "--help"):
        print("usage: python -m pytest_promptcheck {" + ",".join(COMMANDS) + "} ...")
        print("subcommands: " + ", ".join(COMMANDS) + " (each has --help)")
        return 0 if args else 2
    module = COMMANDS.get(args[0])
    if module is None:
        known = ", ".join(COMMANDS)
        print(
            f"python -m pytest_promptcheck: unknown subcommand {args[0]!r} (one of {known})",
            file=sys.stderr,
        )
        return 2
    return int(importlib.import_module(module).main(args[1:]))


if __name__ == "__main__":
    sys.exit(main())
