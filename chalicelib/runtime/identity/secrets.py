"""Secrets the functions read: fetched from Secrets Manager once per process.

Deployed, the HS256 signing key lives in Secrets Manager (generated once by the
template, kept across deploys) and only the functions that verify tokens may read it;
they get its ARN as JWT_SECRET_ARN. Locally and in tests, JWT_SECRET holds the key.
"""

from __future__ import annotations

from ..shared import Unavailable, cached_with_clients, client, settings


@cached_with_clients
def jwt_secret() -> str:
    """The HS256 key: JWT_SECRET, else the secret JWT_SECRET_ARN names (one call per
    process). Unavailable when Secrets Manager cannot be read (the caller answers 503)."""
    current = settings()
    if current.jwt_secret or not current.jwt_secret_arn:
        return current.jwt_secret
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        secret = client("secretsmanager").get_secret_value(SecretId=current.jwt_secret_arn)
    except (BotoCoreError, ClientError) as error:
        raise Unavailable(f"reading the signing key failed: {error}") from error
    return secret["SecretString"]
