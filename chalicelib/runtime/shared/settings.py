"""Settings, read from the environment once per process (Lambda or local stack)."""

from __future__ import annotations

import os
from functools import lru_cache
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from .wiring import EVENT_SOURCE, PREFIX, TABLE, TIMERS_QUEUE


class Settings(BaseModel):
    """Where the runtime's AWS resources are and how it behaves.

    Environment: TABLE_NAME, TOPIC_ARN, AWS_ENDPOINT_URL (moto or another
    AWS-compatible endpoint; unset on AWS), WEBSOCKET_ENDPOINT (the websocket
    API's management URL), JWT_SECRET, AWS_REGION / AWS_DEFAULT_REGION,
    OUTBOX_GRACE_SECONDS (how old a pending outbox must be before the sweeper sends it),
    TIMERS_QUEUE_URL (else the queue named ``timers_queue`` is looked up once).
    Logs and metrics: POWERTOOLS_SERVICE_NAME (the stack's name: the ``service`` of every
    log line and metric) and POWERTOOLS_METRICS_NAMESPACE.

    Sign-in: AUTH_MODE ``oidc`` (tokens of an OpenID Connect issuer: OIDC_ISSUER,
    OIDC_AUDIENCE, OIDC_JWKS_URL when discovery should be skipped, ROLES_CLAIM,
    JWKS_MAX_AGE_SECONDS, JWKS_MIN_REFRESH_SECONDS) or ``hs256`` (local development:
    tokens signed with JWT_SECRET). Unset, it is ``oidc`` when OIDC_ISSUER is set.
    """

    model_config = ConfigDict(frozen=True)

    table_name: str = TABLE
    topic_arn: str = ""
    region: str = "us-east-1"
    endpoint_url: str | None = None
    websocket_endpoint: str | None = None
    auth_mode: Literal["oidc", "hs256"] = "hs256"
    jwt_secret: str = ""
    # deployed: the secret's ARN in Secrets Manager (read once, by the functions that verify)
    jwt_secret_arn: str | None = None
    oidc_issuer: str = ""
    oidc_audience: str = ""
    oidc_jwks_url: str | None = None
    # the claim holding the caller's roles: Cognito "cognito:groups", Entra/Auth0 "roles",
    # Okta "groups", Keycloak "realm_access.roles" (a dotted path into nested claims)
    roles_claim: str = "roles"
    # how long the issuer's keys are trusted before they are fetched again (a key dropped
    # from the issuer's set stops working after at most this long), and how often an
    # unknown key id may trigger a fetch (forged ids cannot hammer the issuer)
    jwks_max_age_seconds: float = Field(default=3600, gt=0)
    jwks_min_refresh_seconds: float = Field(default=30, ge=0)
    event_source: str = EVENT_SOURCE
    # how long one request keeps retrying lost races on its instance before 409 (it stays
    # well inside API Gateway's 29 s together with after_commit_seconds)
    commit_race_seconds: float = Field(default=5.0, gt=0, le=10)
    outbox_grace_seconds: int = Field(default=30, ge=0)
    max_publish_attempts: int = Field(default=3, ge=1)
    # how long ids are remembered: bus and timer events for SQS's longest retention
    # (14 days) plus a day; Idempotency-Keys for a day (Stripe's window)
    event_id_ttl_seconds: int = Field(default=15 * 86400, ge=60)
    idempotency_ttl_seconds: int = Field(default=86400, ge=60)
    # shards of the pending index: one GSI partition key takes ~1,000 writes/s. Raise
    # them freely; lowering strands items pending in the shards dropped until re-raised
    outbox_shards: int = Field(default=32, ge=1, le=1000)
    station_shards: int = Field(default=8, ge=1, le=1000)
    worklist_shards: int = Field(default=8, ge=1, le=1000)
    # the sweeper's work per run (the rest waits for the next run)
    sweep_max_instances: int = Field(default=500, ge=1)
    sweep_max_seconds: float = Field(default=40.0, gt=0)
    # how long a request may spend after its commit (sending, feeding completions back)
    # before it leaves the rest to the sweeper: well inside API Gateway's 29 s
    after_commit_seconds: float = Field(default=10.0, ge=0)
    # websocket connections following one instance, and how long a record lives
    # (API Gateway closes a websocket after 2 hours)
    max_connections_per_instance: int = Field(default=100, ge=1)
    connection_ttl_seconds: int = Field(default=2 * 3600 + 300, ge=60)
    # refuse a commit before the instance item nears DynamoDB's 400 KB item limit
    max_instance_bytes: int = Field(default=350 * 1024, ge=1024)
    timers_queue: str = TIMERS_QUEUE
    timers_queue_url: str | None = None
    service_name: str = PREFIX
    metrics_namespace: str = "TropicalPizzas"

    @classmethod
    def from_environment(cls) -> Settings:
        env = os.environ
        return cls(
            table_name=env.get("TABLE_NAME", TABLE),
            topic_arn=env.get("TOPIC_ARN", ""),
            region=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1",
            endpoint_url=env.get("AWS_ENDPOINT_URL") or None,
            websocket_endpoint=env.get("WEBSOCKET_ENDPOINT") or None,
            auth_mode=env.get("AUTH_MODE") or ("oidc" if env.get("OIDC_ISSUER") else "hs256"),
            jwt_secret=env.get("JWT_SECRET", ""),
            jwt_secret_arn=env.get("JWT_SECRET_ARN") or None,
            oidc_issuer=env.get("OIDC_ISSUER", ""),
            oidc_audience=env.get("OIDC_AUDIENCE", ""),
            oidc_jwks_url=env.get("OIDC_JWKS_URL") or None,
            roles_claim=env.get("ROLES_CLAIM") or "roles",
            **{
                name: float(env[name.upper()])
                for name in ("jwks_max_age_seconds", "jwks_min_refresh_seconds")
                if env.get(name.upper())
            },
            outbox_grace_seconds=int(env.get("OUTBOX_GRACE_SECONDS", "30")),
            after_commit_seconds=float(env.get("AFTER_COMMIT_SECONDS", "10")),
            commit_race_seconds=float(env.get("COMMIT_RACE_SECONDS", "5")),
            **{
                name: int(env[name.upper()])
                for name in (
                    "outbox_shards",
                    "station_shards",
                    "worklist_shards",
                    "sweep_max_instances",
                    "max_connections_per_instance",
                    "max_instance_bytes",
                )
                if env.get(name.upper())
            },
            timers_queue_url=env.get("TIMERS_QUEUE_URL") or None,
            service_name=env.get("POWERTOOLS_SERVICE_NAME") or PREFIX,
            metrics_namespace=env.get("POWERTOOLS_METRICS_NAMESPACE") or "TropicalPizzas",
        )


@lru_cache(maxsize=1)
def settings() -> Settings:
    """The process-wide settings (tests call ``settings.cache_clear()`` after changing env)."""
    return Settings.from_environment()
