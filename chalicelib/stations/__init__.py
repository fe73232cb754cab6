"""The stub services on the bus: Kitchen, Oven, Delivery and Payments take commands from
their queues, hold the work until staff (or the local stack's automatic mode) finish it,
and report back. They are services of their own, not part of any workflow domain."""

from . import service
from .oven import OVEN
from .payments import PAYMENTS, STATIONS
from .station import DELIVERY, KITCHEN, Station

__all__ = ["DELIVERY", "KITCHEN", "OVEN", "PAYMENTS", "STATIONS", "Station", "service"]
