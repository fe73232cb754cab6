"""The web console: customer page, order tracker, staff board and instance inspector,
served by the app itself (app.py registers ``web``). The pages use the public HTTP API
and websocket only."""

from .routes import web

__all__ = ["web"]
