"""The console's real sign-in code in Chromium: the authorization code flow with PKCE
against the local stack's development issuer (the same endpoints as Cognito's), sign-out,
an expired token and a forged answer."""

from __future__ import annotations

import json
import urllib.request
from urllib.parse import parse_qs, urlsplit

from playwright.sync_api import expect


def _lifetime(stack, seconds: int) -> None:
    request = urllib.request.Request(
        f"{stack.oidc}/lifetime", json.dumps({"seconds": seconds}).encode(), method="POST"
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        assert json.loads(answer.read()) == {"seconds": seconds}


def test_staff_sign_in_with_the_code_flow_and_pkce_then_sign_out(stack, watched):
    staff = watched()
    page = staff.page
    sent: list[tuple[str, str, str | None]] = []
    page.on("request", lambda r: sent.append((r.method, r.url, r.post_data)))
    page.goto("/app/staff")
    staff.sign_in("staff-1")

    # back on the page the sign-in started from, with the board loaded with the token
    expect(page.locator("#board")).to_be_visible()
    assert urlsplit(page.url).path == "/app/staff" and "code=" not in page.url
    authorize = next(urlsplit(u) for m, u, _ in sent if u.startswith(f"{stack.oidc}/authorize"))
    asked = {k: v[0] for k, v in parse_qs(authorize.query).items()}
    assert asked["response_type"] == "code"
    assert asked["code_challenge_method"] == "S256" and len(asked["code_challenge"]) == 43
    assert asked["redirect_uri"] == f"{stack.api}/app" and asked["login_hint"] == "staff-1"
    exchange = [d for m, u, d in sent if m == "POST" and u == f"{stack.oidc}/token"]
    assert len(exchange) == 1
    form = {k: v[0] for k, v in parse_qs(exchange[0]).items()}
    assert form["grant_type"] == "authorization_code" and 43 <= len(form["code_verifier"]) <= 128
    assert page.evaluate("sessionStorage.getItem('tropical.signin')") is None  # verifier gone
    token = page.evaluate("sessionStorage.getItem('tropical.token')")
    assert stack.call("GET", "/kitchen/orders", token)[0] == 200  # the API takes it

    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(f"{stack.api}/app")
    expect(page.get_by_label("Development sign-in as")).to_be_visible()
    assert any(u.startswith(f"{stack.oidc}/logout?") for _, u, _ in sent)
    assert page.evaluate("sessionStorage.getItem('tropical.token')") is None
    assert staff.problems == []


def test_an_expired_sign_in_is_said_and_signing_in_again_works(stack, watched):
    staff = watched()
    page = staff.page
    page.goto("/app/staff")
    _lifetime(stack, -120)  # expired on arrival: beyond the API's 30 s of leeway
    try:
        page.get_by_label("Development sign-in as").select_option("staff-1")
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("alert")).to_be_visible()
    finally:
        _lifetime(stack, 3600)
    expect(page.get_by_role("alert")).to_contain_text("Your sign-in has expired")
    expect(page.get_by_label("Development sign-in as")).to_be_visible()
    assert page.evaluate("sessionStorage.getItem('tropical.token')") is None
    staff.sign_in("staff-1")
    expect(page.locator("#board")).to_be_visible()
    staff.problems = [p for p in staff.problems if "401" not in p]  # the refused request
    assert staff.problems == []


def test_an_answer_that_no_sign_in_here_asked_for_is_refused(stack, watched):
    customer = watched()
    page = customer.page
    page.goto("/app")
    # a sign-in starts (its state and verifier are kept) but never reaches the issuer...
    page.route(f"{stack.oidc}/authorize**", lambda route: route.fulfill(status=204))
    page.get_by_label("Development sign-in as").select_option("customer-1")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_function("sessionStorage.getItem('tropical.signin') !== null")
    # ...and an answer with another state arrives: a code injected by someone else
    page.goto("/app?code=stolen-code&state=forged")
    expect(page.get_by_role("alert")).to_contain_text(
        "does not belong to a sign-in started in this tab"
    )
    assert "code=" not in page.url
    assert page.evaluate("sessionStorage.getItem('tropical.token')") is None
    expect(page.get_by_label("Development sign-in as")).to_be_visible()
