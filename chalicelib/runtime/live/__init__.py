"""Live updates: websocket clients following an instance. ``connections`` keeps one
record per connection with a TTL (and the instance's watcher count, so a commit looks
for followers only when there are some); ``broadcast`` pushes a JSON document to
API Gateway websocket connections and reports the ones that are gone; ``feeds`` announce
to listeners (the staff board hears work arrive and leave). The core pushes
each committed view through here; connecting and disconnecting (``follow``) reads
instances and lives in ``entrypoints``. Builds on ``store`` and ``shared``.
"""

from __future__ import annotations

from . import broadcast, connections, feeds

__all__ = ["broadcast", "connections", "feeds"]
