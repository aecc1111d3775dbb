"""Shared set-up for plugin runs against the loopback server."""

from __future__ import annotations

from tests.loopback import LoopbackServer, rules

TICKET_ANSWERS = {
    "refund": '{"queue": "billing", "urgent": false}',
    "crashes": '{"queue": "tech", "urgent": true}',
    "password": '{"queue": "tech", "urgent": false}',
    "outage": '{"queue": "tech", "urgent": true}',
    "invoice": '{"queue": "billing", "urgent": false}',
}
SUPPORT_ITEMS = 5


def serve_support_bot(server: LoopbackServer, **overrides: str) -> None:
    """The support-bot model answers every fixture ticket correctly unless overridden."""
    server.set_model("support-bot", rules({**TICKET_ANSWERS, **overrides}))
