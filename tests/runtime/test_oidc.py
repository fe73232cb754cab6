"""Tokens of an OpenID Connect issuer: RS256/ES256 keys from its JWKS, cached and rotated.

The issuer is local/oidc.py's development issuer, not served: its discovery document and
JWKS reach the verifier through a counting fetch, and a fake clock moves time on.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import jwt
import pytest

from chalicelib.runtime import Settings, Unauthorized, auth
from chalicelib.runtime.identity import SigningKeys
from local.oidc import DevIssuer

MIN_REFRESH = 30
MAX_AGE = 3600


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Issuer:
    """A development issuer whose documents are fetched through ``fetch`` (counted)."""

    def __init__(self, url_port: int = 0) -> None:
        self.dev = DevIssuer(url_port)
        self.dev.stop()  # never served: documents come through fetch
        self.urls: list[str] = []
        self.down = False

    def fetch(self, url: str):
        self.urls.append(url)
        if self.down:
            raise ConnectionRefusedError("connection refused")
        if url == f"{self.dev.url}/.well-known/openid-configuration":
            return self.dev.discovery()
        if url == f"{self.dev.url}/jwks.json":
            return self.dev.jwks()
        raise OSError(f"HTTP Error 404: {url}")


@pytest.fixture
def issuer():
    return Issuer()


@pytest.fixture
def clock():
    return Clock()


def _trust(issuer: Issuer, clock: Clock, roles_claim: str = "roles") -> auth.OidcTrust:
    keys = SigningKeys(
        issuer.dev.url, max_age_seconds=MAX_AGE, min_refresh_seconds=MIN_REFRESH,
        fetch=issuer.fetch, clock=clock,
    )  # fmt: skip
    return auth.OidcTrust(issuer.dev.url, issuer.dev.audience, keys, roles_claim)


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def test_a_token_of_the_issuer_gives_its_user_and_roles(issuer, clock):
    principal = auth.verify("Bearer " + issuer.dev.mint("alice", ["staff"]), _trust(issuer, clock))
    assert principal.user == "alice"
    assert principal.is_staff


def test_es256_keys_verify_too(issuer, clock):
    issuer.dev.rotate("ES256")
    token = issuer.dev.mint("alice")
    assert jwt.get_unverified_header(token)["alg"] == "ES256"
    assert auth.verify(token, _trust(issuer, clock)).user == "alice"


@pytest.mark.parametrize(
    "claims, message",
    [
        ({"iss": "https://evil.example"}, "token was not issued by http://127.0.0.1"),
        ({"aud": "another-app"}, "not meant for audience tropical-pizzas-local"),
        ({"aud": ["another-app", "a-third"]}, "not meant for audience"),
        ({"exp": -120}, "token expired"),
        ({"nbf": 600}, "token not valid yet"),
        ({"iat": 600}, "token not valid yet"),
        ({"exp": None}, "no expiry"),
        ({"iss": None}, "no issuer"),
        ({"sub": 42}, "no subject"),
        ({"sub": ""}, "no subject"),
    ],
    ids=["issuer", "audience", "audiences", "expired", "nbf", "iat", "no exp", "no iss",
         "sub not a string", "empty sub"],
)  # fmt: skip
def test_a_token_that_is_not_for_us_or_not_now_is_refused_saying_why(
    issuer, clock, claims, message
):
    now = int(time.time())  # times are given as seconds from now, taken when the test runs
    claims = {k: now + v if k in ("exp", "nbf", "iat") and v else v for k, v in claims.items()}
    token = issuer.dev.mint("alice", **claims)
    with pytest.raises(Unauthorized, match=message):
        auth.verify(token, _trust(issuer, clock))


def test_a_token_with_several_audiences_including_ours_is_accepted(issuer, clock):
    token = issuer.dev.mint("alice", aud=["another-app", issuer.dev.audience])
    assert auth.verify(token, _trust(issuer, clock)).user == "alice"


def test_cognito_access_tokens_name_the_client_in_client_id(issuer, clock):
    trust = _trust(issuer, clock)
    ours = issuer.dev.mint("alice", aud=None, client_id=issuer.dev.audience, token_use="access")
    assert "aud" not in jwt.decode(ours, options={"verify_signature": False})
    assert auth.verify(ours, trust).user == "alice"
    theirs = issuer.dev.mint("alice", aud=None, client_id="another-app")
    with pytest.raises(Unauthorized, match="not meant for audience"):
        auth.verify(theirs, trust)
    with pytest.raises(Unauthorized, match="no audience"):
        auth.verify(issuer.dev.mint("alice", aud=None), trust)


def test_an_unknown_key_id_fetches_the_keys_once_then_is_refused(issuer, clock):
    trust = _trust(issuer, clock)
    auth.verify(issuer.dev.mint("alice"), trust)
    fetches = trust.keys.fetches
    clock.now += MIN_REFRESH
    forged = DevIssuer()
    forged.stop()
    token = forged.mint("mallory", iss=issuer.dev.url)  # right issuer, a key it never had
    with pytest.raises(Unauthorized, match=r"token signing key 'dev-\w+' is not one of the issuer"):
        auth.verify(token, trust)
    assert trust.keys.fetches == fetches + 1
    for _ in range(50):  # more forged key ids: no more fetches within the rate limit
        with pytest.raises(Unauthorized, match="not one of the issuer's keys"):
            auth.verify(forged.mint("mallory", iss=issuer.dev.url), trust)
    assert trust.keys.fetches == fetches + 1


def test_keys_are_fetched_once_not_per_request(issuer, clock):
    trust = _trust(issuer, clock)
    for user in range(100):
        assert auth.verify(issuer.dev.mint(f"user-{user}"), trust).user == f"user-{user}"
        clock.now += 40  # 100 requests over 4,000 s
    # discovery, then the key set once, then again once it was an hour old
    assert issuer.urls == [
        f"{issuer.dev.url}/.well-known/openid-configuration", f"{issuer.dev.url}/jwks.json",
        f"{issuer.dev.url}/jwks.json",
    ]  # fmt: skip


def test_rotation_old_tokens_work_until_their_key_is_dropped(issuer, clock):
    trust = _trust(issuer, clock)
    old_kid = issuer.dev.current_kid
    old = issuer.dev.mint("alice")
    assert auth.verify(old, trust).user == "alice"
    clock.now += MIN_REFRESH
    issuer.dev.rotate()
    new = issuer.dev.mint("bob")
    assert jwt.get_unverified_header(new)["kid"] != old_kid
    assert auth.verify(new, trust).user == "bob"  # unknown kid: fetched, found
    assert auth.verify(old, trust).user == "alice"  # the old key is still published
    issuer.dev.drop(old_kid)
    clock.now += 60
    assert auth.verify(old, trust).user == "alice"  # held until the set is an hour old
    clock.now += MAX_AGE
    with pytest.raises(Unauthorized, match=f"token signing key '{old_kid}' is not one of"):
        auth.verify(old, trust)
    assert auth.verify(new, trust).user == "bob"


def test_a_new_key_waits_for_the_rate_limit_to_be_fetched(issuer, clock):
    trust = _trust(issuer, clock)
    auth.verify(issuer.dev.mint("alice"), trust)
    issuer.dev.rotate()
    new = issuer.dev.mint("bob")
    with pytest.raises(Unauthorized, match="not one of the issuer's keys"):
        auth.verify(new, trust)  # the set was fetched a moment ago
    clock.now += MIN_REFRESH
    assert auth.verify(new, trust).user == "bob"


def test_an_issuer_that_is_down_keeps_the_keys_already_fetched(issuer, clock):
    trust = _trust(issuer, clock)
    token = issuer.dev.mint("alice")
    auth.verify(token, trust)
    issuer.down = True
    clock.now += MAX_AGE + 1
    assert auth.verify(token, trust).user == "alice"


def test_an_issuer_down_from_the_start_is_a_clear_401_and_not_hammered(issuer, clock):
    trust = _trust(issuer, clock)
    issuer.down = True
    for _ in range(10):
        with pytest.raises(Unauthorized, match="keys could not be fetched: connection refused"):
            auth.verify(issuer.dev.mint("alice"), trust)
    assert len(issuer.urls) == 1
    issuer.down = False
    clock.now += MIN_REFRESH
    assert auth.verify(issuer.dev.mint("alice"), trust).user == "alice"


def test_an_hs256_token_signed_with_the_public_key_is_refused(issuer, clock):
    """Algorithm confusion: the RSA public key (public) used as an HMAC secret."""
    from cryptography.hazmat.primitives import serialization

    trust = _trust(issuer, clock)
    kid = issuer.dev.current_kid
    public = issuer.dev._keys[kid][1].public_key()
    pem = public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    claims = jwt.decode(issuer.dev.mint("mallory"), options={"verify_signature": False})
    signing_input = f"{_b64({'alg': 'HS256', 'kid': kid})}.{_b64(claims)}"
    digest = hmac.new(pem, signing_input.encode(), hashlib.sha256).digest()
    forged = f"{signing_input}.{base64.urlsafe_b64encode(digest).rstrip(b'=').decode()}"
    with pytest.raises(Unauthorized, match="must be signed with RS256 or ES256, not 'HS256'"):
        auth.verify(forged, trust)


def test_a_token_claiming_another_algorithm_than_its_key_is_refused(issuer, clock):
    trust = _trust(issuer, clock)
    rsa_kid = issuer.dev.current_kid
    issuer.dev.rotate("ES256")
    es = issuer.dev.mint("mallory")
    _, claims, signature = es.split(".")
    relabelled = f"{_b64({'alg': 'ES256', 'kid': rsa_kid})}.{claims}.{signature}"
    with pytest.raises(Unauthorized, match="algorithm refused"):
        auth.verify(relabelled, trust)


@pytest.mark.parametrize("alg", ["none", "None", "HS512", "RS512", None])
def test_tokens_without_an_asymmetric_signature_are_refused(issuer, clock, alg):
    claims = jwt.decode(issuer.dev.mint("mallory"), options={"verify_signature": False})
    token = f"{_b64({'alg': alg, 'kid': issuer.dev.current_kid})}.{_b64(claims)}."
    with pytest.raises(Unauthorized, match="must be signed with RS256 or ES256"):
        auth.verify(token, _trust(issuer, clock))


def test_a_token_without_a_key_id_is_refused(issuer, clock):
    claims = jwt.decode(issuer.dev.mint("mallory"), options={"verify_signature": False})
    key = issuer.dev._keys[issuer.dev.current_kid][1]
    token = jwt.encode(claims, key, algorithm="RS256")
    with pytest.raises(Unauthorized, match="no key id"):
        auth.verify(token, _trust(issuer, clock))


@pytest.mark.parametrize(
    "entry",
    [
        {"kty": "oct", "k": "c2VjcmV0", "alg": "HS256"},
        {"kty": "RSA", "use": "enc", "alg": "RSA-OAEP"},
        {"kty": "EC", "crv": "P-384", "alg": "ES384"},
    ],
    ids=["hmac", "encryption", "es384"],
)
def test_keys_we_do_not_verify_with_are_left_out_of_the_set(issuer, clock, entry):
    """A JWKS is public: an HMAC ("oct") key in it would let anyone sign; encryption keys
    share the set with signing keys (Keycloak)."""
    trust = _trust(issuer, clock)
    published = issuer.dev.jwks()
    model = dict(published["keys"][0])
    published["keys"].append({**model, **entry, "kid": "odd"})
    issuer.dev.jwks = lambda: published
    assert trust.keys.key(issuer.dev.current_kid)
    with pytest.raises(Unauthorized, match="'odd' is not one of the issuer's keys"):
        trust.keys.key("odd")


@pytest.mark.parametrize(
    "claim, claims, roles",
    [
        ("cognito:groups", {"cognito:groups": ["staff", "customers"]}, {"staff", "customers"}),
        ("groups", {"groups": "staff"}, {"staff"}),
        ("groups", {"groups": []}, set()),
        ("groups", {}, set()),
        ("realm_access.roles", {"realm_access": {"roles": ["staff"]}}, {"staff"}),
        ("https://t.example/roles", {"https://t.example/roles": ["staff"]}, {"staff"}),
        ("groups", {"groups": ["staff", "Sales, EMEA"]}, {"staff"}),
    ],
    ids=["cognito", "one string", "empty", "absent", "keycloak nested", "namespaced",
         "comma dropped"],
)  # fmt: skip
def test_roles_come_from_the_configured_claim(issuer, clock, claim, claims, roles):
    token = issuer.dev.mint("alice", **claims)
    assert auth.verify(token, _trust(issuer, clock, claim)).roles == roles


def test_roles_in_another_claim_than_the_configured_one_are_not_roles(issuer, clock):
    token = issuer.dev.mint("alice", **{"cognito:groups": ["staff"]})
    assert not auth.verify(token, _trust(issuer, clock, "roles")).is_staff


@pytest.mark.parametrize("value", [[1], {"a": "staff"}, 5])
def test_roles_that_are_not_strings_are_refused(issuer, clock, value):
    token = issuer.dev.mint("alice", **{"cognito:groups": value})
    with pytest.raises(Unauthorized, match="'cognito:groups' must be a list of strings"):
        auth.verify(token, _trust(issuer, clock, "cognito:groups"))


def test_modes_do_not_accept_each_others_tokens(issuer, clock):
    with pytest.raises(Unauthorized, match="must be signed with RS256 or ES256, not 'HS256'"):
        auth.verify(auth.issue("a-development-secret", "alice"), _trust(issuer, clock))
    with pytest.raises(Unauthorized, match="must be signed with HS256"):
        auth.verify(issuer.dev.mint("alice"), "a-development-secret")


def test_an_unconfigured_issuer_refuses_everything(issuer, clock):
    trust = _trust(issuer, clock)
    for broken in (
        auth.OidcTrust("", issuer.dev.audience, trust.keys),
        auth.OidcTrust(issuer.dev.url, "", trust.keys),
    ):
        with pytest.raises(Unauthorized, match="OIDC_ISSUER and OIDC_AUDIENCE must be set"):
            auth.verify(issuer.dev.mint("alice"), broken)


def test_a_discovery_document_of_another_issuer_is_not_trusted(issuer, clock):
    trust = _trust(issuer, clock)
    issuer.dev.discovery = lambda: {"issuer": "https://evil.example", "jwks_uri": "https://x"}
    with pytest.raises(Unauthorized, match="could not be fetched: the discovery document"):
        auth.verify(issuer.dev.mint("alice"), trust)


@pytest.mark.parametrize("url", ["http://keys.example/jwks.json", "file:///etc/passwd"])
def test_keys_are_fetched_over_https_only(issuer, clock, url):
    keys = SigningKeys(issuer.dev.url, url, fetch=issuer.fetch, clock=clock)
    trust = auth.OidcTrust(issuer.dev.url, issuer.dev.audience, keys)
    with pytest.raises(Unauthorized, match="must be an https:// URL"):
        auth.verify(issuer.dev.mint("alice"), trust)
    assert issuer.urls == []


def test_the_given_jwks_url_skips_discovery(issuer, clock):
    keys = SigningKeys(issuer.dev.url, f"{issuer.dev.url}/jwks.json", fetch=issuer.fetch)
    trust = auth.OidcTrust(issuer.dev.url, issuer.dev.audience, keys)
    assert auth.verify(issuer.dev.mint("alice"), trust).user == "alice"
    assert issuer.urls == [f"{issuer.dev.url}/jwks.json"]


@pytest.mark.parametrize(
    "env, mode",
    [
        ({}, "hs256"),
        ({"OIDC_ISSUER": "https://idp.example"}, "oidc"),
        ({"OIDC_ISSUER": "https://idp.example", "AUTH_MODE": "hs256"}, "hs256"),
    ],
)
def test_the_mode_follows_the_environment(monkeypatch, env, mode):
    for name in ("AUTH_MODE", "OIDC_ISSUER", "OIDC_AUDIENCE", "ROLES_CLAIM"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("JWT_SECRET", "the-secret")
    from chalicelib.runtime import clients

    clients.reset()  # the secret read once per process: not what an earlier test read
    auth.trusted.cache_clear()
    settings = Settings.from_environment()
    assert settings.auth_mode == mode
    trust = auth.trusted(settings)
    if mode == "hs256":
        assert trust == "the-secret"
    else:
        assert (trust.issuer, trust.roles_claim) == ("https://idp.example", "roles")
        assert auth.trusted(settings) is trust  # one key cache per configuration
