"""Run a randomized fault schedule over many orders and check the whole history.

    python -m tests.chaos.run            # CHAOS_ORDERS (500), CHAOS_SEED (random),
                                         # CHAOS_DEPLOY (migrate, pinned or none),
                                         # CHAOS_PROFILE (default or money)

The seed fixes every actor's plan (what each customer does, each fault draw of each
invocation, each bus decision); the interleaving of threads is the machine's, so a
seed replays the same schedule, not always the same interleaving. A failing run
prints its seed and the complete history of each violating order.
"""

from __future__ import annotations

import functools
import os
import random
import resource
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from tests.chaos.actors import Caller, Customer, Staff, Sweeper
from tests.chaos.bus import Bus
from tests.chaos.checker import Checker, Violation, _state
from tests.chaos.complaints import (
    ComplainingCustomer,
    ComplaintStaff,
    Desk,
    PaymentsStaff,
    Till,
)
from tests.chaos.deploy import Deployer, QualityCheck
from tests.chaos.faults import COMMANDS, Crash, FaultInjector, Rates
from tests.chaos.history import History
from tests.chaos.parents import OvenStaff
from tests.chaos.profiles import DEFAULT, PROFILES, Profile
from tests.chaos.stack import QUEUES, Stack

PUMPS_PER_QUEUE = 2
# the pizzas' queue carries about five messages per pizza (start, oven slot, a bake's
# start and end, its report): twice the consumers, as its share of the work
PUMPS = {"PizzaEventsQueue": 4}
DEPLOYS = (None, "pinned", "migrate")
QUIET_ROUNDS = 80
WIND_DOWN_SECONDS = 120  # at most, after the customers: Payments settles what it holds


@dataclass(slots=True)
class Report:
    seed: int
    orders: int
    seconds: float
    violations: list[Violation]
    figures: dict[str, Any] = field(default_factory=dict)
    money: dict[str, Any] = field(default_factory=dict)  # money_counts, as numbers
    checker: Checker | None = None  # what the checker read (tests look at cases in it)
    dossiers: dict[str, str] = field(default_factory=dict)

    def table(self) -> str:
        width = max(len(k) for k in self.figures) + 2
        lines = [f"chaos run: seed {self.seed}, {self.orders} orders, {self.seconds:.1f} s"]
        lines += [f"  {k.ljust(width)}{v}" for k, v in self.figures.items()]
        return "\n".join(lines)

    def explain(self) -> str:
        if not self.violations:
            return f"0 violations (seed {self.seed})"
        lines = [f"{len(self.violations)} violations; reproduce with CHAOS_SEED={self.seed}"]
        lines += [f"- [{v.rule}] order {v.order}: {v.evidence}" for v in self.violations]
        for text in self.dossiers.values():
            lines += ["", text]
        return "\n".join(lines)


def _loop(step: Any, stop: threading.Event, history: History, name: str) -> None:
    while not stop.is_set():
        try:
            if not step():
                time.sleep(random.uniform(0.05, 0.2))  # idle: spare the serialised server
        except Crash:
            history.count(f"{name} crashed")
        except Exception as error:  # noqa: BLE001 - a harness bug: reported, run goes on
            history.add("harness_errors", f"{name}: {error!r}")
            time.sleep(0.01)


def run(
    orders: int,
    seed: int,
    rates: Rates | None = None,
    customers: int = 10,
    tail_seconds: float = 1.0,
    progress: Any = None,
    deploy: str | None = None,
    profile: Profile = DEFAULT,
) -> Report:
    """The whole schedule, its wind-down, quiescence, then the checker. ``deploy``: None
    (version 1 throughout), "pinned" or "migrate" (order chart version 2 deployed part
    way through, without or with the v1 -> v2 migration); ``profile``: what the actors
    do (tests/chaos/profiles.py); ``rates``: the faults (default: the profile's)."""
    if deploy not in DEPLOYS:
        raise ValueError(f"deploy: one of {DEPLOYS}, not {deploy!r}")
    started = time.time()
    injector = FaultInjector(seed, rates or profile.fault_rates())
    history = History()
    stack = Stack(injector)
    try:
        bus = Bus(stack, injector, history, profile)
        caller = Caller(stack, injector, history, profile)
        stop = threading.Event()
        work, lock = list(range(orders)), threading.Lock()
        threads = [
            threading.Thread(
                target=Customer(caller, seed, work, lock, profile).run, name=f"customer-{i}"
            )
            for i in range(min(customers, orders))
        ]
        background = []
        for queue in QUEUES:
            for i in range(PUMPS.get(queue, PUMPS_PER_QUEUE)):
                rng = random.Random(f"{seed}:pump:{queue}:{i}")
                step = functools.partial(bus.pump, queue, rng, True)
                background.append(threading.Thread(target=_loop, args=(step, stop, history, queue)))
        for station in ("kitchen", "delivery"):
            for i in range(2):
                staff = Staff(caller, station, random.Random(f"{seed}:staff:{station}:{i}"), stop)
                background.append(threading.Thread(target=staff.run))
        for i in range(2):
            oven = OvenStaff(caller, random.Random(f"{seed}:staff:oven:{i}"), stop, seed, profile)
            background.append(threading.Thread(target=oven.run))
        sweeper = Sweeper(stack, injector, history, random.Random(f"{seed}:sweeper"), stop)
        background.append(threading.Thread(target=sweeper.run))
        quality = QualityCheck(stack, injector, history)
        step = functools.partial(quality.step, random.Random(f"{seed}:quality"))
        background.append(threading.Thread(target=_loop, args=(step, stop, history, "quality")))
        desk = Desk(caller)
        people = complaint_people(desk)
        for name, person in people.items():
            step = functools.partial(person.step, random.Random(f"{seed}:{name}"))
            background.append(threading.Thread(target=_loop, args=(step, stop, history, name)))
        till = Till(seed, profile, history)
        for i in range(2):
            payments = PaymentsStaff(caller, random.Random(f"{seed}:payments:{i}"), stop, till)
            background.append(threading.Thread(target=payments.run))
        if deploy:
            rng = random.Random(f"{seed}:deploy")
            mixed = profile.v3_share > 0
            deployer = Deployer(stack, history, orders, deploy == "migrate", rng, stop, mixed)
            background.append(threading.Thread(target=deployer.run))
        for t in threads + background:
            t.daemon = True
            t.start()
        for t in threads:
            while t.is_alive():
                t.join(timeout=15)
                if progress and t.is_alive():
                    progress(
                        f"  {time.time() - started:5.0f} s  {orders - len(work)} orders started, "
                        f"{len(history.requests)} requests, {len(injector.faults)} faults"
                    )
        time.sleep(tail_seconds)
        wound = wind_down(stack, desk, till, time.time() + WIND_DOWN_SECONDS)
        if progress:
            progress(f"  {time.time() - started:5.0f} s  wound down: {wound}")
        stop.set()
        for t in background:
            t.join(timeout=30)
        injector.enabled = False
        if deploy and not history.deploys:
            history.add("harness_errors", "the deploy never happened")
        schedule_done = time.time()
        if progress:
            progress(f"  {schedule_done - started:5.0f} s  schedule done; quiescence (faults off)")
        oven = OvenStaff(caller, random.Random(0), threading.Event(), seed, profile)
        quiesce(stack, bus, caller, history, [quality, *people.values()], till, oven)
        if stack.unhooked_clients():
            history.add("harness_errors", "the runtime made boto3 clients the injector missed")
        quiet = time.time()
        if progress:
            progress(f"  {quiet - started:5.0f} s  quiet; checking the history")
        checker = Checker(stack, history, injector)
        violations = checker.check()
        report = Report(seed, orders, time.time() - started, violations)
        report.figures = {
            "seconds: schedule / quiescence / check": (
                f"{schedule_done - started:.1f} / {quiet - schedule_done:.1f} / "
                f"{time.time() - quiet:.1f}"
            ),
            "peak memory (RSS of the process)": f"{peak_rss_mb():.0f} MB",
            "profile": profile.name,
            "wind-down": wound,
            **figures(history, injector, checker, till),
        }
        report.money, report.checker = money_counts(injector, checker, till), checker
        for order in dict.fromkeys(v.order for v in violations if v.order):
            report.dossiers[order] = checker.dossier(order)
        return report
    finally:
        stack.close()


def peak_rss_mb() -> float:
    """The most memory the process has held so far (peak resident set size), in MB."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 2**10  # bytes / KiB


def complaint_people(desk: Desk) -> dict[str, Any]:
    """Everyone who acts on complaints, by name (each runs in its own thread)."""
    return {
        "complaining customers": ComplainingCustomer(desk),
        "complaint staff a": ComplaintStaff(desk, name="a"),
        "complaint staff b": ComplaintStaff(desk, name="b"),
        "manager": ComplaintStaff(desk, manager=True, name="m"),
    }


def wind_down(stack: Stack, desk: Desk, till: Till, until: float) -> str:
    """After the customers, everyone goes on (faults on) until every complaint of a
    delivered order has ended and Payments holds no refund attempt (held attempts
    settled, declined or cancelled as the staff's plans say, not swept up by
    quiescence), or ``until``."""
    token, start = stack.staff_token, time.time()
    while True:
        held = stack.http("GET", "/payments/refunds", token)
        waiting = len(held.body["refunds"]) if held.status == 200 else -1
        open_ = len(desk.planned())  # delivered, with a complaint plan, not ended
        if waiting == 0 and open_ == 0:
            return f"{time.time() - start:.1f} s, nothing held"
        if time.time() >= until:
            refunds = held.body["refunds"] if held.status == 200 else []
            plans = [
                f"{w['refundId'][:8]}.{w['attempt']} {till.plan(w['refundId'])}" for w in refunds
            ]
            states = []
            for order, _ in desk.planned()[:5]:
                view = stack.http("GET", f"/orders/{order}/complaint", token)
                state = view.body.get("state", "-") if isinstance(view.body, dict) else "-"
                states.append(f"{order[:8]} {view.status} {_state(state)}")
            return (
                f"{time.time() - start:.1f} s, stopped: {waiting} attempts held {plans[:5]}, "
                f"{open_} complaints not ended {states}"
            )
        time.sleep(0.5)


def quiesce(
    stack: Stack, bus: Bus, caller: Caller, history: History, people: list[Any], till: Till,
    oven: OvenStaff | None = None,
) -> None:  # fmt: skip
    """Faults off: release what the bus holds, deliver every queue, sweep, let staff
    finish what they hold (not what they abandoned), let the quality check approve what
    waits for it (not what it forgets) and complaints go on as planned, and when nothing
    else moves let the clock run so every timer fires; until nothing moves at all
    (bounded)."""
    rng = random.Random(0)
    token = stack.staff_token
    for _ in range(QUIET_ROUNDS):
        moved = 0
        for queue in QUEUES:
            for _ in range(500):
                n = bus.pump(queue, rng, chaos=False)
                moved += n
                if not n and not stack.visible(queue):
                    break
        with caller.injector.scope("sweeper (quiescence)", rng, allow=False):
            moved += stack.sweep()
        for staff in (
            Staff(caller, "kitchen", rng, threading.Event()),
            Staff(caller, "delivery", rng, threading.Event()),
            PaymentsStaff(caller, rng, threading.Event(), till),
        ):
            for work in staff.held(token):
                staff.finish(work, token, rng)
                moved += 1
        if oven is not None:
            moved += oven.finish_all(token, rng)
        for person in people:
            moved += person.step(rng, chaos=False)
        if not moved:
            if stack.in_flight():  # a failed message waits out its visibility timeout
                time.sleep(1)
                continue
            if not bus.waiting():
                return
            moved += bus.release("TimersQueue", held=True, timers=True)
    history.add("harness_errors", f"no quiescence after {QUIET_ROUNDS} rounds")


def figures(
    history: History, injector: FaultInjector, checker: Checker, till: Till
) -> dict[str, Any]:
    requests = [r for r in history.requests if r.kind != "LIST"]
    kinds = Counter(f.kind for f in injector.faults)
    bad_orders = {v.order for v in checker.violations}
    ambiguous = [f for f in injector.faults if f.kind == "apply_then_fail"]
    recovered = sum(
        1 for f in ambiguous if f.order not in bad_orders and (f.order or not checker.violations)
    )
    outcomes = Counter()
    for view in checker.views.values():
        state = _state(view["state"])
        reason = (view.get("status") or "").removeprefix("Order cancelled: ").rstrip(".")
        outcomes[state if state != "cancelled" else f"cancelled: {reason[:40]}"] += 1
    rules = Counter(v.rule for v in checker.violations)
    counts = history.counts
    return {
        "orders": len(checker.views),
        "outcomes": ", ".join(f"{k} {n}" for k, n in outcomes.most_common()),
        "client requests": len(requests),
        "attempts (incl. retries)": sum(len(r.attempts) for r in requests),
        "adapter calls": sum(injector.calls.values()),
        "faults injected": len(injector.faults),
        "  fail before applying": kinds["fail_before"],
        "  throttled": kinds["throttle"],
        "  apply then fail (ambiguous)": kinds["apply_then_fail"],
        "  crashes between calls": kinds["crash"],
        "  command publish outages": kinds["outage"],
        "ambiguous outcomes recovered": f"{recovered} of {len(ambiguous)}",
        "5xx answers saying the outcome is unknown": counts.get(
            "5xx saying the outcome is unknown", 0
        ),
        "dropped connections / client timeouts": (
            f"{counts.get('dropped connections', 0)} / {counts.get('client timeouts', 0)}"
        ),
        "retries after 5xx/409": counts.get("retries after 5xx/409", 0),
        "twins (one key, sent twice at once)": counts.get("twins (one key, sent twice at once)", 0),
        "SQS redeliveries": counts.get("redelivered", 0),
        "bus: duplicated / held back / late copies": (
            f"{counts.get('duplicated', 0)} / {counts.get('held back', 0)} / "
            f"{counts.get('late copies', 0)}"
        ),
        "sweeps (crashed, failed)": (
            f"{counts.get('sweeps', 0)} ({counts.get('sweeps crashed', 0)}, "
            f"{counts.get('sweeps failed', 0)})"
        ),
        "staff races / double finishes": (
            f"{counts.get('staff races', 0)} / {counts.get('staff double finishes', 0)}"
        ),
        "same work item finished 2xx twice (racing staff)": counts.get(
            "finishes answered 2xx more than once (one work item)", 0
        ),
        "timers fired / delivered early": (
            f"{counts.get('timers fired', 0)} / {counts.get('timers delivered early', 0)}"
        ),
        "commands published more than once (stations drop copies)": sum(
            1
            for n in Counter(p.id for p in injector.published if p.type in COMMANDS).values()
            if n > 1
        ),
        "poison messages": len(history.poison),
        "orders planned on version 3 (pizzas as children)": sum(
            1 for f in history.fates.values() if f.get("v3")
        ),
        **(checker.family.figures() if hasattr(checker, "family") else {}),
        "oven staff races / double finishes": (
            f"{counts.get('oven staff races', 0)} / {counts.get('oven staff double finishes', 0)}"
        ),
        **deploy_figures(history, checker),
        **complaint_figures(history, injector, checker, till),
        "violations": len(checker.violations),
        **{f"  {rule}": n for rule, n in rules.most_common()},
    }


def deploy_figures(history: History, checker: Checker) -> dict[str, Any]:
    """What the deploy did: when, what was in flight, orders per version, migrations,
    quality checks (empty without a deploy)."""
    if not history.deploys:
        return {}
    deploy = history.deploys[0]
    paths: Counter[str] = Counter()
    migrations = approved = timed_out = 0
    for hist in checker.histories.values():
        numbers = [h.get("definition") for h in hist]
        if numbers:
            paths[" -> ".join(f"v{n}" for n in dict.fromkeys(numbers))] += 1
        migrations += sum(1 for h in hist if h.get("migratedFrom") is not None)
        approved += sum(1 for h in hist if h["eventType"] == "QUALITY_APPROVED")
        timed_out += sum(1 for h in hist if "qualityTimeout" in h["eventType"])
    counts = history.counts
    return {
        "deploy": (
            f"version 2 {'with the v1 -> v2 migration' if deploy.migrate else 'pinned'}, "
            f"after {deploy.placed} orders placed"
        ),
        "  in flight at the deploy": ", ".join(f"{s} {n}" for s, n in deploy.in_flight.items())
        or "none",
        "  orders per version": ", ".join(f"{k} {n}" for k, n in sorted(paths.items())),
        "  migrations recorded": migrations,
        "  quality checks approved / timed out": f"{approved} / {timed_out}",
        "  approvals sent / again / stray / failed": (
            f"{counts.get('quality approvals sent', 0)} / "
            f"{counts.get('quality approvals sent again (new id)', 0)} / "
            f"{counts.get('quality approvals sent (stray)', 0)} / "
            f"{counts.get('quality approvals failed to publish', 0)}"
        ),
    }


def complaint_figures(
    history: History, injector: FaultInjector, checker: Checker, till: Till
) -> dict[str, Any]:
    """Complaints: how many, how they ended, escalations, refunds and their retries."""
    if not checker.complaints:
        return {"complaints": 0}
    ends = Counter(_state(v["state"]) for v in checker.complaints.values())
    hists = checker.complaint_histories.values()
    escalated = sum(1 for h in hists if any("escalated" in str(r.get("to")) for r in h))
    by_manager = sum(
        1 for v in checker.complaints.values() if (v.get("decision") or {}).get("role") == "manager"
    )
    refunds = {p.id for p in injector.published if p.type == "REFUND"}
    failed = sum(1 for h in hists for r in h if r["eventType"] == "REFUND_FAILED")
    statuses = Counter(
        (r.kind, r.final.status)
        for r in history.requests
        if r.kind.endswith("COMPLAINT") and r.final
    )
    return {
        "complaints": f"{len(checker.complaints)} opened; "
        + ", ".join(f"{k} {n}" for k, n in ends.most_common()),
        "  escalated / decided by a manager": f"{escalated} / {by_manager}",
        "  refund commands / REFUND_FAILED applied": f"{len(refunds)} / {failed}",
        "  staff refused after escalation (403)": statuses[("DECIDE_COMPLAINT", 403)],
        "  refunds over the total refused (400)": statuses[("DECIDE_COMPLAINT", 400)],
        "  decision races": history.counts.get("complaint decision races", 0),
        **money_figures(injector, checker, till),
    }


def money_figures(injector: FaultInjector, checker: Checker, till: Till) -> dict[str, Any]:
    """What the schedule made of money (issue 19): ambiguous REFUND publishes and the
    commands given up after them, complaints with two attempts or more held at Payments
    at once, late settles, complaints that reached ``givingUp`` and how they ended."""
    return {f"  {k}": v for k, v in money_counts(injector, checker, till).items()}


def money_counts(injector: FaultInjector, checker: Checker, till: Till) -> dict[str, Any]:
    """The money figures as numbers (tests assert on them)."""
    sent: dict[str, dict[int, float]] = {}  # complaint -> attempt -> first publish
    paid_at: dict[str, float] = {}  # refund id -> first REFUND_SUCCEEDED
    for p in injector.published:
        data = p.data if isinstance(p.data, dict) else {}
        if p.type == "REFUND" and p.subject and isinstance(data.get("attempt"), int):
            sent.setdefault(p.subject, {}).setdefault(data["attempt"], p.at)
        elif p.type == "REFUND_SUCCEEDED" and data.get("refundId"):
            paid_at.setdefault(str(data["refundId"]), p.at)
    late = 0
    for complaint, paid in checker.ledger.items():
        if paid.startswith("!") or paid not in paid_at:
            continue
        number = int(paid.rsplit(".", 1)[-1])
        later = [at for n, at in sent.get(complaint, {}).items() if n > number]
        late += any(at < paid_at[paid] for at in later)  # settled after a later one went out
    hists = checker.complaint_histories
    given_up = {o for o, h in hists.items() if any("givingUp" in str(r.get("to")) for r in h)}
    failed = sum(
        1 for h in hists.values() for r in h if r["eventType"] == "xstate.error.actor.sendRefund"
    )
    views = checker.complaints
    ends = Counter(_state(views[o]["state"]) for o in given_up if o in views)
    return {
        "ambiguous REFUND publishes": injector.ambiguous_refunds,
        "  of REFUND commands": len(injector.ambiguous_refund_ids),
        "REFUND commands given up (then retried or givingUp)": failed,
        "held attempts (complaints with 2+ attempts at Payments at once)": len(till.doubles),
        "late settles (an attempt paid after a later one was sent)": late,
        "givingUp reached": len(given_up),
        "  then refundFailed / refunded (late)": (
            f"{ends.get('refundFailed', 0)} / {ends.get('refunded', 0)}"
        ),
        "given up, Payments cancelled": sum(r == "!cancelled" for r in checker.ledger.values()),
    }


def main() -> int:
    orders = int(os.environ.get("CHAOS_ORDERS", "500"))
    deploy = os.environ.get("CHAOS_DEPLOY") or "migrate"
    deploy = None if deploy == "none" else deploy
    seed = int(os.environ.get("CHAOS_SEED") or random.SystemRandom().randrange(1, 10**9))
    profile = PROFILES[os.environ.get("CHAOS_PROFILE") or "default"]
    print(
        f"chaos: {orders} orders, seed {seed}, profile {profile.name} "
        f"(CHAOS_SEED={seed} CHAOS_PROFILE={profile.name} reproduces it)",
        flush=True,
    )
    report = run(
        orders,
        seed,
        tail_seconds=2.0,
        progress=lambda line: print(line, flush=True),
        deploy=deploy,
        profile=profile,
    )
    print(report.table())
    print(report.explain())
    return 1 if report.violations else 0


if __name__ == "__main__":
    sys.exit(main())
