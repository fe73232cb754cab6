"""The checker's teeth: each rule family fires when the REAL schedule (a short
``tests.chaos.run.run``) runs against a deliberately broken runtime, a mutant applied
with monkeypatch for that run only; and the same schedule without a mutant reports no
violation (``test_the_money_schedule_produces_its_cases_and_no_violation``).

Each test first asserts that its case occurred in the run (held attempts, late retries,
twins, escalations...), so a change of seed or schedule cannot make it pass vacuously,
then that the expected rule is among the violations. The runs are slow (60-80 s each,
40-55 s of CPU, under load): they are marked ``chaos_teeth``; ``make chaos-teeth`` runs
them all, ``make test`` only the ones also marked ``teeth_in_suite`` (tests/conftest.py
skips the others unless CHAOS_TEETH=1).
"""

from __future__ import annotations

import dataclasses
import importlib
import os
from collections.abc import Callable
from types import ModuleType
from typing import Any

import pytest

from tests.chaos.profiles import MONEY, Profile
from tests.chaos.run import Report, run

pytestmark = pytest.mark.chaos_teeth
ORDERS = int(os.environ.get("CHAOS_TEETH_ORDERS", "12"))
SEED = int(os.environ.get("CHAOS_TEETH_SEED", "20261203"))


def _run(profile: Profile = MONEY, deploy: str | None = None, orders: int = ORDERS) -> Report:
    report = run(orders, SEED, tail_seconds=0.3, deploy=deploy, profile=profile)
    print(report.table())
    return report


def _rules(report: Report) -> set[str]:
    return {v.rule for v in report.violations}


def _fires(report: Report, rule: str) -> None:
    assert rule in _rules(report), f"{rule!r} did not fire\n{report.explain()[:4000]}"


def _module(*names: str) -> ModuleType:
    """The first of ``names`` that imports: the runtime's flat modules move into
    sub-packages (issue 22), the mutants patch the same functions in either layout."""
    for name in names:
        try:
            return importlib.import_module(name)
        except ImportError:
            continue
    raise ImportError(f"none of {names}")


# the mutants ----------------------------------------------------------------------
def pay_twice(monkeypatch: pytest.MonkeyPatch) -> None:
    """Payments' pay-once rule off: each attempt is paid on its own, and settling one
    closes none of its siblings."""
    from chalicelib.stations.payments import PAYMENTS, Payments
    from chalicelib.stations.station import Station

    monkeypatch.setattr(PAYMENTS, "once_per_subject", False)
    monkeypatch.setattr(Payments, "_finishing", Station._finishing)


def pay_over_the_approval(monkeypatch: pytest.MonkeyPatch) -> None:
    """The REFUND builder asks Payments for one cent more than was approved."""
    from chalicelib.registry import WORKFLOWS
    from chalicelib.runtime import Command

    complaints = WORKFLOWS["complaint"]
    real = complaints.commands["refundAtPayments"]

    def more(ctx: Any, given: Any) -> dict[str, Any]:
        data = real.data(ctx, given)
        return {**data, "amount": data["amount"] + 1}

    monkeypatch.setitem(complaints.commands, "refundAtPayments", Command("REFUND", more))


def answer_retries_with_the_current_view(monkeypatch: pytest.MonkeyPatch) -> None:
    """A keyed retry is answered with the instance as it is now, not the stored answer."""
    module = _module("chalicelib.runtime.core.idempotency", "chalicelib.runtime.orchestrator")
    name = "first_answer" if hasattr(module, "first_answer") else "_replay"
    real = getattr(module, name)

    def current(*args: Any, **kwargs: Any) -> Any:
        return dataclasses.replace(real(*args, **kwargs), response=None)

    orchestrator = _module(
        "chalicelib.runtime.core.orchestrator", "chalicelib.runtime.orchestrator"
    )
    for holder in {module, orchestrator}:  # every module that calls it by this name
        if getattr(holder, name, None) is real:
            monkeypatch.setattr(holder, name, current)


def no_key_recheck(monkeypatch: pytest.MonkeyPatch) -> None:
    """A keyed twin refused (or losing its race) after the first committed is answered
    with the refusal: the key is not looked up again (issue 19, High 2 undone)."""
    orchestrator = _module(
        "chalicelib.runtime.core.orchestrator", "chalicelib.runtime.orchestrator"
    )
    real = orchestrator._apply

    def apply(workflow, instance_id, incoming, create=None, owner=None):
        if orchestrator._deadline.get() is None:  # the outermost call: its time budget
            return real(workflow, instance_id, incoming, create, owner)
        first = orchestrator.answered(workflow, instance_id, incoming, create is not None)
        if first is not None:
            return first
        return orchestrator._decide_and_commit(workflow, instance_id, incoming, create, owner)

    monkeypatch.setattr(orchestrator, "_apply", apply)


def staff_decide_escalated(monkeypatch: pytest.MonkeyPatch) -> None:
    """The complaint chart's ``byManager`` guard admits plain staff too."""
    from chalicelib.statechart import algorithm

    real = algorithm.evaluate_guard

    def lax(guard: Any, work: Any, event: Any) -> bool:
        if guard.kind == "named" and guard.name == "byManager":
            return event.get("role") in ("staff", "manager")
        return real(guard, work, event)

    monkeypatch.setattr(algorithm, "evaluate_guard", lax)


def strand_an_invoke(monkeypatch: pytest.MonkeyPatch) -> None:
    """Order chart version 2 drops its invokes' ``onError``, and the migration check feeds
    active invokes only their done event (issue 19, Medium 6 undone): version 1 orders
    migrate onto a chart where a given-up command is never compensated."""
    from chalicelib.orders import versions as order_versions
    from chalicelib.runtime import Workflow

    versions = _module("chalicelib.runtime.versions.versions", "chalicelib.runtime.versions")

    real_workflow, real_fed = order_versions.order_workflow_v2, versions._fed

    def without_on_error(node: Any) -> Any:
        if isinstance(node, dict):
            return {k: without_on_error(v) for k, v in node.items() if k != "onError"}
        if isinstance(node, list):
            return [without_on_error(v) for v in node]
        return node

    def broken(timing: Any = None, migrate: bool = True) -> Workflow:
        good = real_workflow(timing, migrate)
        machine = good.machine
        chart = without_on_error(machine.config)
        from chalicelib.statechart import Machine

        stranded = Machine(
            chart, actions=machine.actions, guards=machine.guards, delays=machine.delays
        )
        return Workflow(
            "order", stranded, good.client_events, good.bus_events, good.commands,
            good.view, version=2, migration=good.versions.get(2).migration,
            previous=[good.versions.get(1)], worklist=good.worklist, concurrency=good.concurrency,
        )  # fmt: skip

    def done_only(timers: Any, invokes: Any) -> list[tuple[dict[str, Any], str]]:
        return [e for e in real_fed(timers, invokes) if not e[0]["type"].startswith("xstate.error")]

    monkeypatch.setattr(order_versions, "order_workflow_v2", broken)
    monkeypatch.setattr(versions, "_fed", done_only)


def lose_a_command(monkeypatch: pytest.MonkeyPatch) -> None:
    """The outbox drops DELIVER_PIZZA: reported sent, never published."""
    bus = _module("chalicelib.runtime.messaging.bus", "chalicelib.runtime.bus")

    real = bus.publish

    def publish(event: Any) -> str:
        if event.get("type") == "DELIVER_PIZZA":
            return "lost"
        return real(event)

    monkeypatch.setattr(bus, "publish", publish)


def commit_without_history(monkeypatch: pytest.MonkeyPatch) -> None:
    """An order's second commit writes its history record under another key."""
    store = _module("chalicelib.runtime.store.transaction", "chalicelib.runtime.store")

    real = store._history_item

    def history_item(write: Any) -> dict[str, Any]:
        record = real(write)
        if write.pk.startswith("order#") and write.version == 2:
            record["sk"] = {"S": f"lost#{write.version:010d}"}
        return record

    monkeypatch.setattr(store, "_history_item", history_item)


# what each run must have produced -----------------------------------------------------
def held_attempts(report: Report) -> bool:
    return report.money["held attempts (complaints with 2+ attempts at Payments at once)"] > 0


def paid(report: Report) -> bool:
    return any(not r.startswith("!") for r in report.checker.ledger.values())


def late_retries(report: Report) -> bool:
    return report.checker.history.counts.get("late retries", 0) > 0


def twins(report: Report) -> bool:
    return report.checker.history.counts.get("twins (one key, sent twice at once)", 0) > 0


def escalated(report: Report) -> bool:
    hists = report.checker.complaint_histories.values()
    return any("escalated" in str(r.get("to")) for h in hists for r in h)


def migrated(report: Report) -> bool:
    hists = report.checker.histories.values()
    return any(r.get("migratedFrom") is not None for h in hists for r in h)


def delivered(report: Report) -> bool:
    return any(
        r["eventType"].startswith("xstate.done.actor.sendOrderToDelivery")
        for h in report.checker.histories.values()
        for r in h
    )


def committed(report: Report) -> bool:
    return any(len(h) >= 2 for h in report.checker.histories.values())


RETRYING = dataclasses.replace(MONEY, name="retrying", late_retry=1.0)
TWINS = dataclasses.replace(MONEY, name="twins", twins=0.5)
ESCALATING = dataclasses.replace(MONEY, name="escalating", escalate=1.0, late_staff=1.0)
OUTAGES = dataclasses.replace(
    MONEY, name="outages", rates=dataclasses.replace(MONEY.fault_rates(), outage=0.4)
)
Case = tuple[Callable[..., None], str, Profile, str | None, Callable[[Report], bool]]
MUTANTS: list[Case] = [  # mutant, the rule that must fire, profile, deploy, the case
    (pay_twice, "a refund succeeds once", MONEY, None, held_attempts),
    (pay_over_the_approval, "never paid over the approved amount", MONEY, None, paid),
    (answer_retries_with_the_current_view, "a retry gets the first answer", RETRYING, None,
     late_retries),
    (no_key_recheck, "twins with one key get one answer", TWINS, None, twins),
    (staff_decide_escalated, "an escalated complaint is decided by a manager", ESCALATING, None,
     escalated),
    (strand_an_invoke, "ends done or cancelled", OUTAGES, "migrate", migrated),
    (lose_a_command, "command published before its send completed", MONEY, None, delivered),
    (commit_without_history, "history versions contiguous", MONEY, None, committed),
]  # fmt: skip


@pytest.mark.parametrize(
    ("mutant", "rule", "profile", "deploy", "occurred"),
    [pytest.param(*m, id=m[0].__name__) for m in MUTANTS],
)
def test_a_broken_runtime_breaks_a_rule_on_the_real_schedule(
    monkeypatch, mutant, rule, profile, deploy, occurred
):
    mutant(monkeypatch)
    report = _run(profile, deploy)
    assert occurred(report), f"the run never produced the case ({occurred.__name__})"
    _fires(report, rule)


@pytest.mark.teeth_in_suite
def test_the_money_schedule_produces_its_cases_and_no_violation():
    report = _run()
    money = report.money
    approved = [
        (v["decision"]["amount"], v["orderTotal"])
        for v in report.checker.complaints.values()
        if (v.get("decision") or {}).get("decision") == "approve"
    ]
    assert any(amount < total for amount, total in approved), f"no partial approval: {approved}"
    assert money["ambiguous REFUND publishes"] > 0
    assert held_attempts(report), report.table()
    assert money["givingUp reached"] > 0, report.table()
    assert not report.violations, report.explain()
