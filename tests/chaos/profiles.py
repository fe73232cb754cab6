"""Schedule profiles: the knobs of a chaos run that decide what its actors do.

``DEFAULT`` is what ``make chaos`` runs: half its orders on order chart version 3
(pizzas as child workflows, ``v3_share``), whose bakes oven staff work by ``oven``.
``MONEY`` makes every order a delivered version 1 order with a complaint that is
approved (in full and in part, alternating, so every run has partial approvals),
REFUND publishes ambiguous more often and Payments staff slower: it reliably produces
held attempts, late settles and given-up refunds in a short run (the checker's teeth,
tests/chaos/test_teeth.py). A test derives others from them with
``dataclasses.replace`` (``PARENTS`` in tests/chaos/test_teeth_children.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from tests.chaos.faults import Rates


@dataclass(frozen=True, slots=True)
class Profile:
    name: str = "default"
    # orders
    every_order_delivered: bool = False  # no rejected, abandoned or cancelled order
    late_retry: float = 0.10  # a customer retries its first request long after
    twins: float = 0.05  # of keyed client requests are sent twice at once, with one key
    # complaints
    complaint_share: float = 0.35  # of the orders carry a complaint plan
    decisions: tuple[tuple[str, int], ...] = (("full", 4), ("partial", 3), ("reject", 3))
    alternate_full_and_partial: bool = False  # approvals only: order n even is partial
    ask: float = 0.35
    silent: float = 0.25
    withdraw: float = 0.1
    escalate: float = 0.2
    late_staff: float = 0.2  # staff try to decide an escalated complaint (refused: 403)
    too_much: float = 0.15
    race: float = 0.1
    bank_down: float = 0.1  # the bank declines every attempt of the complaint's refund
    # Payments staff, per refund attempt: settle it, decline it, or be slow (hold it
    # until a later attempt of its complaint is held too, or ``slow_seconds`` passed,
    # then settle the older one: a late settle)
    payments: tuple[tuple[str, int], ...] = (("settle", 3), ("decline", 3), ("slow", 4))
    slow_seconds: float = 8.0
    slow_settles: float = 0.8  # a slow attempt is then settled (else declined)
    # parents and children (issue 22): the share of orders started on chart version 3
    # (one pizza child workflow per item), and what oven staff do with each pizza's bakes
    v3_share: float = 0.5
    oven: tuple[tuple[str, int], ...] = (
        ("finish", 80), ("burn_once", 12), ("burn_twice", 4), ("slow", 4),
    )  # fmt: skip
    # faults
    rates: Rates | None = None  # None: Rates()

    def fault_rates(self) -> Rates:
        return self.rates or Rates()


DEFAULT = Profile()
MONEY = Profile(
    name="money",
    every_order_delivered=True,
    complaint_share=1.0,
    decisions=(("full", 1), ("partial", 1)),
    alternate_full_and_partial=True,
    ask=0.2,
    silent=0.0,
    withdraw=0.0,
    escalate=0.0,
    late_staff=0.0,
    too_much=0.1,
    race=0.0,
    bank_down=0.0,  # but every 4th order's (alternate_full_and_partial)
    payments=(("settle", 1), ("decline", 2), ("slow", 6)),
    slow_seconds=15.0,
    rates=Rates(ambiguous_refund=0.8),
    v3_share=0.0,  # version 1 orders only: the money cases are the complaint's
)
PROFILES = {p.name: p for p in (DEFAULT, MONEY)}
