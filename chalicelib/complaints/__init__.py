"""The complaint workflow: a customer's complaint about a delivered order, its review by
staff (and a manager when it is late), a conversation with the customer, and the refund
through the Payments service."""

from . import service
from .versions import complaint_workflow
from .workflow import (
    COMPLAINT_CHART,
    Timing,
    complaint_machine,
    complaint_view,
)

__all__ = [
    "COMPLAINT_CHART",
    "Timing",
    "complaint_machine",
    "complaint_view",
    "complaint_workflow",
    "service",
]
