"""An owner's instances, newest first, a page at a time, with an opaque page token
(``GET /orders``: a customer's own orders). The store reads them from the ``owner``
index (``store.owners``); this turns them into outcomes and checks the caller's page
token and limit."""

from __future__ import annotations

import base64
import json
import re

from .. import store
from ..shared import BadRequest
from ..versions import Workflow, is_instance_id
from .instances import Outcome, instance_meta, restore

MAX_PAGE = 50
STAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")  # as clock.stamp writes it


def owned(
    workflow: Workflow, owner: str, limit: int, page: str | None
) -> tuple[list[Outcome], str | None]:
    """Up to ``limit`` (1-50) of ``owner``'s instances, newest first, from where the page
    token ``page`` says (None: the newest), and the token of the next page (None: no
    more). BadRequest for a limit out of range or a token this list did not make."""
    if not 1 <= limit <= MAX_PAGE:
        raise BadRequest(f"limit must be from 1 to {MAX_PAGE}, not {limit}")
    after = _page_start(workflow, page) if page is not None else None
    instances, following = store.owned(workflow.name, owner, limit, after)
    listed = []
    for instance in instances:
        instance_id = instance.pk.partition("#")[2]
        meta = instance_meta(instance_id, instance)
        listed.append(Outcome(workflow, instance_id, restore(workflow, instance), meta))
    token = None
    if following is not None:
        start = [following[0].partition("#")[2], following[1]]
        token = base64.urlsafe_b64encode(json.dumps(start).encode()).decode().rstrip("=")
    return listed, token


def _page_start(workflow: Workflow, token: str) -> tuple[str, str]:
    """The (instance key, creation time) a page token names; BadRequest otherwise. A
    token only says where to start: the query reads the caller's own partition."""
    bad = BadRequest("not a page token of this list: pass the 'next' of the page before")
    try:
        start = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (ValueError, UnicodeDecodeError):
        raise bad from None
    if not (
        isinstance(start, list)
        and len(start) == 2
        and all(isinstance(part, str) for part in start)
        and is_instance_id(start[0])
        and STAMP.fullmatch(start[1]) is not None
    ):
        raise bad
    return workflow.key(start[0]), start[1]
