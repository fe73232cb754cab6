"""The workflow definition route, and what any route does first."""

from __future__ import annotations

from chalice.test import Client

from app import app
from chalicelib.runtime import auth
from tests.conftest import SECRET


def test_workflow_definition_route_returns_json_and_mermaid(aws, monkeypatch):
    monkeypatch.setenv("JWT_SECRET", SECRET)
    from chalicelib.runtime import clients

    clients.reset()
    token = auth.issue(SECRET, "alice")
    with Client(app) as client:
        response = client.http.get("/workflows/order", headers={"Authorization": f"Bearer {token}"})
        anonymous = client.http.get("/workflows/order")
    assert response.status_code == 200
    body = response.json_body
    assert body["id"] == "order"
    assert body["definition"]["initial"] == "orderPizza"
    assert set(body["definition"]["states"]) >= {"orderPizza", "bakePizza", "deliverPizza", "done"}
    assert body["mermaid"].startswith("stateDiagram-v2\n")
    assert "CONFIRM_PIZZA [hasPizzas]" in body["mermaid"]
    assert anonymous.status_code == 401
    clients.reset()
