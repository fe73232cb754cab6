"""Bearer token verification."""

from __future__ import annotations

import base64
import json
import time

import pytest

from chalicelib.runtime import auth
from chalicelib.runtime.errors import Unauthorized

SECRET = "s3cret"


def _tamper(token: str, **claims) -> str:
    header, payload, signature = token.split(".")
    data = json.loads(base64.urlsafe_b64decode(payload + "=="))
    data.update(claims)
    raw = base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()
    return f"{header}.{raw}.{signature}"


def test_valid_token_gives_user_and_roles():
    principal = auth.verify("Bearer " + auth.issue(SECRET, "alice", ["staff"]), SECRET)
    assert principal.user == "alice"
    assert principal.is_staff


@pytest.mark.parametrize(
    "token, message",
    [
        (None, "missing bearer token"),
        ("a.b", "malformed token"),
        ("!!!.###.$$$", "malformed token"),
        (auth.issue("other", "alice"), "bad token signature"),
        (_tamper(auth.issue(SECRET, "alice"), sub="mallory"), "bad token signature"),
        (auth.issue(SECRET, "alice", ttl_seconds=-120), "token expired"),
        (auth.issue(SECRET, ""), "no subject"),
    ],
)
def test_bad_tokens_say_what_is_wrong(token, message):
    with pytest.raises(Unauthorized, match=message):
        auth.verify(token, SECRET)


def test_alg_none_is_refused():
    header = base64.urlsafe_b64encode(b'{"alg":"none"}').rstrip(b"=").decode()
    payload = (
        base64.urlsafe_b64encode(json.dumps({"sub": "a", "exp": time.time() + 60}).encode())
        .rstrip(b"=")
        .decode()
    )
    with pytest.raises(Unauthorized, match="HS256"):
        auth.verify(f"{header}.{payload}.", SECRET)


def test_missing_secret_refuses_everything():
    with pytest.raises(Unauthorized, match="not configured"):
        auth.verify(auth.issue(SECRET, "alice"), "")
