"""Commit a decided transition, settling an ambiguous outcome: a commit whose result is
unknown is sent again as the very same request, and a refusal then is checked against
the history record of its version."""

from __future__ import annotations

import time

from .. import store
from ..shared import Unavailable


def commit_transition(write: store.Commit) -> None:
    """``store.commit``, settling an ambiguous outcome.

    A commit whose outcome is unknown is sent again, the same request with the same
    token (DynamoDB applies it once), until it answers; a refusal then may mean the first
    one was applied, which the history record of that version tells. Raises what
    ``store.commit`` raises for a commit that was not applied, and Unavailable saying the
    change may or may not have been stored when that record cannot be read.
    """
    unknown: Unavailable | None = None
    for attempt in range(3):
        try:
            store.commit(write)
            return
        except store.Ambiguous as error:
            unknown = error
            time.sleep(0.05 * 2**attempt)
        except Unavailable:
            if unknown is None:
                raise  # refused before anything was written
            time.sleep(0.05 * 2**attempt)  # a resend refused: the first may have applied
        except (store.ConflictError, store.DuplicateEvent, store.IdempotencyTaken) as refused:
            # also what an earlier send of this very commit, applied, leaves behind
            applied = committed(write)
            if applied:
                return
            if applied is None:  # an earlier send (ours or botocore's) may have been applied
                unknown = store.Ambiguous(f"{refused}; its history could not be read")
                break
            raise
    if committed(write):
        return
    why = unknown.message if unknown else "storage error"
    raise Unavailable(
        f"{why}; the change may or may not have been stored: retry with the same "
        "Idempotency-Key to have it applied once",
        changed="unknown",
    )


def committed(write: store.Commit) -> bool | None:
    """Whether the history record of the commit's version holds its token; None when it
    cannot be read (the outcome stays unknown)."""
    try:
        return store.committed_token(write.pk, write.version) == write.token
    except Unavailable:
        return None
