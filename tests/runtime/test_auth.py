"""Bearer token verification."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import pytest

from chalicelib.runtime import Unauthorized, auth

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


def _b64(raw: str) -> str:
    return base64.urlsafe_b64encode(raw.encode()).rstrip(b"=").decode()


def _signed(claims: str, header: str = '{"alg":"HS256","typ":"JWT"}', secret: str = SECRET) -> str:
    """A correctly signed token whose segments are exactly the given JSON texts."""
    signing_input = f"{_b64(header)}.{_b64(claims)}"
    digest = hmac.new(secret.encode(), signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{base64.urlsafe_b64encode(digest).rstrip(b'=').decode()}"


def _claims(**raw: object) -> str:
    """Claims JSON with each value written as given: ``_claims(exp="NaN")``."""
    return "{" + ", ".join(f'"{name}": {value}' for name, value in raw.items()) + "}"


FUTURE = int(time.time()) + 3600
HS256 = _b64('{"alg":"HS256"}')
NESTED = "[" * 3000 + "]" * 3000


@pytest.mark.parametrize(
    "token",
    [
        f"{_b64(NESTED)}.{_b64('{}')}.x",
        f"{_b64('{}')}.{_b64(NESTED)}.x",
        _signed(_claims(sub='"a"', exp=FUTURE, x="[" * 40 + "]" * 40)),
    ],
    ids=["header", "claims", "signed claims"],
)
def test_a_token_of_nested_json_is_unauthorized_not_a_crash(token):
    with pytest.raises(Unauthorized, match=r"malformed token (header|claims): nested deeper"):
        auth.verify(token, SECRET)


@pytest.mark.parametrize("claim", ["exp", "nbf"])
@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity", "1e400"])
def test_a_signed_token_with_a_non_finite_time_is_refused(claim, number):
    token = _signed(_claims(sub='"a"', **{"exp": FUTURE, "nbf": 0, claim: number}))
    with pytest.raises(Unauthorized, match=r"malformed token claims: .*(JSON number|out of range)"):
        auth.verify(token, SECRET)


@pytest.mark.parametrize("claim", ["exp", "nbf"])
@pytest.mark.parametrize(
    "value", ["1" + "0" * 400, "1e300", "-1", '"tomorrow"', "true", "[]"],
    ids=["10**400", "1e300", "-1", "a string", "true", "a list"],
)  # fmt: skip
def test_a_signed_token_with_a_time_that_is_not_one_is_refused(claim, value):
    token = _signed(_claims(sub='"a"', **{"exp": FUTURE, "nbf": 0, claim: value}))
    with pytest.raises(Unauthorized, match=f"token has no valid '{claim}'"):
        auth.verify(token, SECRET)


def test_a_time_just_inside_the_range_is_honoured():
    assert auth.verify(_signed(_claims(sub='"a"', exp=253402300799, nbf=0)), SECRET).user == "a"


def test_non_finite_numbers_are_refused_anywhere_in_a_token():
    with pytest.raises(Unauthorized, match="malformed token header: NaN"):
        auth.verify(_signed(_claims(sub='"a"', exp=FUTURE), '{"alg":"HS256","n":NaN}'), SECRET)
    with pytest.raises(Unauthorized, match=r"malformed token claims: .*out of range"):
        auth.verify(_signed(_claims(sub='"a"', exp=FUTURE, roles="[1e999]")), SECRET)


def test_a_token_over_8_kib_is_refused_before_decoding():
    padded = _signed(_claims(sub='"a"', exp=FUTURE, pad=f'"{"x" * 8000}"'))
    assert len(padded) > auth.MAX_TOKEN_CHARS
    with pytest.raises(Unauthorized, match="the limit is 8192"):
        auth.verify(padded, SECRET)
    fits = _signed(_claims(sub='"a"', exp=FUTURE, pad=f'"{"x" * 5000}"'))
    assert auth.verify(fits, SECRET).user == "a"


@pytest.mark.parametrize(
    "token, message",
    [
        ("a.b.c", "malformed token header"),
        (f"{_b64('{}')}.{_b64('{}')}.%%%", "HS256"),
        (f"{HS256}.ab\u00e9.x", "malformed token claims: not base64url"),
        (f"{HS256}.{_b64('{}')}.\u00e9", "malformed token signature"),
        (_signed('"just a string"'), "malformed token claims"),
        (_signed(_claims(sub='"a"', exp=FUTURE), '{"alg": "HS256"}', "other"), "signature"),
    ],
    ids=["not JSON", "no alg", "non-ASCII claims", "non-ASCII signature", "claims a string",
         "forged"],
)  # fmt: skip
def test_malformed_segments_say_which(token, message):
    with pytest.raises(Unauthorized, match=message):
        auth.verify(token, SECRET)


def test_a_subject_too_long_for_a_table_key_is_refused():
    """Event ids embed the subject (client.<sub>.<key>) and become table keys: a 6 KB
    subject inside an 8 KiB token would fail DynamoDB's key limit as a 503."""
    from chalicelib.runtime import auth as tokens

    with pytest.raises(Unauthorized, match="1-128 printable"):
        tokens.verify(tokens.issue("s3cret", "u" * 129), "s3cret")
    assert tokens.verify(tokens.issue("s3cret", "u" * 128), "s3cret").user == "u" * 128
