"""The web console's routes: pages and files without a token, their configuration."""

from __future__ import annotations

import json
import re

import pytest
from chalice import Chalice
from chalice.test import Client

from chalicelib.web import web
from chalicelib.web.assets import PAGES, STATIC, page
from chalicelib.web.routes import stage_prefix

PAGE_OF = {
    "customer": "/app",
    "orders": "/app/orders",
    "tracker": "/app/orders/abc",
    "staff": "/app/staff",
    "inspect": "/app/inspect/order/abc",
}


SIGN_IN_VARIABLES = (
    "WEB_WEBSOCKET_URL",
    "WEB_SIGN_IN_URL",
    "WEB_TOKEN_URL",
    "WEB_SIGN_OUT_URL",
    "WEB_CLIENT_ID",
    "WEB_SCOPES",
    "WEB_REDIRECT_URL",
    "WEB_DEV_SIGN_IN_URL",
    "WEBSOCKET_ENDPOINT",
    "ROLES_CLAIM",
)


@pytest.fixture
def client(monkeypatch):
    for name in SIGN_IN_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    app = Chalice("console-test")
    app.register_blueprint(web)
    with Client(app) as client:
        yield client


@pytest.mark.parametrize("path", PAGE_OF.values())
def test_pages_are_served_without_a_token(client, path):
    answer = client.http.get(path)
    assert answer.status_code == 200
    assert answer.headers["Content-Type"] == "text/html; charset=utf-8"
    assert answer.body.startswith(b"<!doctype html>")
    assert "script-src 'self';" in answer.headers["Content-Security-Policy"]


def test_the_policy_lets_pages_reach_the_websocket_and_the_sign_in(client, monkeypatch):
    monkeypatch.setenv("WEB_WEBSOCKET_URL", "ws://127.0.0.1:8001")
    monkeypatch.setenv("WEB_DEV_SIGN_IN_URL", "http://127.0.0.1:8004")
    monkeypatch.setenv("WEB_SIGN_IN_URL", "http://127.0.0.1:8003/authorize")
    monkeypatch.setenv("WEB_TOKEN_URL", "http://127.0.0.1:8003/token")
    monkeypatch.setenv("WEB_CLIENT_ID", "local")
    policy = client.http.get("/app").headers["Content-Security-Policy"]
    connect = "connect-src 'self' ws://127.0.0.1:8001 http://127.0.0.1:8003 http://127.0.0.1:8004;"
    assert connect in policy


def test_config_in_the_local_stack_signs_in_with_the_code_flow_and_lists_demo_people(
    client, monkeypatch
):
    monkeypatch.setenv("WEB_WEBSOCKET_URL", "ws://127.0.0.1:8001")
    monkeypatch.setenv("WEB_DEV_SIGN_IN_URL", "http://127.0.0.1:8004")
    monkeypatch.setenv("WEB_SIGN_IN_URL", "http://127.0.0.1:8003/authorize")
    monkeypatch.setenv("WEB_TOKEN_URL", "http://127.0.0.1:8003/token")
    monkeypatch.setenv("WEB_SIGN_OUT_URL", "http://127.0.0.1:8003/logout")
    monkeypatch.setenv("WEB_CLIENT_ID", "tropical-pizzas-local")
    assert json.loads(client.http.get("/app/config.json").body) == {
        "websocketUrl": "ws://127.0.0.1:8001",
        "signIn": "code",
        "authorizeUrl": "http://127.0.0.1:8003/authorize",
        "tokenUrl": "http://127.0.0.1:8003/token",
        "signOutUrl": "http://127.0.0.1:8003/logout",
        "clientId": "tropical-pizzas-local",
        "scope": "openid email profile",
        "redirectUrl": None,
        "rolesClaim": "roles",
        "peopleUrl": "http://127.0.0.1:8004",
    }


def test_config_under_hs256_locally_offers_the_development_sign_in(client, monkeypatch):
    monkeypatch.setenv("WEB_DEV_SIGN_IN_URL", "http://127.0.0.1:8004")
    config = json.loads(client.http.get("/app/config.json").body)
    assert config["signIn"] == "development"
    assert config["peopleUrl"] == "http://127.0.0.1:8004"


def test_config_deployed_takes_the_user_pool_and_the_websocket_api(client, monkeypatch):
    endpoint = "https://abc123.execute-api.eu-west-1.amazonaws.com/api"
    domain = "https://tropical-prod-123456789012.auth.eu-west-1.amazoncognito.com"
    monkeypatch.setenv("WEBSOCKET_ENDPOINT", endpoint)
    monkeypatch.setenv("WEB_SIGN_IN_URL", f"{domain}/oauth2/authorize")
    monkeypatch.setenv("WEB_TOKEN_URL", f"{domain}/oauth2/token")
    monkeypatch.setenv("WEB_SIGN_OUT_URL", f"{domain}/logout")
    monkeypatch.setenv("WEB_CLIENT_ID", "4abc")
    monkeypatch.setenv("WEB_REDIRECT_URL", f"{endpoint}/app")
    monkeypatch.setenv("ROLES_CLAIM", "cognito:groups")
    answer = client.http.get("/app/config.json")
    assert json.loads(answer.body) == {
        "websocketUrl": "wss://abc123.execute-api.eu-west-1.amazonaws.com/api",
        "signIn": "code",
        "authorizeUrl": f"{domain}/oauth2/authorize",
        "tokenUrl": f"{domain}/oauth2/token",
        "signOutUrl": f"{domain}/logout",
        "clientId": "4abc",
        "scope": "openid email profile",
        "redirectUrl": f"{endpoint}/app",
        "rolesClaim": "cognito:groups",
        "peopleUrl": None,
    }
    policy = client.http.get("/app").headers["Content-Security-Policy"]
    assert (
        f"connect-src 'self' wss://abc123.execute-api.eu-west-1.amazonaws.com {domain};" in policy
    )


@pytest.mark.parametrize("missing", ["WEB_TOKEN_URL", "WEB_CLIENT_ID"])
def test_config_with_half_a_provider_does_not_offer_a_sign_in_that_cannot_finish(
    client, monkeypatch, missing
):
    monkeypatch.setenv("WEB_SIGN_IN_URL", "https://auth.example.com/oauth2/authorize")
    monkeypatch.setenv("WEB_TOKEN_URL", "https://auth.example.com/oauth2/token")
    monkeypatch.setenv("WEB_CLIENT_ID", "4abc")
    monkeypatch.delenv(missing)
    config = json.loads(client.http.get("/app/config.json").body)
    assert config["signIn"] == "none"
    assert config["authorizeUrl"] is None


def test_config_without_settings_has_no_websocket_and_no_sign_in(client):
    config = json.loads(client.http.get("/app/config.json").body)
    assert config["websocketUrl"] is None
    assert config["signIn"] == "none"
    assert config["authorizeUrl"] is None


@pytest.mark.parametrize("name", ["nope.js", "..%2Fconfig.py", "config.py", "__init__.py"])
def test_only_the_consoles_files_are_served(client, name):
    answer = client.http.get(f"/app/static/{name}")
    assert answer.status_code == 404
    assert json.loads(answer.body)["error"] == "NotFound"


def test_a_file_the_browser_has_is_not_sent_again(client):
    first = client.http.get("/app/static/console.js")
    assert first.status_code == 200
    assert first.headers["Content-Type"] == "text/javascript; charset=utf-8"
    again = client.http.get(
        "/app/static/console.js", headers={"If-None-Match": first.headers["ETag"]}
    )
    assert again.status_code == 304 and again.body == b""


def test_the_vendored_mermaid_is_cached_for_good_and_ships_its_licence(client):
    scripts = [p.name for p in (STATIC / "vendor").glob("mermaid-*.min.js")]
    assert len(scripts) == 1
    answer = client.http.get(f"/app/static/{scripts[0]}")
    assert answer.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    licence = client.http.get("/app/static/mermaid-LICENSE.txt").body.decode()
    assert "MIT License" in licence


@pytest.mark.parametrize("name", sorted(p.stem for p in PAGES.glob("*.html")))
def test_every_file_a_page_names_is_served(client, name):
    html = client.http.get(PAGE_OF[name]).body.decode()
    names = re.findall(r'(?:src|href)="/app/static/([^"]+)"', html)
    assert names
    for file in names:
        assert client.http.get(f"/app/static/{file}").status_code == 200, file
    script = (STATIC / f"{name}.js").read_text()
    for module in re.findall(r'from "\./([^"]+)"', script):
        assert client.http.get(f"/app/static/{module}").status_code == 200, module
        named = re.findall(r'"/app/static/([^"]+)"', (STATIC / module).read_text())
        for file in named:
            assert client.http.get(f"/app/static/{file}").status_code == 200, file


@pytest.mark.parametrize(
    ("full", "resource", "prefix"),
    [
        ("/app/orders/abc", "/app/orders/{order_id}", ""),
        ("/api/app/orders/abc", "/app/orders/{order_id}", "/api"),
        ("/api/app", "/app", "/api"),
        ("/api/app/", "/app", "/api"),
        ("/app", "/app", ""),
        ('/"><script>/app', "/app", ""),
    ],
)
def test_pages_know_the_stage_they_are_served_under(full, resource, prefix):
    assert stage_prefix(full, resource) == prefix


def test_a_page_under_a_stage_links_everything_under_it():
    text = page("tracker", "/api").body
    assert '<meta name="api-base" content="/api">' in text
    assert re.findall(r'(?:src|href)="(/[^"]*)"', text) == [
        "/api/app/static/console.css", "/api/app/static/tracker.js", "/api/app",
        "/api/app/orders", "/api/app/staff",
    ]  # fmt: skip
    with pytest.raises(ValueError):
        page("tracker", '"><script>')
