"""Every station, a new one too, has staff routes under /stations/<name> with no route
written for it (issue 20, items 2 and 6: manual mode works for any registered station)."""

from __future__ import annotations

import json

from chalicelib.runtime import bus
from chalicelib.stations import STATIONS
from tests.local.test_auto_stations import TABLES


def _hold(reservation: str) -> None:
    command = bus.cloud_event(
        f"cmd-{reservation}", "HOLD_TABLE", reservation, {"reservationId": reservation,
        "guests": 2}, "2030-01-07T09:00:00.000Z",
    )  # fmt: skip
    assert TABLES.accept(json.dumps(command))


def test_staff_list_and_finish_a_new_stations_work(shop, monkeypatch):
    monkeypatch.setitem(STATIONS, "tables", TABLES)
    _hold("t1")
    _hold("t2")
    listed = shop.call("GET", "/stations/tables/work", "staff")
    assert listed.status_code == 200, listed.body
    assert [w["reservationId"] for w in listed.json_body["work"]] == ["t1", "t2"]
    assert listed.json_body["work"][0]["guests"] == 2
    done = shop.call("POST", "/stations/tables/work/next/finished", "staff")
    assert done.status_code == 200, done.body
    assert (done.json_body["reservationId"], done.json_body["reported"]) == ("t1", "TABLE_HELD")
    done = shop.call("POST", "/stations/tables/work/t2/finished", "staff", {"by": "ana"})
    assert done.status_code == 200 and done.json_body["reservationId"] == "t2"
    assert shop.call("GET", "/stations/tables/work", "staff").json_body["work"] == []
    again = shop.call("POST", "/stations/tables/work/t2/finished", "staff")
    assert again.status_code == 404
    assert "does not hold reservation 't2'" in again.json_body["message"]


def test_the_station_routes_refuse_customers_unknown_stations_and_bad_bodies(shop, monkeypatch):
    monkeypatch.setitem(STATIONS, "tables", TABLES)
    _hold("t1")
    assert shop.call("GET", "/stations/tables/work", "customer").status_code == 403
    unknown = shop.call("GET", "/stations/bakery/work", "staff")
    assert unknown.status_code == 404
    assert unknown.json_body["error"] == "NotFound" and "tables" in unknown.json_body["message"]
    refused = shop.call("POST", "/stations/tables/work/t1/rejected", "staff", {"reason": "full"})
    assert refused.status_code == 400 and "does not reject" in refused.json_body["message"]
    bad = shop.call("POST", "/stations/tables/work/t1/finished", "staff", {"who": "x"})
    assert bad.status_code == 400
    assert TABLES.held("t1") is not None  # nothing was changed by the refused requests
    gone = shop.call("POST", "/stations/kitchen/work/nothing/rejected", "staff", {"reason": "x"})
    assert gone.status_code == 404
