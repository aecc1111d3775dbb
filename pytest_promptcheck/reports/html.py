"""The .html report: one self-contained page a reviewer opens from a CI artifact, offline.

The page is a fixed shell, the stylesheet and script from ``html_assets/``, and the run's data
as JSON in a ``<script type="application/json">`` block. Model text is only ever data: the JSON
escapes ``<``, ``>`` and ``&`` (no output can close the block), and the script builds the page
with ``textContent``. A Content-Security-Policy allows the one inline script by its hash and
no request of any kind, so a hostile output cannot load or run anything.
"""

from __future__ import annotations

import base64
import hashlib
import json
from functools import cache
from importlib import resources

from pytest_promptcheck.reports.base import ReportInput
from pytest_promptcheck.reports.html_data import report_data

_SHELL = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{csp}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>{title}</title>
<style>{css}</style>
</head>
<body>
<noscript><p class="noscript">This report is drawn by its inline script: allow JavaScript
for this file to see it. The data is in the page's promptcheck-data block.</p></noscript>
<main id="app"></main>
<script type="application/json" id="promptcheck-data">{data}</script>
<script>{js}</script>
</body>
</html>
"""


def render(report: ReportInput) -> str:
    data = report_data(report)
    totals = data["totals"]
    status = "pass" if data["verdict"]["ok"] else "FAIL"
    js = _asset("report.js")
    return _SHELL.format(
        csp=_policy(js),
        title=f"promptcheck: {status}, {totals['cases']} cases",
        css=_asset("report.css"),
        data=embedded_json(data),
        js=js,
    )


def embedded_json(data: object) -> str:
    """JSON that is inert inside a script element: no ``</script>``, no ``<!--``, no entity,
    and (ASCII only) no U+2028/2029 or lone surrogate to trip an encoder or a parser."""
    text = json.dumps(data, ensure_ascii=True, separators=(",", ":"), allow_nan=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _policy(js: str) -> str:
    digest = base64.b64encode(hashlib.sha256(js.encode("utf-8")).digest()).decode("ascii")
    return (
        "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
        f"script-src 'sha256-{digest}'; base-uri 'none'; form-action 'none'"
    )


@cache
def _asset(name: str) -> str:
    return (
        resources.files("pytest_promptcheck.reports.html_assets")
        .joinpath(name)
        .read_text(encoding="utf-8")
    )
