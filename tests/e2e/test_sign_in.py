"""Sign-in through the local stack: RS256 tokens of its development OIDC issuer, verified
with the issuer's published keys exactly as on AWS, and a key rotation end to end."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request

import jwt
import pytest

from chalicelib.runtime import auth
from tests.e2e.conftest import ROOT, _start

PIZZA = {"name": "Hawaii deluxe", "size": "large", "toppings": ["pineapple"]}
MAX_AGE = 1.0  # the stack trusts fetched keys this long, so a dropped key ends quickly


@pytest.fixture
def rotating_stack():
    stack = _start(
        "manual", env={"JWKS_MAX_AGE_SECONDS": str(MAX_AGE), "JWKS_MIN_REFRESH_SECONDS": "0"}
    )
    yield stack
    assert stack.stop() == 0


def _issuer(stack, method: str, path: str, body: dict | None = None) -> dict:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(stack.oidc + path, data=data, method=method)
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def test_the_stack_signs_in_with_rs256_tokens_of_its_issuer(manual_stack):
    stack = manual_stack
    header = jwt.get_unverified_header(stack.customer)
    assert header["alg"] == "RS256"
    assert header["kid"] in {key["kid"] for key in _issuer(stack, "GET", "/jwks.json")["keys"]}
    status, order = stack.call("POST", "/orders", stack.customer, {"pizza": PIZZA})
    assert (status, order["customerId"]) == (201, "e2e-customer")
    assert stack.call("GET", "/kitchen/orders", stack.staff)[0] == 200
    status, body = stack.call("GET", "/kitchen/orders", stack.customer)
    assert status == 403, body


def test_tokens_the_issuer_did_not_sign_are_401_saying_why(manual_stack):
    stack = manual_stack
    hs256 = auth.issue("local-development-secret", "mallory")  # the old development mode
    status, body = stack.call("GET", "/kitchen/orders", hs256)
    assert (status, body["message"]) == (
        401,
        "token must be signed with RS256 or ES256, not 'HS256'",
    )
    claims = jwt.decode(stack.customer, options={"verify_signature": False})
    signature = stack.staff.split(".")[2]  # a real signature, of another token
    forged = ".".join(
        [stack.customer.split(".")[0], jwt.utils.base64url_encode(
            json.dumps({**claims, "sub": "e2e-staff"}).encode()).decode(), signature]
    )  # fmt: skip
    status, body = stack.call("GET", "/orders/x", forged)
    assert (status, body["message"]) == (401, "bad token signature")


def test_a_rotated_key_signs_new_tokens_and_old_ones_work_until_their_key_is_dropped(
    rotating_stack,
):
    stack = rotating_stack
    old_kid = jwt.get_unverified_header(stack.customer)["kid"]
    status, order = stack.call("POST", "/orders", stack.customer, {"pizza": PIZZA})
    assert status == 201
    path = f"/orders/{order['orderId']}"

    new_kid = _issuer(stack, "POST", "/keys", {"algorithm": "ES256"})["kid"]
    fresh = stack.mint("e2e-customer")
    assert jwt.get_unverified_header(fresh) == {"alg": "ES256", "kid": new_kid, "typ": "JWT"}
    assert stack.call("GET", path, fresh)[0] == 200  # unknown kid: the stack fetched the keys
    assert stack.call("GET", path, stack.customer)[0] == 200  # the old key is still published

    _issuer(stack, "DELETE", f"/keys/{old_kid}")
    time.sleep(MAX_AGE + 0.2)
    status, body = stack.call("GET", path, stack.customer)
    assert status == 401, body
    assert body["message"] == f"token signing key '{old_kid}' is not one of the issuer's keys"
    assert stack.call("GET", path, fresh)[0] == 200


def test_make_demo_signs_in_through_the_issuer_and_follows_an_order_to_done(auto_stack):
    env = {
        **os.environ, "PORT": str(auto_stack.port), "WS_PORT": str(auto_stack.ws_port),
        "OIDC_PORT": str(auto_stack.oidc_port), "DEMO_TIMEOUT": "30",
    }  # fmt: skip
    env.pop("AUTH_MODE", None)
    done = subprocess.run(
        [sys.executable, "-m", "local.demo"], cwd=ROOT, env=env, capture_output=True, text=True,
        timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
