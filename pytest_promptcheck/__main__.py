"""``python -m pytest_promptcheck <command>``: the commands that run outside pytest.

Each command is a module whose ``main(argv) -> int`` runs it, imported only when called.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence

COMMANDS = {
    "cache": "pytest_promptcheck.cache_cli",
    "merge": "pytest_promptcheck.merge",
}
PROG = "python -m pytest_promptcheck"


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help"):
        print(_usage())
        return 0 if args else 2
    module = COMMANDS.get(args[0])
    if module is None:
        print(
            f"{PROG}: error: unknown command '{args[0]}'; use one of {', '.join(COMMANDS)}",
            file=sys.stderr,
        )
        return 2
    run = importlib.import_module(module).main
    return int(run(args[1:]))


def _usage() -> str:
    lines = [
        f"usage: {PROG} COMMAND [ARGS...]   ({PROG} COMMAND --help for its own)",
        "",
        "commands:",
    ]
    for name, module in COMMANDS.items():
        doc = importlib.import_module(module).__doc__ or ""
        summary = doc.strip().splitlines()[0].split(": ", 1)[-1] if doc.strip() else ""
        lines.append(f"  {name:8} {summary}")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
