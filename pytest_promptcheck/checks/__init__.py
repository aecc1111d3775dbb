"""Checks (DESIGN §3): the registry that compiles ``expect:`` entries (registry.py), the check
API (api.py) and the built-ins by kind: text, json, schema, budget, python (builtins.py lists
them). Nothing is imported here, so the check API loads without the built-ins' dependencies."""
