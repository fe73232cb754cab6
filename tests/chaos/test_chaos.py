"""The short chaos schedule: orders under random faults with order chart version 2
deployed part way through (pinned, and with the v1 -> v2 migration), checked over the
whole history. ``CHAOS_SEED`` replays a schedule; the seed is printed and in the message."""

from __future__ import annotations

import os
import random

import pytest

from tests.chaos.run import run

ORDERS = int(os.environ.get("CHAOS_SHORT_ORDERS", "25"))  # per variant


@pytest.mark.parametrize("deploy", ["pinned", "migrate"])
def test_random_faults_over_many_orders_and_a_deploy_break_no_guarantee(deploy, record_property):
    seed = int(os.environ.get("CHAOS_SEED") or random.SystemRandom().randrange(1, 10**9))
    print(f"chaos seed {seed} (CHAOS_SEED={seed} replays it)")
    report = run(ORDERS, seed, tail_seconds=0.5, deploy=deploy)
    print(report.table())
    record_property(
        "chaos run",
        f"seed {seed}, {report.orders} orders, {report.seconds:.1f} s, "
        f"peak memory {report.figures['peak memory (RSS of the process)']} (this pytest process)",
    )
    assert report.figures["faults injected"] >= 2 * ORDERS, report.table()
    assert "deploy" in report.figures, report.table()
    assert not report.violations, report.explain()
