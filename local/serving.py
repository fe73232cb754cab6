"""The accept backlog of the local stack's servers.

Python's ``socketserver`` listens with a backlog of 5: a burst of connections past
that (a browser opens several at once, a demo room dozens) overflows the accept
queue and clients get "connection reset by peer". Every server the stack runs
listens with this backlog instead (the kernel caps it at ``net.core.somaxconn``).
"""

from __future__ import annotations

import socketserver
import threading

BACKLOG = 512


def widen_backlog(server: socketserver.TCPServer) -> None:
    """Listen again with ``BACKLOG`` on a server that is already listening (Linux and
    macOS apply the new backlog to the listening socket)."""
    server.request_queue_size = BACKLOG
    server.socket.listen(BACKLOG)


# how long a server's loop may take to notice shutdown(): socketserver's default of 0.5 s,
# paid once per server, made stopping the stack take well over a second
POLL_SECONDS = 0.05


def serve_in_thread(server: socketserver.BaseServer, name: str) -> threading.Thread:
    """A daemon thread (not started) that serves ``server`` until ``server.shutdown()``,
    which then returns within ``POLL_SECONDS``."""
    return threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": POLL_SECONDS}, name=name, daemon=True
    )
