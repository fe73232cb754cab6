"""The accept backlog of the local stack's servers.

Python's ``socketserver`` listens with a backlog of 5: a burst of connections past
that (a browser opens several at once, a demo room dozens) overflows the accept
queue and clients get "connection reset by peer". Every server the stack runs
listens with this backlog instead (the kernel caps it at ``net.core.somaxconn``).
"""

from __future__ import annotations

import socketserver

BACKLOG = 512


def widen_backlog(server: socketserver.TCPServer) -> None:
    """Listen again with ``BACKLOG`` on a server that is already listening (Linux and
    macOS apply the new backlog to the listening socket)."""
    server.request_queue_size = BACKLOG
    server.socket.listen(BACKLOG)
