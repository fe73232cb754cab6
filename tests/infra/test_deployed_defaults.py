"""The expanded template with its default parameters (sign-in through a Cognito user pool
the stack makes) created in the embedded AWS."""

from __future__ import annotations

from collections import Counter

from tests.infra.deployed import embedded_stack, read_wiring

STACK = "pizzas-defaults"


def test_default_parameters_make_the_user_pool_and_point_the_verifiers_at_it(expanded, packaged):
    with embedded_stack(expanded, packaged, STACK, {}) as (deployed, session):
        made = Counter(deployed.by_api.values())
        assert made["AWS::Cognito::UserPool"] == 1 and made["AWS::Cognito::UserPoolGroup"] == 3
        assert "AWS::SecretsManager::Secret" not in made  # hs256 only
        idp = session.client("cognito-idp")
        [pool] = idp.list_user_pools(MaxResults=10)["UserPools"]
        assert pool["Name"] == f"{STACK}-users"
        groups = idp.list_groups(UserPoolId=pool["Id"])["Groups"]
        assert sorted(g["GroupName"] for g in groups) == ["customer", "manager", "staff"]
        [client] = idp.list_user_pool_clients(UserPoolId=pool["Id"])["UserPoolClients"]
        wiring = read_wiring(session, STACK)
        issuer = f"https://cognito-idp.us-east-1.amazonaws.com/{pool['Id']}"
        for handler in ("jwt_authorizer", "ws_connect"):
            environment = wiring.functions[handler].environment
            assert environment["OIDC_ISSUER"] == issuer
            assert environment["OIDC_AUDIENCE"] == client["ClientId"]
            assert environment["ROLES_CLAIM"] == "cognito:groups"
            assert "JWT_SECRET_ARN" not in environment
