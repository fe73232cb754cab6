"""Operations: what an operator reads about the runtime at work. ``journal`` writes the
structured JSON log lines (one per committed transition, one per problem, each carrying
the invocation's ids), ``metrics`` the CloudWatch embedded-metric counts, and
``invocation`` wraps one Lambda invocation so both carry its ids and are flushed once.
Every other part reports through here; it depends only on ``shared``. (The operator's
view of one instance, ``inspection``, reads instances and so sits with the entry points.)
"""

from __future__ import annotations

from . import invocation, journal, metrics

__all__ = ["invocation", "journal", "metrics"]
