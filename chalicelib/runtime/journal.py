"""Structured JSON log lines: one per committed transition, one per notable failure."""

from __future__ import annotations

import json
import logging
from typing import Any

log = logging.getLogger("workflow")


def transition(**fields: Any) -> None:
    """Log one committed transition (workflow, instance, event, from, to, version, ms)."""
    log.info(json.dumps({"kind": "transition", **fields}, separators=(",", ":"), default=str))


def problem(message: str, **fields: Any) -> None:
    """Log something that went wrong but was handled (and what was done about it)."""
    log.warning(json.dumps({"kind": "problem", "message": message, **fields}, default=str))
