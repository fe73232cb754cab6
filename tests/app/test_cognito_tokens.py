"""Tokens of the user pool as the template makes it: moto's Cognito creates the pool, the
console's client, the domain and the groups with the template's own properties; a user in
the ``staff`` group gets real tokens; the API (through the real Chalice authorizer) and the
websocket ``$connect`` accept them through the JWKS the pool publishes.

The JWKS comes from the local stack's moto server (``/<pool id>/.well-known/jwks.json``):
``OIDC_JWKS_URL`` names it, and plain http is allowed only on 127.0.0.1, as for every
issuer; a deployed stage finds Cognito's HTTPS key set by discovery.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import boto3
import jwt
import pytest

from chalicelib.runtime import clients
from chalicelib.runtime.identity import check_url
from tests.shop import REGION

TEMPLATE = Path(__file__).resolve().parents[2] / "infra" / "resources.json"
STACK = "tropical"
ACCOUNT = "123456789012"
CONSOLE_URL = f"https://abc123.execute-api.{REGION}.amazonaws.com/api/app"
PARAMETERS = {"ConsoleUrl": CONSOLE_URL, "SelfSignUp": "false", "SesIdentityArn": ""}
CONDITIONS = {
    "HasConsoleUrl": True, "HasSesIdentity": False, "HasSesFromAddress": False,
    "AllowSelfSignUp": False, "HasDomainPrefix": False,
}  # fmt: skip
PASSWORD = "Tropical-pizza-42"


def _resolve(value: Any) -> Any:
    """A template value with this stack's parameters, conditions and pseudo parameters."""
    pseudo = {"AWS::StackName": STACK, "AWS::AccountId": ACCOUNT, "AWS::Region": REGION}
    if isinstance(value, dict):
        if "Fn::If" in value:
            name, yes, no = value["Fn::If"]
            return _resolve(yes if CONDITIONS[name] else no)
        if "Fn::Sub" in value:
            return re.sub(r"\$\{([^}]+)\}", lambda m: pseudo[m.group(1)], value["Fn::Sub"])
        if "Ref" in value and value["Ref"] in PARAMETERS:
            return PARAMETERS[value["Ref"]]
        resolved = {k: _resolve(v) for k, v in value.items()}
        return {k: v for k, v in resolved.items() if v != NO_VALUE}
    if isinstance(value, list):
        return [_resolve(v) for v in value]
    return value


NO_VALUE = {"Ref": "AWS::NoValue"}


def _properties(resources: dict[str, Any], name: str) -> dict[str, Any]:
    return _resolve(resources[name]["Properties"])


@pytest.fixture
def pool(aws, moto_jwks):
    """The template's user pool, console client, domain and groups, made in moto."""
    resources = json.loads(TEMPLATE.read_text())["Resources"]
    cognito = boto3.client("cognito-idp", region_name=REGION)
    made = _properties(resources, "UserPool")
    made["PoolName"] = made.pop("UserPoolName")
    pool_id = cognito.create_user_pool(**made)["UserPool"]["Id"]
    client = _properties(resources, "UserPoolClient")
    client["UserPoolId"] = pool_id
    client_id = cognito.create_user_pool_client(**client)["UserPoolClient"]["ClientId"]
    domain = _properties(resources, "UserPoolDomain")
    cognito.create_user_pool_domain(Domain=domain["Domain"], UserPoolId=pool_id)
    for name, resource in resources.items():
        if resource.get("Type") == "AWS::Cognito::UserPoolGroup":
            group = _properties(resources, name)
            cognito.create_group(GroupName=group["GroupName"], UserPoolId=pool_id)
    return cognito, pool_id, client_id, made, client


@pytest.fixture
def moto_jwks():
    """The local stack's moto server, serving each pool's JWKS over http on 127.0.0.1."""
    from local.moto_server import MotoServer

    server = MotoServer().start()
    yield server.url
    server.stop()


def _user(cognito, pool_id: str, client_id: str, email: str, groups: list[str]) -> dict:
    """A user as README "Deploy to AWS" makes one, signed in: their tokens."""
    cognito.admin_create_user(
        UserPoolId=pool_id, Username=email, MessageAction="SUPPRESS",
        UserAttributes=[{"Name": "email", "Value": email},
                        {"Name": "email_verified", "Value": "true"}],
    )  # fmt: skip
    cognito.admin_set_user_password(
        UserPoolId=pool_id, Username=email, Password=PASSWORD, Permanent=True
    )
    for group in groups:
        cognito.admin_add_user_to_group(UserPoolId=pool_id, Username=email, GroupName=group)
    # moto does not check the client's ExplicitAuthFlows (SRP and refresh only): on AWS the
    # console gets the same tokens from the domain's /oauth2/token (the code flow)
    answer = cognito.admin_initiate_auth(
        UserPoolId=pool_id, ClientId=client_id, AuthFlow="ADMIN_USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": email, "PASSWORD": PASSWORD},
    )  # fmt: skip
    return answer["AuthenticationResult"]


@pytest.fixture
def cognito_shop(pool, moto_jwks, shop, monkeypatch):
    """The app configured as the stack configures its authorizer for the pool it made."""
    cognito, pool_id, client_id, _, _ = pool
    monkeypatch.setenv("AUTH_MODE", "oidc")
    monkeypatch.setenv("OIDC_ISSUER", f"https://cognito-idp.{REGION}.amazonaws.com/{pool_id}")
    monkeypatch.setenv("OIDC_AUDIENCE", client_id)
    monkeypatch.setenv("OIDC_JWKS_URL", f"{moto_jwks}/{pool_id}/.well-known/jwks.json")
    monkeypatch.setenv("ROLES_CLAIM", "cognito:groups")
    clients.reset()
    staff = _user(cognito, pool_id, client_id, "kai@example.com", ["staff"])
    customer = _user(cognito, pool_id, client_id, "ana@example.com", [])
    yield shop, staff, customer, pool
    clients.reset()


def test_the_pool_and_client_are_made_with_the_templates_sign_in_settings(pool):
    cognito, pool_id, client_id, _, _ = pool
    described = cognito.describe_user_pool_client(UserPoolId=pool_id, ClientId=client_id)
    client = described["UserPoolClient"]
    assert client["AllowedOAuthFlows"] == ["code"]
    assert client["CallbackURLs"] == [CONSOLE_URL] and client["LogoutURLs"] == [CONSOLE_URL]
    assert client["SupportedIdentityProviders"] == ["COGNITO"]
    assert "ClientSecret" not in client
    user_pool = cognito.describe_user_pool(UserPoolId=pool_id)["UserPool"]
    assert user_pool["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] is True
    assert user_pool["Domain"] == f"{STACK}-{ACCOUNT}"


def test_the_api_accepts_the_pools_access_token_the_console_sends(cognito_shop):
    shop, staff, customer, _ = cognito_shop
    claims = jwt.decode(staff["AccessToken"], options={"verify_signature": False})
    assert claims["token_use"] == "access" and "aud" not in claims
    assert claims["cognito:groups"] == ["staff"]
    answer = shop.call("GET", "/kitchen/orders", staff["AccessToken"])
    assert answer.status_code == 200, answer.body
    placed = shop.call("POST", "/orders", customer["AccessToken"], {"pizza": _pizza()})
    assert placed.status_code == 201, placed.body
    customer_sub = jwt.decode(customer["AccessToken"], options={"verify_signature": False})
    assert placed.json_body["customerId"] == customer_sub["sub"]
    refused = shop.call("GET", "/kitchen/orders", customer["AccessToken"])
    assert refused.status_code == 403  # no staff group: a customer


def test_the_api_accepts_the_pools_id_token_too(cognito_shop):
    shop, staff, _, _ = cognito_shop
    assert shop.call("GET", "/kitchen/orders", staff["IdToken"]).status_code == 200


def test_a_token_of_another_client_of_the_pool_is_refused(cognito_shop):
    shop, _, _, (cognito, pool_id, _, _, _) = cognito_shop
    other = cognito.create_user_pool_client(
        UserPoolId=pool_id, ClientName="someone-elses-app", GenerateSecret=False
    )["UserPoolClient"]["ClientId"]
    answer = cognito.admin_initiate_auth(
        UserPoolId=pool_id, ClientId=other, AuthFlow="ADMIN_USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": "kai@example.com", "PASSWORD": PASSWORD},
    )  # fmt: skip
    token = answer["AuthenticationResult"]["AccessToken"]
    refused = shop.call("GET", "/kitchen/orders", token)
    assert refused.status_code == 401
    assert "is not meant for audience" in refused.json_body["message"]


def test_the_websocket_connect_accepts_the_pools_tokens(cognito_shop):
    shop, staff, customer, _ = cognito_shop
    order_id = shop.call("POST", "/orders", customer["AccessToken"], {"pizza": _pizza()})
    order_id = order_id.json_body["orderId"]
    for token in (customer["AccessToken"], staff["AccessToken"]):
        connected = shop.ws("connect", "conn-cognito", {"orderId": order_id, "token": token})
        assert connected["statusCode"] == 200, connected
    head, claims, _ = staff["AccessToken"].split(".")
    forged = f"{head}.{claims}.{customer['AccessToken'].split('.')[2]}"  # another's signature
    refused = shop.ws("connect", "conn-forged", {"orderId": order_id, "token": forged})
    assert refused["statusCode"] == 401


def test_the_jwks_may_be_plain_http_only_on_this_machine():
    assert check_url("http://127.0.0.1:5000/p/.well-known/jwks.json", "the JWKS URL")
    with pytest.raises(ValueError, match="https://"):
        check_url("http://cognito-idp.eu-west-1.amazonaws.com/p/.well-known/jwks.json", "x")


def _pizza() -> dict[str, Any]:
    return {"name": "Hawaii deluxe", "size": "large", "toppings": ["pineapple"]}
