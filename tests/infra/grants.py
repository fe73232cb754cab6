"""What an app function's role grants, for IAM checks of any registered workflow or
service (tests/infra/test_iam.py proves each kind's grants by the calls it makes)."""

from __future__ import annotations

from typing import Any


def granted_actions(resources: dict[str, Any], function: str) -> set[str]:
    """The IAM actions the role of ``function`` (a logical id) grants in ``resources``."""
    role = resources[f"{function}Role"]["Properties"]["Policies"][0]
    granted: set[str] = set()
    for statement in role["PolicyDocument"]["Statement"]:
        if "Fn::If" in statement:  # granted when the condition holds (an hs256 stack)
            statement = statement["Fn::If"][1]
        actions = statement["Action"]
        granted |= {actions} if isinstance(actions, str) else set(actions)
    return granted


# the consumers tests/infra/test_iam.py's scenarios exercise, one per kind of queue
PROVEN = {"events": "OrderEvents", "commands": "KitchenCommands", "timers": "TimerEvents"}


def grants_of(resources: dict[str, Any], made: list[Any]) -> dict[str, set[str]]:
    """Each function of ``made`` (infra.generate.functions) -> the actions its role grants
    in the template ``resources``: a new workflow's consumers should equal ``PROVEN``'s."""
    return {f.logical: granted_actions(resources, f.logical) for f in made}
