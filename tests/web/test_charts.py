"""Charts are drawn once per definition version (``make charts``), not in every browser."""

from __future__ import annotations

from chalice import Chalice
from chalice.test import Client

from chalicelib.registry import WORKFLOWS
from chalicelib.web import web
from chalicelib.web.assets import chart_file, chart_text
from infra import charts


def test_every_declared_version_of_every_workflow_has_its_chart_drawn():
    assert charts.missing() == [], "run `make charts` and commit chalicelib/web/static/charts"
    names = {
        chart_file(v.machine.to_mermaid())
        for w in WORKFLOWS.values()
        for v in w.versions.by_number.values()
    }
    drawn = {p.name for p in charts.CHARTS.glob("chart-*.svg")}
    assert drawn == names  # no file of a chart that is no longer declared


def test_a_chart_file_is_named_by_its_unmarked_text():
    machine = WORKFLOWS["order"].machine
    marked = machine.to_mermaid(machine.initial_transition(context={}).snapshot)
    assert "class s_order_orderPizza active" in marked
    assert chart_file(marked) == chart_file(machine.to_mermaid())  # marks do not change it
    assert chart_text(marked) == chart_text(machine.to_mermaid())
    other = WORKFLOWS["complaint"].machine.to_mermaid()
    assert chart_file(other) != chart_file(marked)


def test_a_drawn_chart_is_served_as_svg_and_cached_for_good():
    app = Chalice("charts-test")
    app.register_blueprint(web)
    name = chart_file(WORKFLOWS["order"].machine.to_mermaid())
    with Client(app) as client:
        answer = client.http.get(f"/app/static/{name}")
    assert answer.status_code == 200
    assert answer.headers["Content-Type"] == "image/svg+xml"
    assert answer.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert answer.body.startswith(b"<svg") and b'id="statechart"' in answer.body
