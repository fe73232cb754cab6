"""Routes through the real Chalice app (chalice.test.Client)."""

from __future__ import annotations

from chalice.test import Client

from app import app


def test_workflow_definition_route_returns_json_and_mermaid():
    with Client(app) as client:
        response = client.http.get("/workflows/order")
    assert response.status_code == 200
    body = response.json_body
    assert body["id"] == "order"
    assert body["definition"]["initial"] == "orderPizza"
    assert set(body["definition"]["states"]) >= {"orderPizza", "bakePizza", "deliverPizza", "done"}
    assert body["mermaid"].startswith("stateDiagram-v2\n")
    assert "CONFIRM_PIZZA [hasPizzas]" in body["mermaid"]


def test_unknown_route_is_404_or_403():
    with Client(app) as client:
        response = client.http.get("/nope")
    assert response.status_code in (403, 404)
