"""The development issuer's authorization code flow with PKCE, over HTTP as a browser uses it."""

from __future__ import annotations

import base64
import json
import secrets
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from chalicelib.runtime import Unauthorized, auth
from chalicelib.runtime.identity import SigningKeys
from local.authorize import challenge_of
from local.oidc import DevIssuer

CONSOLE = "http://127.0.0.1:8000/app"


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_opener = urllib.request.build_opener(_NoRedirect)


def _get(url: str) -> tuple[int, dict[str, str], str]:
    try:
        with _opener.open(url, timeout=5) as answer:
            return answer.status, dict(answer.headers), answer.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read().decode()


def _post_form(url: str, form: dict[str, str], origin: str = "http://127.0.0.1:8000") -> Any:
    request = urllib.request.Request(
        url,
        urlencode(form).encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded", "Origin": origin},
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as answer:
            return answer.status, dict(answer.headers), json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), json.loads(error.read())


@pytest.fixture(scope="module")
def issuer() -> Iterator[DevIssuer]:
    started = DevIssuer(0).start()
    yield started
    started.stop()


def _verifier() -> str:
    return secrets.token_urlsafe(48)


def _authorize(issuer: DevIssuer, verifier: str, **overrides: str) -> tuple[int, dict, str]:
    query = {
        "response_type": "code",
        "client_id": issuer.audience,
        "redirect_uri": CONSOLE,
        "scope": "openid email profile",
        "state": "s-123",
        "code_challenge": challenge_of(verifier),
        "code_challenge_method": "S256",
        "login_hint": "staff-1",
        **overrides,
    }
    query = {k: v for k, v in query.items() if v is not None}
    return _get(f"{issuer.url}/authorize?{urlencode(query)}")


def _code(headers: dict[str, str]) -> dict[str, str]:
    location = urlsplit(headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == CONSOLE
    return {k: v[0] for k, v in parse_qs(location.query).items()}


def _exchange(issuer: DevIssuer, code: str, verifier: str, **overrides: str) -> Any:
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": CONSOLE,
        "client_id": issuer.audience,
        "code_verifier": verifier,
        **overrides,
    }
    return _post_form(f"{issuer.url}/token", form)


def _trust(issuer: DevIssuer) -> auth.OidcTrust:
    return auth.OidcTrust(issuer.url, issuer.audience, SigningKeys(issuer.url), "roles")


def test_the_s256_challenge_is_rfc_7636s_example():
    # RFC 7636 appendix B: this verifier has this challenge
    verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
    assert challenge_of(verifier) == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


def test_a_code_and_its_verifier_give_tokens_the_api_accepts(issuer):
    verifier = _verifier()
    status, headers, _ = _authorize(issuer, verifier)
    assert status == 302
    back = _code(headers)
    assert back["state"] == "s-123"
    status, headers, tokens = _exchange(issuer, back["code"], verifier)
    assert status == 200, tokens
    assert headers["Access-Control-Allow-Origin"] == "http://127.0.0.1:8000"
    assert headers["Cache-Control"] == "no-store"
    assert tokens["token_type"] == "Bearer" and tokens["expires_in"] == 3600
    principal = auth.verify(tokens["access_token"], _trust(issuer))
    assert (principal.user, principal.is_staff) == ("staff-1", True)
    claims = json.loads(base64.urlsafe_b64decode(tokens["access_token"].split(".")[1] + "=="))
    assert claims["token_use"] == "access" and claims["scope"] == "openid email profile"


def test_a_code_is_good_once(issuer):
    verifier = _verifier()
    code = _code(_authorize(issuer, verifier)[1])["code"]
    assert _exchange(issuer, code, verifier)[0] == 200
    status, _, answer = _exchange(issuer, code, verifier)
    assert (status, answer["error"]) == (400, "invalid_grant")


def test_a_wrong_verifier_gets_nothing_and_spends_the_code(issuer):
    verifier = _verifier()
    code = _code(_authorize(issuer, verifier)[1])["code"]
    status, _, answer = _exchange(issuer, code, _verifier())
    assert (status, answer["error"]) == (400, "invalid_grant")
    assert "code_verifier" in answer["error_description"]
    # a stolen code cannot be tried again with the right verifier after a miss
    assert _exchange(issuer, code, verifier)[2]["error"] == "invalid_grant"


def test_a_code_for_another_redirect_gets_nothing(issuer):
    verifier = _verifier()
    code = _code(_authorize(issuer, verifier)[1])["code"]
    status, _, answer = _exchange(issuer, code, verifier, redirect_uri="http://127.0.0.1:9/x")
    assert (status, answer["error"]) == (400, "invalid_grant")


def test_an_expired_code_gets_nothing(issuer, monkeypatch):
    import local.authorize as flow

    verifier = _verifier()
    code = _code(_authorize(issuer, verifier)[1])["code"]
    now = flow.time.monotonic()
    monkeypatch.setattr(flow.time, "monotonic", lambda: now + flow.CODE_SECONDS + 1)
    assert _exchange(issuer, code, verifier)[2]["error"] == "invalid_grant"


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"response_type": "token"}, "unsupported_response_type"),  # no implicit flow
        ({"code_challenge_method": "plain"}, "invalid_request"),
        ({"code_challenge_method": None}, "invalid_request"),
        ({"code_challenge": "short"}, "invalid_request"),
    ],
)
def test_authorization_without_s256_pkce_or_for_tokens_goes_back_with_an_error(
    issuer, overrides, error
):
    status, headers, _ = _authorize(issuer, _verifier(), **overrides)
    assert status == 302
    back = _code(headers)
    assert back["error"] == error and back["state"] == "s-123" and "code" not in back


@pytest.mark.parametrize(
    ("overrides", "said"),
    [
        ({"client_id": "someone-else"}, "unknown client_id"),
        ({"redirect_uri": "https://evil.example/app"}, "redirect_uri must be"),
    ],
)
def test_an_unknown_client_or_redirect_is_refused_on_a_page_not_redirected(issuer, overrides, said):
    status, headers, page = _authorize(issuer, _verifier(), **overrides)
    assert status == 400 and "Location" not in headers
    assert said in page


def test_without_a_login_hint_a_page_lets_one_pick_a_person(issuer):
    status, headers, page = _authorize(issuer, _verifier(), login_hint=None)
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assert '<option value="manager-1">' in page
    assert 'name="code_challenge"' in page and 'name="state" value="s-123"' in page


def test_the_lifetime_setting_makes_expired_tokens(issuer):
    request = urllib.request.Request(
        f"{issuer.url}/lifetime", json.dumps({"seconds": -120}).encode(), method="POST"
    )
    with urllib.request.urlopen(request, timeout=5) as answer:
        assert json.loads(answer.read()) == {"seconds": -120}
    try:
        verifier = _verifier()
        code = _code(_authorize(issuer, verifier)[1])["code"]
        tokens = _exchange(issuer, code, verifier)[2]
        with pytest.raises(Unauthorized, match="token expired"):
            auth.verify(tokens["access_token"], _trust(issuer))
    finally:
        issuer.token_seconds = 3600


def test_logout_goes_back_to_the_console_only(issuer):
    status, headers, _ = _get(f"{issuer.url}/logout?{urlencode({'logout_uri': CONSOLE})}")
    assert (status, headers["Location"]) == (302, CONSOLE)
    status, headers, _ = _get(
        f"{issuer.url}/logout?{urlencode({'post_logout_redirect_uri': 'https://evil.example'})}"
    )
    assert status == 400 and "Location" not in headers


def test_discovery_names_the_endpoints(issuer):
    with urllib.request.urlopen(f"{issuer.url}/.well-known/openid-configuration") as answer:
        document = json.loads(answer.read())
    assert document["authorization_endpoint"] == f"{issuer.url}/authorize"
    assert document["token_endpoint"] == f"{issuer.url}/token"
    assert document["code_challenge_methods_supported"] == ["S256"]
