"""The local stack's development sign-in, and `make demo` getting its token from it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.error
import urllib.request

import pytest

from chalicelib.runtime import auth
from local.signin import PEOPLE, DevelopmentSignIn
from tests.e2e.conftest import ROOT, Stack

ORIGIN = "http://127.0.0.1:8000"


@pytest.fixture
def signin(monkeypatch):
    """The sign-in of a stack running with AUTH_MODE=hs256."""
    monkeypatch.setenv("AUTH_MODE", "hs256")
    monkeypatch.setenv("JWT_SECRET", "sign-in-secret")
    server = DevelopmentSignIn(0, (ORIGIN,)).start()
    yield server
    server.stop()


def _ask(url: str, body: bytes | None = None, origin: str = ORIGIN):
    request = urllib.request.Request(url, body, {"Origin": origin})
    try:
        with urllib.request.urlopen(request, timeout=5) as answer:
            return answer.status, dict(answer.headers), json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), json.loads(error.read())


def test_people_are_listed_for_the_console_origin(signin):
    status, headers, people = _ask(signin.url + "/people")
    assert status == 200 and people == list(PEOPLE)
    assert headers["Access-Control-Allow-Origin"] == ORIGIN


def test_a_token_is_minted_with_the_stacks_secret_and_the_persons_roles(signin):
    status, _, answer = _ask(signin.url + "/token", b'{"user": "staff-1"}')
    assert status == 200 and answer["user"] == "staff-1"
    principal = auth.verify(answer["token"], "sign-in-secret")
    assert principal.user == "staff-1" and principal.is_staff
    with pytest.raises(auth.Unauthorized):
        auth.verify(answer["token"], "another-secret")


def test_the_manager_may_decide_escalated_complaints(signin):
    status, _, answer = _ask(signin.url + "/token", b'{"user": "manager-1"}')
    assert status == 200 and answer["roles"] == ["staff", "manager"]
    principal = auth.verify(answer["token"], "sign-in-secret")
    assert principal.is_staff and principal.is_manager


@pytest.mark.parametrize("body", [b'{"user": "mallory"}', b"not json", b"[]", b'{"user": 1}'])
def test_anyone_but_a_demo_person_is_refused(signin, body):
    status, _, answer = _ask(signin.url + "/token", body)
    assert status == 400 and "customer-1" in answer["message"]


def test_another_origin_gets_no_cors_grant(signin):
    _, headers, _ = _ask(signin.url + "/people", origin="http://evil.example")
    assert "Access-Control-Allow-Origin" not in headers


def test_tokens_come_from_the_stacks_development_issuer(monkeypatch):
    import jwt

    from local import oidc

    monkeypatch.delenv("AUTH_MODE", raising=False)
    issuer = oidc.serve(0)
    server = DevelopmentSignIn(0, (ORIGIN,)).start()
    try:
        status, _, answer = _ask(server.url + "/token", b'{"user": "customer-1"}')
    finally:
        server.stop()
        issuer.stop()
    assert status == 200
    assert jwt.get_unverified_header(answer["token"])["kid"] == issuer.current_kid
    claims = jwt.decode(answer["token"], options={"verify_signature": False})
    assert claims["iss"] == issuer.url and claims["sub"] == "customer-1"


def test_a_stack_on_another_issuer_says_where_to_sign_in(monkeypatch):
    from local import oidc

    monkeypatch.delenv("AUTH_MODE", raising=False)
    monkeypatch.setenv("OIDC_ISSUER", "https://issuer.example")
    monkeypatch.setattr(oidc, "_running", None)
    server = DevelopmentSignIn(0, (ORIGIN,)).start()
    try:
        status, _, answer = _ask(server.url + "/token", b'{"user": "customer-1"}')
    finally:
        server.stop()
    assert status == 503
    assert answer["message"] == "this stack takes tokens of https://issuer.example; sign in there"


def test_the_demo_uses_the_running_stacks_credentials():
    """The issue's case: a stack on one JWT_SECRET, the demo's shell holding another."""
    stack = Stack("auto", env={"AUTH_MODE": "hs256", "JWT_SECRET": "the-stacks-secret"})
    try:
        assert stack.ready.wait(30), "\n".join(stack.output)
        env = {
            **os.environ, "API_URL": stack.api, "WS_URL": stack.ws, "AUTH_MODE": "hs256",
            "JWT_SECRET": "not-the-stacks-secret", "DEMO_TIMEOUT": "60",
        }  # fmt: skip
        env.pop("TOKEN", None)
        demo = subprocess.run(
            [sys.executable, "-m", "local.demo"], cwd=ROOT, env=env, capture_output=True,
            text=True, timeout=90,
        )  # fmt: skip
    finally:
        stack.stop()
    assert demo.returncode == 0, demo.stdout + demo.stderr
    assert "delivered. enjoy!" in demo.stdout


def test_the_demo_says_when_no_stack_is_running():
    env = {**os.environ, "API_URL": "http://127.0.0.1:9", "TOKEN": ""}
    demo = subprocess.run(
        [sys.executable, "-m", "local.demo"], cwd=ROOT, env=env, capture_output=True, text=True,
        timeout=30,
    )  # fmt: skip
    assert demo.returncode == 2
    assert "The stack is not running at http://127.0.0.1:9" in demo.stdout
