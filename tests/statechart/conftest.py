"""Fixtures for the engine tests: XState v5's results, computed once per session."""

from __future__ import annotations

import os
from typing import Any

import pytest

from .cases import CASES
from .conformance import run_xstate, xstate_available
from .generator import random_case

RANDOM_MACHINES = int(os.environ.get("CONFORMANCE_MACHINES", "600"))
RANDOM_EVENTS = 15


def _require_xstate() -> None:
    missing = xstate_available()
    if missing:
        pytest.fail(f"the XState conformance suite needs Node and xstate@5: {missing}")


@pytest.fixture(scope="session")
def require_xstate() -> None:
    _require_xstate()


@pytest.fixture(scope="session")
def xstate_cases() -> dict[str, dict[str, Any]]:
    _require_xstate()
    return {c["name"]: r for c, r in zip(CASES, run_xstate(CASES), strict=True)}


@pytest.fixture(scope="session")
def random_cases() -> list[tuple[dict[str, Any], dict[str, Any]]]:
    _require_xstate()
    cases = [random_case(seed, RANDOM_EVENTS) for seed in range(RANDOM_MACHINES)]
    return list(zip(cases, run_xstate(cases), strict=True))
