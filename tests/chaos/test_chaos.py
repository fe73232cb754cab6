"""The short chaos schedule: 50 orders under random faults, checked over the whole
history. ``CHAOS_SEED`` replays a schedule; the seed is printed and in the message."""

from __future__ import annotations

import os
import random

from tests.chaos.run import run

ORDERS = int(os.environ.get("CHAOS_SHORT_ORDERS", "50"))


def test_random_faults_over_many_orders_break_no_guarantee():
    seed = int(os.environ.get("CHAOS_SEED") or random.SystemRandom().randrange(1, 10**9))
    print(f"chaos seed {seed} (CHAOS_SEED={seed} replays it)")
    report = run(ORDERS, seed, tail_seconds=0.5)
    print(report.table())
    assert report.figures["faults injected"] >= 100, report.table()
    assert not report.violations, report.explain()
