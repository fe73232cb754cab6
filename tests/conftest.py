"""Shared fixtures: an embedded AWS (moto) with the infra/ resources, and tokens."""

from __future__ import annotations

import os

import pytest

from tests.shop import REGION, SECRET, open_shop

BASE_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
    "JWT_SECRET": SECRET,
    "TABLE_NAME": "tropical-pizzas",
    "TOPIC_ARN": f"arn:aws:sns:{REGION}:123456789012:tropical-pizzas-events",
    "WEBSOCKET_ENDPOINT": "https://ws.example.invalid/api",
}


@pytest.fixture
def aws(monkeypatch):
    """moto with every resource of infra/resources.json; yields what was created."""
    import boto3
    from moto import mock_aws

    from chalicelib.runtime import clients
    from local.moto_server import light_transaction_backups
    from local.provision import provision

    light_transaction_backups()  # as the local stack: a commit does not copy whole tables

    for key in ("AWS_ENDPOINT_URL", "AWS_PROFILE"):
        monkeypatch.delenv(key, raising=False)
    for key, value in BASE_ENV.items():
        monkeypatch.setenv(key, value)
    clients.reset()
    with mock_aws():
        # moto drops boto3's default session; one that shares the parsed service models
        # spares each test reading them again for its own boto3.client() calls
        boto3.DEFAULT_SESSION = clients.session(REGION)
        made = provision(boto3.DEFAULT_SESSION)
        assert os.environ["TOPIC_ARN"] == made.refs["EventsTopic"]
        yield made
    clients.reset()


@pytest.fixture
def shop(aws, monkeypatch):
    """The real app on moto, with timers visible at once (fire them with shop.fire_timers)."""
    from chalicelib.runtime import timers

    monkeypatch.setattr(timers, "MAX_SQS_DELAY_SECONDS", 0)
    yield from open_shop(aws)


@pytest.fixture
def moto_server(monkeypatch):
    """The local stack's serialised moto server, empty, with test credentials set."""
    from local.moto_server import MotoServer

    for key, value in BASE_ENV.items():
        monkeypatch.setenv(key, value)
    server = MotoServer().start()
    server.reset()
    yield server
    server.stop()


@pytest.fixture
def workflow_kit(aws, monkeypatch):
    """``workflow_kit(*workflows)``: a tests.kit.WorkflowKit running them through the real
    runtime on moto, with a simulated clock and bus helpers (see tests/kit.py)."""
    from tests.kit import kit_factory

    with kit_factory(monkeypatch) as make:
        yield make


def pytest_terminal_summary(terminalreporter):
    """The chaos runs' seed, time and peak memory, at the end of the summary (here, not in
    tests/chaos: with pytest-xdist only this conftest is loaded where the summary is
    written; user properties travel with the workers' reports)."""
    lines = [
        f"{report.nodeid}: {value}"
        for outcome in ("passed", "failed")
        for report in terminalreporter.stats.get(outcome, [])
        if report.when == "call"
        for name, value in getattr(report, "user_properties", [])
        if name == "chaos run"
    ]
    if lines:
        terminalreporter.write_sep("-", "chaos runs")
        for line in lines:
            terminalreporter.write_line(line)


def pytest_collection_modifyitems(config, items):
    """The checker's teeth (tests/chaos/test_teeth.py) are short chaos runs against a
    broken runtime, 40-55 s of CPU each: only the ones marked ``teeth_in_suite`` run
    unless CHAOS_TEETH=1 (``make chaos-teeth``)."""
    if os.environ.get("CHAOS_TEETH") == "1":
        return
    skip = pytest.mark.skip(reason="a chaos_teeth run: make chaos-teeth (CHAOS_TEETH=1)")
    for item in items:
        if item.get_closest_marker("chaos_teeth") and not item.get_closest_marker("teeth_in_suite"):
            item.add_marker(skip)
