"""The local stack's automatic stations (`make run`, ``--stations auto``) finish the work
of every registered station, one it has no setting for included, and one station that
fails stops no other (issue 20, item 2)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from chalicelib.runtime import bus
from chalicelib.stations import KITCHEN, Station
from local.stack import finish_due

TABLES = Station(
    "tables", "HOLD_TABLE", "TABLE_HELD", key_field="reservationId",
    subject_field="reservationId", keep=("guests",), noun="reservation",
)  # fmt: skip


class Broken:
    name = "broken"
    key_field = "id"

    def orders(self):
        raise RuntimeError("the broken station's storage is down")


def _hold(reservation: str) -> None:
    command = bus.cloud_event(
        f"cmd-{reservation}", "HOLD_TABLE", reservation, {"reservationId": reservation,
        "guests": 4}, "2030-01-07T09:00:00.000Z",
    )  # fmt: skip
    assert TABLES.accept(json.dumps(command))


def test_a_new_station_is_finished_after_the_default_seconds(aws, capsys):
    _hold("t1")
    soon = datetime.now(UTC)
    # stations with a setting of their own keep it; a new one gets the default
    assert finish_due([KITCHEN, TABLES], {"kitchen": 3}, 60, soon) == []
    assert TABLES.held("t1") is not None
    later = soon + timedelta(seconds=61)
    assert finish_due([Broken(), KITCHEN, TABLES], {"kitchen": 3}, 60, later) == ["tables:t1"]
    assert TABLES.held("t1") is None
    assert "station broken: RuntimeError" in capsys.readouterr().out
