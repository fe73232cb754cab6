"""Pydantic models of everything that enters the complaint workflow: request bodies and
event payloads. Who sends an event (``by``, ``role``) is never taken from a body: the
service adds it from the caller's token after these models have checked the body."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

MAX_REFUND_CENTS = 10_000_000  # far above any order; keeps a typo from looking plausible


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class OpenComplaint(Strict):
    """Body of POST /orders/{id}/complaint; payload of OPEN."""

    reason: str = Field(min_length=1, max_length=200)
    details: str | None = Field(default=None, max_length=2000)


class Claim(Strict):
    """Payload of CLAIM: a member of staff takes the complaint on."""


class Approve(Strict):
    """Payload of APPROVE: ``amount`` in cents for a partial refund, none for all of it."""

    # money is a JSON integer: strict, so "100", 100.0 or true are refused, not coerced
    amount: int | None = Field(default=None, gt=0, le=MAX_REFUND_CENTS, strict=True)
    reason: str | None = Field(default=None, max_length=500)


class Reject(Strict):
    """Payload of REJECT: why, for the customer."""

    reason: str = Field(min_length=1, max_length=500)


class Decision(Strict):
    """Body of POST /complaints/{id}/decision: approve (``amount`` optional) or reject
    (``reason`` required)."""

    decision: Literal["approve", "reject"]
    # money is a JSON integer: strict, so "100", 100.0 or true are refused, not coerced
    amount: int | None = Field(default=None, gt=0, le=MAX_REFUND_CENTS, strict=True)
    reason: str | None = Field(default=None, min_length=1, max_length=500)

    @model_validator(mode="after")
    def _fits_decision(self) -> Decision:
        if self.decision == "reject" and not self.reason:
            raise ValueError("a rejection needs a 'reason' for the customer")
        if self.decision == "reject" and self.amount is not None:
            raise ValueError("a rejection refunds nothing: no 'amount'")
        return self


class AskCustomer(Strict):
    """Body of POST /complaints/{id}/question; payload of ASK_CUSTOMER."""

    question: str = Field(min_length=1, max_length=1000)


class Answer(Strict):
    """Body of POST /orders/{id}/complaint/answer; payload of ANSWER."""

    message: str = Field(min_length=1, max_length=2000)


class Withdraw(Strict):
    """Body of POST /orders/{id}/complaint/withdraw (optional); payload of WITHDRAW."""

    reason: str | None = Field(default=None, max_length=200)


class RefundReport(BaseModel):
    """Data of REFUND_SUCCEEDED / REFUND_FAILED from the Payments service."""

    model_config = ConfigDict(extra="forbid")

    station: str = Field(min_length=1, max_length=40)
    refundId: str = Field(min_length=1, max_length=160)
    by: str | None = Field(default=None, max_length=80)
    at: str | None = Field(default=None, max_length=40)
    reason: str | None = Field(default=None, max_length=200)


class RefundsCancelled(BaseModel):
    """Data of REFUNDS_CANCELLED: Payments closed the complaint's refunds unpaid."""

    model_config = ConfigDict(extra="forbid")

    station: str = Field(min_length=1, max_length=40)
    refundIds: list[str] = Field(max_length=100)
    at: str | None = Field(default=None, max_length=40)
