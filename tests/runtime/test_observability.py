"""What an operator reads: the JSON log lines (correlation ids on each) and the EMF
metric documents the runtime writes to stdout, captured and parsed as CloudWatch would."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from chalicelib import runtime
from chalicelib.orders.models import NoPayload
from chalicelib.runtime import (
    BUS,
    CLIENT,
    Command,
    Incoming,
    Unavailable,
    Workflow,
    bus,
    clients,
    intake,
    journal,
    metrics,
    store,
    sweeper,
)
from chalicelib.runtime import timers as durable
from chalicelib.statechart import Machine

ROOT = Path(__file__).resolve().parents[2]
NAMESPACE = "TropicalPizzas"

JOBS = {
    "id": "jobs",
    "initial": "idle",
    "states": {
        "idle": {"on": {"GO": "busy", "WAIT": "waiting"}},
        "busy": {"invoke": {"id": "job", "src": "job", "onDone": "ok"}},
        "waiting": {"after": {"60000": "late"}, "on": {"GO": "ok"}},
        "late": {},
        "ok": {},
    },
}


def _jobs() -> Workflow:
    return Workflow(
        "jobs", Machine(JOBS), {"GO": NoPayload, "WAIT": NoPayload}, {"DONE": NoPayload},
        {"job": Command("JOB", lambda c, i: {})},
        lambda snapshot, meta: {"state": snapshot.value, "version": meta["version"]},
    )  # fmt: skip


def _start(wf: Workflow, instance_id: str, event: str = "WAIT") -> runtime.Outcome:
    incoming = Incoming({"type": event}, f"{instance_id}.start", CLIENT)
    return runtime.start(wf, instance_id, "alice", {}, incoming)


def _lines(capsys) -> list[dict[str, Any]]:
    """Every JSON object written to stdout since the last call."""
    parsed = []
    for line in capsys.readouterr().out.splitlines():
        if line.startswith("{"):
            parsed.append(json.loads(line))
    return parsed


def _logs(lines: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [line for line in lines if line.get("kind") == kind]


def _metric(lines: list[dict[str, Any]], name: str) -> list[dict[str, Any]]:
    """The EMF documents that carry ``name``, checked against the EMF schema's shape."""
    found = []
    for doc in lines:
        if "_aws" not in doc or name not in doc:
            continue
        (directive,) = doc["_aws"]["CloudWatchMetrics"]
        assert directive["Namespace"] == NAMESPACE
        assert name in [m["Name"] for m in directive["Metrics"]]
        for dimension_set in directive["Dimensions"]:
            assert all(key in doc for key in dimension_set)  # each dimension has its value
        assert ["service"] in directive["Dimensions"]  # what the alarms watch
        found.append(doc)
    return found


def _dimensions(doc: dict[str, Any]) -> list[list[str]]:
    return [sorted(d) for d in doc["_aws"]["CloudWatchMetrics"][0]["Dimensions"]]


def test_a_committed_transition_logs_its_ids_and_counts_by_workflow_and_event(aws, capsys):
    wf = _jobs()
    _lines(capsys)
    with metrics.collected():
        _start(wf, "j1")
        with journal.correlated(function_request_id="req-1"):
            runtime.send(wf, "j1", Incoming({"type": "GO"}, "go-1", CLIENT))
    lines = _lines(capsys)
    first, second = _logs(lines, "transition")
    assert first["level"] == "INFO" and first["service"] == "tropical"
    assert (first["workflow"], first["instance"], first["eventId"]) == ("jobs", "j1", "j1.start")
    assert (second["from"], second["to"], second["version"]) == ("waiting", "ok", 2)
    assert second["eventId"] == "go-1" and second["function_request_id"] == "req-1"
    wait, go = _metric(lines, "TransitionsCommitted")  # one document per event, at the end
    assert lines.index(wait) > lines.index(second)
    for doc, event in ((wait, "WAIT"), (go, "GO")):
        assert _dimensions(doc) == [["service"], ["event", "service", "workflow"]]
        assert (doc["service"], doc["workflow"], doc["event"]) == ("tropical", "jobs", event)
        assert doc["TransitionsCommitted"] == [1.0]


def test_a_lost_race_is_counted_and_the_commit_retried(aws, monkeypatch, capsys):
    wf = _jobs()
    _start(wf, "j1")
    real_commit = store.commit
    raced: list[bool] = []

    def racing_commit(write):
        if not raced:
            raced.append(True)
            runtime.send(wf, "j1", Incoming({"type": "GO"}, "other-writer", CLIENT))
        return real_commit(write)

    monkeypatch.setattr(store, "commit", racing_commit)
    _lines(capsys)
    with metrics.collected(), pytest.raises(runtime.EventNotAllowed):
        runtime.send(wf, "j1", Incoming({"type": "GO"}, "mine", CLIENT))  # now in ok
    (doc,) = _metric(_lines(capsys), "LostRacesRetried")
    assert doc["LostRacesRetried"] == [1.0] and doc["workflow"] == "jobs"


def test_a_publish_failure_is_counted_and_logged_with_its_instance(aws, monkeypatch, capsys):
    def down(event):
        raise Unavailable("SNS is down")

    monkeypatch.setattr(bus, "publish", down)
    wf = _jobs()
    _lines(capsys)
    with metrics.collected():
        _start(wf, "j2", event="GO")
    lines = _lines(capsys)
    (problem,) = _logs(lines, "problem")
    assert problem["level"] == "WARNING"
    assert problem["message"] == "publish failed; left in outbox"
    assert (problem["workflow"], problem["instance"], problem["eventId"]) == (
        "jobs", "j2", "j2.start",
    )  # fmt: skip
    assert problem["messageId"] == "jobs.j2.v1.0" and problem["attempt"] == 1
    (doc,) = _metric(lines, "PublishFailures")
    assert doc["PublishFailures"] == [1.0] and _dimensions(doc) == [["service"]]


def test_a_sweep_measures_the_oldest_pending_outbox(aws, monkeypatch, capsys):
    monkeypatch.setattr(bus, "publish", lambda event: (_ for _ in ()).throw(Unavailable("down")))
    wf = _jobs()
    _start(wf, "j3", event="GO")  # its command stays pending
    shards = store.outbox_shards()
    later = datetime.now(UTC) + timedelta(seconds=120)
    assert 119 <= sweeper.oldest_age(shards, now=later) <= 121
    monkeypatch.setattr(bus, "publish", lambda event: "sent")
    _lines(capsys)
    monkeypatch.setenv("OUTBOX_GRACE_SECONDS", "0")
    clients.reset()
    with metrics.collected():
        assert sweeper.run({"jobs": wf}) == 1  # the scheduled job: measure, then sweep
    lines = _lines(capsys)
    (age,) = _metric(lines, "OutboxOldestAgeSeconds")
    assert _dimensions(age) == [["service"]]
    assert 0 <= age["OutboxOldestAgeSeconds"][0] < 60
    units = {m["Name"]: m["Unit"] for m in age["_aws"]["CloudWatchMetrics"][0]["Metrics"]}
    assert units["OutboxOldestAgeSeconds"] == "Seconds"
    assert age["OutboxPending"] == [1.0] and age["OutboxSwept"] == [1.0]
    assert store.load(wf.key("j3")).outbox == {}
    assert sweeper.oldest_age(shards) == 0.0  # nothing pending any more


def test_an_unreadable_shard_is_left_out_of_the_age(aws, monkeypatch, capsys):
    def unavailable(shard_key):
        raise Unavailable("throttled")

    monkeypatch.setattr(store, "oldest_pending", unavailable)
    _lines(capsys)
    assert sweeper.oldest_age(["outbox#00"]) == 0.0
    (problem,) = _logs(_lines(capsys), "problem")
    assert problem["shard"] == "outbox#00"


def test_a_timer_fires_once_and_a_stale_one_is_counted_as_ignored(aws, monkeypatch, capsys):
    scheduled: list[str] = []  # the timers' messages, as if their delay had passed
    monkeypatch.setattr(
        durable,
        "send",
        lambda body: scheduled.append(json.dumps({**body, "dueAt": "2000-01-01T00:00:00.000Z"})),
    )
    wf = _jobs()
    _start(wf, "j4")
    (timer,) = scheduled
    _lines(capsys)
    with metrics.collected():
        assert intake.fire_timer({"jobs": wf}, timer).snapshot.value == "late"
    lines = _lines(capsys)
    (fired,) = _metric(lines, "TimersFired")
    assert fired["TimersFired"] == [1.0] and fired["workflow"] == "jobs"
    (transition,) = _logs(lines, "transition")
    assert transition["eventId"].startswith("timer.") and transition["instance"] == "j4"
    _start(wf, "j5")
    stale = scheduled[-1]
    runtime.send(wf, "j5", Incoming({"type": "GO"}, "go-5", CLIENT))  # leaves its state
    _lines(capsys)
    with metrics.collected():
        assert intake.fire_timer({"jobs": wf}, stale).duplicate
    (ignored,) = _metric(_lines(capsys), "TimersIgnored")
    assert ignored["TimersIgnored"] == [1.0] and ignored["workflow"] == "jobs"


def test_a_bus_event_for_no_instance_is_ignored_and_says_which_event(aws, capsys):
    wf = _jobs()
    event = bus.cloud_event("ce-1", "DONE", "nobody", {}, "2026-01-01T00:00:00.000Z")
    _lines(capsys)
    with metrics.collected():
        assert intake.receive({"jobs": wf}, "jobs", json.dumps(event)) is None
    lines = _lines(capsys)
    (problem,) = _logs(lines, "problem")
    assert (problem["cloudEventId"], problem["workflow"], problem["instance"]) == (
        "ce-1", "jobs", "nobody",
    )  # fmt: skip
    (doc,) = _metric(lines, "BusEventsIgnored")
    assert doc["BusEventsIgnored"] == [1.0]


def test_the_app_flushes_each_invocation_with_its_latency_and_ids(shop, capsys):
    _lines(capsys)
    order = shop.new_order()
    lines = _lines(capsys)
    (transition,) = _logs(lines, "transition")
    assert transition["instance"] == order["orderId"] and transition["workflow"] == "order"
    assert transition["function_request_id"] and transition["cold_start"] in (True, False)
    (latency,) = _metric(lines, "RequestLatency")
    assert latency["handler"] == "POST /orders" and latency["RequestLatency"][0] > 0
    assert _dimensions(latency) == [["service"], ["handler", "service"]]
    (committed,) = _metric(lines, "TransitionsCommitted")
    assert committed["event"] == "ADD_PIZZA"


def test_a_bus_event_from_sqs_carries_its_message_and_cloudevent_ids(shop, capsys):
    order = shop.new_order()
    shop.call("POST", f"/orders/{order['orderId']}/confirm")
    shop.settle()
    _lines(capsys)
    shop.call("POST", "/kitchen/orders/next/ready", "staff")
    shop.settle()
    lines = _logs(_lines(capsys), "transition")
    (ready,) = [line for line in lines if line["event"] == "PIZZA_READY"]
    assert ready["cloudEventId"] == ready["eventId"] and ready["messageId"]
    assert ready["function_request_id"] and ready["source"] == BUS


def test_ids_are_scoped_to_their_block_and_their_thread(capsys):
    seen: dict[str, Any] = {}
    with journal.correlated(instance="outer", eventId=None):
        with journal.correlated(instance="inner"):
            seen["inner"] = dict(journal.current_ids())
        seen["outer"] = dict(journal.current_ids())
        thread = threading.Thread(target=lambda: seen.update(thread=dict(journal.current_ids())))
        thread.start()
        thread.join()
    assert seen == {"inner": {"instance": "inner"}, "outer": {"instance": "outer"}, "thread": {}}
    assert journal.current_ids() == {}


def test_a_field_named_like_a_log_record_attribute_is_kept(capsys):
    _lines(capsys)
    journal.problem("odd", name="x", module="y")
    (line,) = _logs(_lines(capsys), "problem")
    assert (line["name_"], line["module_"]) == ("x", "y")


def test_the_local_console_still_shows_one_line_per_transition(aws, capsys):
    from local.stack import LiveLog

    live = LiveLog()
    live.setFormatter(journal._logger().registered_handler.formatter)
    logger = logging.getLogger(journal.LOGGER)
    logger.addHandler(live)
    try:
        _start(_jobs(), "j6")
    finally:
        logger.removeHandler(live)
    console = [line for line in capsys.readouterr().out.splitlines() if not line.startswith("{")]
    assert len(console) == 1 and "WAIT" in console[0] and "(new) -> waiting  v1" in console[0]


def test_logs_and_metrics_work_outside_lambda_without_aws(tmp_path):
    """No Lambda, no credentials, no endpoint: lines are still written, nothing is called."""
    code = (
        "from chalicelib.runtime import journal, metrics\n"
        "with journal.correlated(instance='i'):\n"
        "    journal.problem('p', why='w')\n"
        "metrics.count('TimersFired', workflow='w')\n"
    )
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    log, emf = (json.loads(line) for line in done.stdout.splitlines())
    assert log["instance"] == "i" and log["service"] == "tropical" and "xray_trace_id" not in log
    assert emf["TimersFired"] == [1.0] and emf["workflow"] == "w"
    quiet = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60,
        env={**env, "POWERTOOLS_METRICS_DISABLED": "true", "_X_AMZN_TRACE_ID": "Root=1-abc;P=1"},
    )  # fmt: skip
    (log,) = (json.loads(line) for line in quiet.stdout.splitlines())
    assert log["xray_trace_id"] == "1-abc"


def test_a_redelivered_reply_is_counted_a_duplicate_not_a_problem(workflow_kit, capsys):
    """Once a reply moved the state on, its redelivery (SQS delivers at least once) is
    recognised by its dedupe record before the state check refuses it: no problem line,
    BusEventsDuplicate rather than BusEventsIgnored (issue 20, item 5)."""
    from tests.runtime.test_generic_runtime import rental

    kit = workflow_kit(rental())
    kit.start("r1", "RENT", {"bike": "b7"})
    unlock = kit.command("UNLOCK_BIKE", "r1")
    assert kit.reply(unlock, "BIKE_UNLOCKED", {"dock": 3}).view()["state"] == "riding"
    _lines(capsys)
    with metrics.collected():
        again = kit.reply(unlock, "BIKE_UNLOCKED", {"dock": 3})
    lines = _lines(capsys)
    assert again is not None and again.duplicate and again.view()["state"] == "riding"
    assert _logs(lines, "problem") == []
    assert _metric(lines, "BusEventsIgnored") == []
    (duplicate,) = _metric(lines, "BusEventsDuplicate")
    assert duplicate["BusEventsDuplicate"] == [1.0]
    other = bus.cloud_event("ce-new", "BIKE_UNLOCKED", "r1", {"dock": 4}, kit.now.isoformat())
    with metrics.collected():
        assert intake.receive(kit.workflows, "rental", json.dumps(other)) is None
    (problem,) = _logs(_lines(capsys), "problem")  # a new event the state refuses still is one
    assert problem["message"] == "bus event not applied" and problem["cloudEventId"] == "ce-new"


@pytest.mark.parametrize(
    "function_name, handler",
    [
        ("tropical-prod-order-events", "order_events"),  # deployed: <stack>-<suffix>
        ("tropical-prod-outbox-sweeper", "outbox_sweeper"),
        ("order_events", "order_events"),  # locally: the handler's name
    ],
)
def test_latency_is_recorded_under_the_handler_the_function_runs(
    monkeypatch, capsys, function_name, handler
):
    """A deployed function is named ``<stack>-<handler with dashes>`` (infra/generate.py):
    the ``handler`` dimension must be the whole handler, not its last word."""
    from types import SimpleNamespace

    from chalicelib.runtime import invocation, settings

    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "tropical-prod")
    settings.cache_clear()
    event = SimpleNamespace(context=SimpleNamespace(function_name=function_name))
    _lines(capsys)
    with invocation.observed(event):
        pass
    (latency,) = _metric(_lines(capsys), "RequestLatency")
    assert latency["handler"] == handler
    settings.cache_clear()


def test_threads_logging_first_at_once_share_one_whole_logger(monkeypatch):
    """The local stack's first requests arrive together: each thread must get the one
    Logger, whole (two made at once left one without a formatter: a 500 after a commit,
    found by the chaos checker, seed 20261203)."""
    import threading
    import time
    import uuid

    import aws_lambda_powertools

    real = aws_lambda_powertools.Logger
    made: list[object] = []

    class SlowLogger(real):  # widens the window in which a second thread could make one
        def __init__(self, *args, **kwargs):
            time.sleep(0.05)
            super().__init__(*args, **kwargs)
            made.append(self)

    monkeypatch.setattr(aws_lambda_powertools, "Logger", SlowLogger)
    monkeypatch.setattr(journal, "LOGGER", f"workflow-{uuid.uuid4().hex}")  # as a new process
    monkeypatch.setattr(journal, "_made", None)
    got: list[object] = []
    threads = [threading.Thread(target=lambda: got.append(journal._logger())) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(made) == 1 and len(got) == 8 and all(one is made[0] for one in got)
    assert made[0].registered_formatter is not None
