"""The packaged template's sign-in: the user pool's OAuth client, domain, mail and sign-up
settings, the console's configuration, and no dependency cycle between them and the API."""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest

# AWS::Cognito::UserPoolDomain, Domain (CloudFormation reference and CreateUserPoolDomain):
# "This string can include only lowercase letters, numbers, and hyphens. Don't use a hyphen
# for the first or last character." Pattern ^[a-z0-9](?:[a-z0-9\-]{0,61}[a-z0-9])?$,
# length 1-63. The Cognito console adds that a prefix cannot contain aws, amazon or cognito.
DOMAIN_PREFIX = re.compile(r"[a-z0-9](?:[a-z0-9\-]{0,61}[a-z0-9])?")
RESERVED = ("aws", "amazon", "cognito")
# the longest stack name README "Deploy to AWS" allows for the derived sign-in domain
LONGEST_STACK_NAME = 50
ACCOUNT_ID = "123456789012"
SUB_NAME = re.compile(r"\$\{([A-Za-z0-9]+)(?:\.[A-Za-z0-9.]+)?\}")


def _resolve_if(value: Any, conditions: dict[str, bool]) -> Any:
    """``value`` with every Fn::If decided by ``conditions`` (AWS::NoValue dropped)."""
    if isinstance(value, dict):
        if set(value) == {"Fn::If"}:
            name, yes, no = value["Fn::If"]
            return _resolve_if(yes if conditions[name] else no, conditions)
        resolved = {k: _resolve_if(v, conditions) for k, v in value.items()}
        return {k: v for k, v in resolved.items() if v != {"Ref": "AWS::NoValue"}}
    if isinstance(value, list):
        return [_resolve_if(v, conditions) for v in value]
    return value


def _references(value: Any, into: set[str]) -> set[str]:
    """Every logical id ``value`` names through Ref, Fn::GetAtt or Fn::Sub."""
    if isinstance(value, dict):
        for key, inner in value.items():
            if key == "Ref" and isinstance(inner, str):
                into.add(inner)
            elif key == "Fn::GetAtt":
                into.add(inner[0] if isinstance(inner, list) else inner.split(".")[0])
            elif key == "Fn::Sub":
                text, names = (inner, {}) if isinstance(inner, str) else inner
                local = set(names)
                into.update(n for n in SUB_NAME.findall(text) if n not in local)
                _references(names, into)
            else:
                _references(inner, into)
    elif isinstance(value, list):
        for inner in value:
            _references(inner, into)
    return into


def dependency_cycle(template: dict[str, Any]) -> list[str] | None:
    """A cycle of resources that refer to each other (as CloudFormation's "Circular
    dependency between resources" refuses), or None."""
    resources = template["Resources"]
    edges: dict[str, set[str]] = {}
    for name, resource in resources.items():
        named = _references({k: v for k, v in resource.items() if k != "DependsOn"}, set())
        depends = resource.get("DependsOn", [])
        named.update([depends] if isinstance(depends, str) else depends)
        edges[name] = {n for n in named if n in resources and n != name}
    state: dict[str, str] = {}
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = "open"
        path.append(node)
        for target in sorted(edges[node]):
            if state.get(target) == "open":
                return [*path[path.index(target) :], target]
            if target not in state and (found := visit(target)):
                return found
        state[node] = "done"
        path.pop()
        return None

    for node in sorted(edges):
        if node not in state and (found := visit(node)):
            return found
    return None


def _stack_conditions(console_url: bool = True, **overrides: bool) -> dict[str, bool]:
    made = {
        "MakeUserPool": True, "UseHs256": False, "UseOtherIssuer": False,
        "UseExistingPool": False, "HasConsoleUrl": console_url, "HasDomainPrefix": False,
        "HasSesIdentity": False, "HasSesFromAddress": False, "AllowSelfSignUp": False,
        "HasSignInClientId": False,
    }  # fmt: skip
    made["OfferPoolSignIn"] = made["MakeUserPool"] and made["HasConsoleUrl"]
    return {**made, **overrides}


def test_the_packaged_template_has_no_dependency_cycle(template):
    assert dependency_cycle(template) is None


def test_the_cycle_check_finds_a_client_whose_callback_names_the_api(template):
    # the design this template avoids: the callback names the REST API, whose authorizer
    # and console function are told the client (OIDC_AUDIENCE, WEB_CLIENT_ID)
    planted = copy.deepcopy(template)
    client = planted["Resources"]["UserPoolClient"]["Properties"]
    client["CallbackURLs"] = [
        {"Fn::Sub": "https://${RestAPI}.execute-api.${AWS::Region}.amazonaws.com/api/app"}
    ]
    cycle = dependency_cycle(planted)
    assert cycle is not None and "RestAPI" in cycle and "UserPoolClient" in cycle


def test_the_console_client_uses_the_code_flow_only_with_its_callback(template):
    client = _resolve_if(template["Resources"]["UserPoolClient"], _stack_conditions())
    properties = client["Properties"]
    assert properties["AllowedOAuthFlowsUserPoolClient"] is True
    assert properties["AllowedOAuthFlows"] == ["code"]  # no implicit, no client_credentials
    assert properties["GenerateSecret"] is False  # a browser keeps no secret: PKCE instead
    assert {"openid", "email", "profile"} <= set(properties["AllowedOAuthScopes"])
    assert properties["CallbackURLs"] == [{"Ref": "ConsoleUrl"}]
    assert properties["LogoutURLs"] == [{"Ref": "ConsoleUrl"}]
    assert properties["SupportedIdentityProviders"] == ["COGNITO"]
    assert "implicit" not in str(template)


def test_before_the_console_url_is_known_the_client_offers_no_oauth(template):
    client = _resolve_if(template["Resources"]["UserPoolClient"], _stack_conditions(False))
    properties = client["Properties"]
    assert properties["AllowedOAuthFlowsUserPoolClient"] is False
    assert "CallbackURLs" not in properties and "AllowedOAuthFlows" not in properties
    api = template["Resources"]["APIHandler"]["Properties"]["Environment"]["Variables"]
    # so the console says sign-in is not configured rather than sending users to an error
    assert _resolve_if(api["WEB_SIGN_IN_URL"], _stack_conditions(False)) == ""


def test_the_console_is_told_the_pools_endpoints_and_client(template):
    api = template["Resources"]["APIHandler"]["Properties"]["Environment"]["Variables"]
    told = _resolve_if(api, _stack_conditions())
    domain = "https://${UserPoolDomain}.auth.${AWS::Region}.amazoncognito.com"
    assert told["WEB_SIGN_IN_URL"] == {"Fn::Sub": f"{domain}/oauth2/authorize"}
    assert told["WEB_TOKEN_URL"] == {"Fn::Sub": f"{domain}/oauth2/token"}
    assert told["WEB_SIGN_OUT_URL"] == {"Fn::Sub": f"{domain}/logout"}
    assert _references(told["WEB_CLIENT_ID"], set()) == {"UserPoolClient"}
    assert told["WEB_REDIRECT_URL"] == {"Ref": "ConsoleUrl"}
    assert told["ROLES_CLAIM"] == {"Ref": "RolesClaim"}
    authorizer = template["Resources"]["JwtAuthorizer"]["Properties"]["Environment"]
    audience = _resolve_if(authorizer["Variables"]["OIDC_AUDIENCE"], _stack_conditions())
    assert audience == told["WEB_CLIENT_ID"]  # the API takes what the console signs in as


def test_another_issuer_gives_the_console_its_endpoints_by_parameter(template):
    api = template["Resources"]["APIHandler"]["Properties"]["Environment"]["Variables"]
    other = _stack_conditions(MakeUserPool=False, UseOtherIssuer=True, OfferPoolSignIn=False)
    told = _resolve_if(api, other)
    assert told["WEB_SIGN_IN_URL"] == {"Ref": "SignInAuthorizeUrl"}
    assert told["WEB_TOKEN_URL"] == {"Ref": "SignInTokenUrl"}
    assert told["WEB_CLIENT_ID"] == {"Ref": "OidcAudience"}
    told = _resolve_if(api, {**other, "HasSignInClientId": True})
    assert told["WEB_CLIENT_ID"] == {"Ref": "SignInClientId"}


def test_the_pool_has_a_domain_derived_from_the_stack_name(template):
    domain = template["Resources"]["UserPoolDomain"]
    assert domain["Condition"] == "MakeUserPool"
    assert domain["Properties"]["UserPoolId"] == {"Ref": "UserPool"}
    derived = _resolve_if(domain["Properties"]["Domain"], _stack_conditions())
    assert derived == {"Fn::Sub": "${AWS::StackName}-${AWS::AccountId}"}
    for stack_name in ("tropical-prod", "t" * LONGEST_STACK_NAME):
        prefix = f"{stack_name}-{ACCOUNT_ID}"
        assert DOMAIN_PREFIX.fullmatch(prefix) and len(prefix) <= 63, prefix
    assert len(f"{'t' * (LONGEST_STACK_NAME + 1)}-{ACCOUNT_ID}") > 63  # the limit is tight
    pattern = template["Parameters"]["SignInDomainPrefix"]["AllowedPattern"]
    assert re.fullmatch(pattern, "") and re.fullmatch(pattern, "pizza-login")
    for bad in ("-pizza", "Pizza", "pizza_login", "p" * 64):
        assert not re.fullmatch(pattern, bad), bad
    assert not any(word in "tropical-prod" for word in RESERVED)


@pytest.mark.parametrize(
    ("conditions", "expected"),
    [
        ({}, {"EmailSendingAccount": "COGNITO_DEFAULT"}),
        (
            {"HasSesIdentity": True},
            {"EmailSendingAccount": "DEVELOPER", "SourceArn": {"Ref": "SesIdentityArn"}},
        ),
    ],
)
def test_mail_goes_through_ses_when_an_identity_is_given(template, conditions, expected):
    pool = _resolve_if(template["Resources"]["UserPool"], _stack_conditions(**conditions))
    assert pool["Properties"]["EmailConfiguration"] == expected


def test_sign_up_is_by_administrators_unless_asked_and_recovery_is_by_email(template):
    pool = template["Resources"]["UserPool"]
    closed = _resolve_if(pool, _stack_conditions())["Properties"]
    assert closed["AdminCreateUserConfig"] == {"AllowAdminCreateUserOnly": True}
    assert closed["AccountRecoverySetting"] == {
        "RecoveryMechanisms": [{"Name": "verified_email", "Priority": 1}]
    }
    opened = _resolve_if(pool, _stack_conditions(AllowSelfSignUp=True))["Properties"]
    assert opened["AdminCreateUserConfig"] == {"AllowAdminCreateUserOnly": False}
    rule = template["Rules"]["SelfSignUpNeedsSes"]
    assert rule["RuleCondition"] == {"Fn::Equals": [{"Ref": "SelfSignUp"}, "true"]}
    assert rule["Assertions"][0]["Assert"] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "SesIdentityArn"}, ""]}]
    }


def test_the_console_url_parameter_takes_only_an_https_address(template):
    pattern = template["Parameters"]["ConsoleUrl"]["AllowedPattern"]
    good = (
        "",
        "https://abc123.execute-api.eu-west-1.amazonaws.com/api/app",
        "https://p.example/app",
    )
    for url in good:
        assert re.fullmatch(pattern, url), url
    for url in ("http://p.example/app", "https://p.example/app/", "https://p.example/app?x=1"):
        assert not re.fullmatch(pattern, url), url
    assert template["Outputs"]["ConsoleUrl"]["Value"] == {
        "Fn::Sub": "https://${RestAPI}.execute-api.${AWS::Region}.${AWS::URLSuffix}/api/app"
    }
