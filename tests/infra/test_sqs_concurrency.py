"""Each SQS event source's MaximumConcurrency: sized for the load in the registry, raised
for a deploy by SQS_CONCURRENCY / SQS_CONCURRENCY_BUDGET, refused when out of range."""

from __future__ import annotations

import pytest

from chalicelib import registry
from chalicelib.registry import concurrency_settings, scaled


def test_the_registry_wires_the_scaled_concurrency_within_its_budget():
    by_handler = {q.handler: q.concurrency for q in registry.QUEUES}
    for handler, value in registry.SQS_CONCURRENCY.items():
        assert by_handler[handler] == value
    assert sum(by_handler.values()) <= registry.SQS_CONCURRENCY_BUDGET


def test_a_deploy_raises_them_from_the_environment():
    chosen, budget = concurrency_settings(
        {"SQS_CONCURRENCY": "order_events=120, timer_events=80", "SQS_CONCURRENCY_BUDGET": "300"},
        registry.SQS_CONCURRENCY,
        registry.SQS_CONCURRENCY_BUDGET,
    )
    assert chosen["order_events"] == 120 and chosen["timer_events"] == 80
    assert chosen["kitchen_commands"] == registry.SQS_CONCURRENCY["kitchen_commands"]
    made = {q.handler: q.concurrency for q in scaled(registry.QUEUES, chosen, budget)}
    assert made["order_events"] == 120 and made["timer_events"] == 80


@pytest.mark.parametrize(
    "environ, message",
    [
        ({"SQS_CONCURRENCY": "order_events"}, "SQS_CONCURRENCY: 'order_events'"),
        ({"SQS_CONCURRENCY": "order_events=many"}, "not handler=number"),
        ({"SQS_CONCURRENCY_BUDGET": "lots"}, "SQS_CONCURRENCY_BUDGET: 'lots'"),
    ],
)
def test_a_malformed_setting_is_refused_by_name(environ, message):
    with pytest.raises(ValueError, match=message):
        concurrency_settings(environ, registry.SQS_CONCURRENCY, registry.SQS_CONCURRENCY_BUDGET)


@pytest.mark.parametrize(
    "concurrency, budget, message",
    [
        ({"orders_events": 10}, 1000, "SQS_CONCURRENCY names \\['orders_events'\\]"),
        ({"order_events": 1}, 1000, "outside the 2-1000"),
        ({"order_events": 1001}, 5000, "outside the 2-1000"),
        ({"order_events": 900}, 150, "over the budget of 150"),
    ],
)
def test_wiring_an_event_source_aws_would_refuse_or_over_budget_fails(concurrency, budget, message):
    with pytest.raises(ValueError, match=message):
        scaled(registry.QUEUES, concurrency, budget)
