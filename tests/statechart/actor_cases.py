"""Hand-written parent + children systems, each checking one actor rule against XState.

Every case runs through ``ActorSystem`` and XState v5's actor system (see
systems.py); the names say which rule. The vocabulary (fanOut, stopOldest,
pingKids, tellParent, ...) is vocabulary.py's.
"""

from __future__ import annotations

from typing import Any

KIDS = {"n": 0, "log": [], "kids": [], "next": 0}
TAKES_INPUT = {**KIDS, "input": None}


def _send(event_type: str, to: str | None = None, **extra: Any) -> dict[str, Any]:
    command: dict[str, Any] = {"send": {"type": event_type, **extra}}
    if to:
        command["to"] = to
    return command


LEAF = {
    "id": "leaf",
    "context": TAKES_INPUT,
    "initial": "baking",
    "output": {"baked": True},
    "states": {
        "baking": {
            "after": {"300": "baked"},
            "on": {"A": "baked", "B": {"actions": ["tellParent"]}, "C": "burnt"},
        },
        "baked": {"type": "final", "entry": ["track"]},
        "burnt": {},
    },
}
KID = {
    "id": "kid",
    "context": TAKES_INPUT,
    "initial": "working",
    "states": {
        "working": {
            "invoke": {"id": "oven", "src": "leaf", "onDone": "finished", "onError": "failed"},
            "entry": ["p1"],
            "exit": ["p2"],
            "on": {
                "A": {"actions": [{"type": "xstate.sendTo", "to": "oven", "event": {"type": "A"}}]},
                "B": {"actions": ["tellParent", "inc", "tellParent"]},
                "C": {"actions": [{"type": "xstate.sendTo", "to": "oven", "event": {"type": "C"}}]},
                "K": {"actions": ["track"]},
            },
        },
        "finished": {"type": "final", "output": {"kid": "finished"}},
        "failed": {"entry": ["tellParent"]},
    },
}

ACTOR_CASES: list[dict[str, Any]] = [
    {
        "name": "invoked_child_done_reaches_parent_with_output",
        "machines": {
            "kid": KID,
            "leaf": LEAF,
            "root": {
                "id": "root",
                "context": KIDS,
                "initial": "waiting",
                "states": {
                    "waiting": {
                        "invoke": {
                            "id": "worker",
                            "src": "kid",
                            "input": {"n": 1},
                            "onDone": {"target": "served", "actions": ["track"]},
                        },
                        "on": {
                            "A": {
                                "actions": [
                                    {
                                        "type": "xstate.sendTo",
                                        "to": "worker",
                                        "event": {"type": "A"},
                                    }
                                ]
                            }
                        },
                    },
                    "served": {"type": "final"},
                },
                "output": {"order": "served"},
            },
        },
        "root": "root",
        "commands": [_send("A"), _send("A")],
    },
    {
        "name": "grandchild_timer_completes_the_tree_through_its_parents",
        "machines": {
            "kid": KID,
            "leaf": LEAF,
            "root": {
                "id": "root",
                "context": KIDS,
                "initial": "running",
                "output": "tree completed",
                "states": {
                    "running": {"invoke": {"id": "worker", "src": "kid", "onDone": "done"}},
                    "done": {"type": "final"},
                },
            },
        },
        "root": "root",
        "commands": [{"advance": 299}, {"advance": 1}, _send("A")],
    },
    {
        "name": "leaving_the_invoking_state_stops_children_recursively_with_their_timers",
        "machines": {
            "kid": KID,
            "leaf": LEAF,
            "root": {
                "id": "root",
                "context": KIDS,
                "initial": "running",
                "states": {
                    "running": {
                        "invoke": {"id": "worker", "src": "kid"},
                        "exit": ["p3"],
                        "on": {"A": {"target": "elsewhere", "actions": ["p1"]}},
                    },
                    "elsewhere": {"on": {"B": "running"}},
                },
            },
        },
        "root": "root",
        "commands": [_send("A"), {"advance": 1000}, _send("B"), {"advance": 300}],
    },
    {
        "name": "send_to_and_send_parent_keep_send_order",
        "machines": {
            "kid": KID,
            "leaf": LEAF,
            "root": {
                "id": "root",
                "context": KIDS,
                "initial": "running",
                "states": {
                    "running": {
                        "invoke": {"id": "worker", "src": "kid"},
                        "on": {
                            "A": {
                                "actions": [
                                    {
                                        "type": "xstate.sendTo",
                                        "to": "worker",
                                        "event": {"type": "B"},
                                    },
                                    "p1",
                                    {
                                        "type": "xstate.sendTo",
                                        "to": "worker",
                                        "event": {"type": "K"},
                                    },
                                    {
                                        "type": "xstate.sendTo",
                                        "to": "worker",
                                        "event": {"type": "B"},
                                    },
                                ]
                            },
                            "K": {"actions": ["track", "inc"]},
                        },
                    }
                },
            },
        },
        "root": "root",
        "commands": [_send("A"), _send("A")],
    },
    {
        "name": "fan_out_from_context_and_join_on_wildcard_done_events",
        "machines": {
            "leaf": LEAF,
            "root": {
                "id": "root",
                "context": KIDS,
                "initial": "ordering",
                "states": {
                    "ordering": {
                        "on": {
                            "A": {
                                "target": "baking",
                                "actions": [
                                    {"type": "fanOut", "params": {"src": "leaf", "count": 3}}
                                ],
                            }
                        }
                    },
                    "baking": {
                        "on": {
                            "xstate.done.actor.*": {"actions": ["inc", "track"]},
                            "B": {"actions": [{"type": "pingKids", "params": {"type": "A"}}]},
                        },
                        "always": {"guard": {"type": "gt", "params": {"k": 2}}, "target": "joined"},
                    },
                    "joined": {"type": "final"},
                },
            },
        },
        "root": "root",
        "commands": [_send("A"), _send("C", "root/k1"), _send("B"), {"advance": 300}],
    },
    {
        "name": "a_child_spawned_and_stopped_in_one_step_never_starts",
        "machines": {
            "leaf": LEAF,
            "root": {
                "id": "root",
                "context": KIDS,
                "on": {
                    "A": {
                        "actions": [
                            {"type": "fanOut", "params": {"src": "leaf", "count": 2}},
                            "stopOldest",
                            {"type": "pingKids", "params": {"type": "B"}},
                        ]
                    },
                    "B": {"actions": ["stopOldest"]},
                    "K": {"actions": ["track"]},
                },
            },
        },
        "root": "root",
        "commands": [_send("A"), _send("B"), {"advance": 400}],
    },
    {
        "name": "entry_sends_to_its_own_invoke_which_starts_after_it",
        "machines": {
            "kid": KID,
            "leaf": LEAF,
            "root": {
                "id": "root",
                "context": KIDS,
                "initial": "idle",
                "states": {
                    "idle": {"on": {"A": "busy"}},
                    "busy": {
                        "entry": [
                            {"type": "xstate.sendTo", "to": "worker", "event": {"type": "B"}}
                        ],
                        "invoke": {"id": "worker", "src": "kid"},
                        "on": {"K": {"actions": ["track"]}},
                    },
                },
            },
        },
        "root": "root",
        "commands": [_send("A")],
    },
    {
        "name": "a_send_to_itself_waits_in_the_mailbox_after_the_step",
        "machines": {
            "root": {
                "id": "root",
                "context": KIDS,
                "initial": "active",
                "output": "received",
                "entry": [
                    {"type": "xstate.sendTo", "to": "#_internal", "event": {"type": "CONTINUE"}},
                    "raiseX",
                ],
                "states": {
                    "active": {"on": {"X": {"actions": ["track"]}, "CONTINUE": "done"}},
                    "done": {"type": "final"},
                },
            }
        },
        "root": "root",
        "commands": [],
    },
    {
        "name": "delayed_sends_are_cancelled_by_id",
        "machines": {
            "root": {
                "id": "root",
                "context": KIDS,
                "initial": "waiting",
                "states": {
                    "waiting": {
                        "on": {
                            "SCHEDULE": {
                                "actions": [
                                    {
                                        "type": "xstate.sendTo",
                                        "to": "#_internal",
                                        "event": {"type": "TIMEOUT"},
                                        "delay": 100,
                                        "id": "deadline",
                                    }
                                ]
                            },
                            "CANCEL": {"actions": [{"type": "cancelDeadline"}]},
                            "TIMEOUT": "done",
                        }
                    },
                    "done": {"type": "final"},
                },
            }
        },
        "root": "root",
        "commands": [
            _send("SCHEDULE"),
            _send("CANCEL"),
            {"advance": 100},
            _send("SCHEDULE"),
            {"advance": 99},
            {"advance": 1},
        ],
    },
    {
        "name": "a_child_final_at_start_reports_done_at_once",
        "machines": {
            "instant": {
                "id": "instant",
                "initial": "end",
                "output": 7,
                "entry": ["p1"],
                "states": {"end": {"type": "final"}},
            },
            "root": {
                "id": "root",
                "context": KIDS,
                "initial": "a",
                "states": {
                    "a": {
                        "invoke": {
                            "id": "i",
                            "src": "instant",
                            "onDone": {"target": "b", "actions": ["track"]},
                        }
                    },
                    "b": {},
                },
            },
        },
        "root": "root",
        "commands": [],
    },
    {
        "name": "a_child_error_reaches_the_parent_which_fails_without_a_handler",
        "machines": {
            "kid": KID,
            "leaf": LEAF,
            "root": {
                "id": "root",
                "context": KIDS,
                "initial": "running",
                "states": {
                    "running": {
                        "invoke": [{"id": "first", "src": "kid"}, {"id": "second", "src": "kid"}],
                        "on": {
                            "A": {
                                "actions": [
                                    {
                                        "type": "xstate.sendTo",
                                        "to": "first",
                                        "event": {
                                            "type": "xstate.error.actor.oven",
                                            "error": "burnt",
                                        },
                                    }
                                ]
                            },
                            "B": {
                                "actions": [
                                    {
                                        "type": "xstate.sendTo",
                                        "to": "second",
                                        "event": {"type": "xstate.error.actor.zz", "error": "lost"},
                                    }
                                ]
                            },
                        },
                    }
                },
            },
        },
        "root": "root",
        "commands": [_send("A"), _send("B"), _send("A")],
    },
    {
        "name": "wildcard_error_transition_catches_a_child_error",
        "machines": {
            "kid": KID,
            "leaf": LEAF,
            "root": {
                "id": "root",
                "context": KIDS,
                "initial": "running",
                "states": {
                    "running": {
                        "invoke": {"id": "worker", "src": "kid"},
                        "on": {
                            "A": {
                                "actions": [
                                    {
                                        "type": "xstate.sendTo",
                                        "to": "worker",
                                        "event": {"type": "xstate.error.actor.zz"},
                                    }
                                ]
                            },
                            "xstate.error.actor.*": {"target": "recovered", "actions": ["track"]},
                        },
                    },
                    "recovered": {},
                },
            },
        },
        "root": "root",
        "commands": [_send("A")],
    },
    {
        "name": "stop_child_on_an_invoke_then_leaving_its_state_stops_nothing_more",
        "machines": {
            "kid": KID,
            "leaf": LEAF,
            "root": {
                "id": "root",
                "context": KIDS,
                "initial": "running",
                "states": {
                    "running": {
                        "invoke": {"id": "worker", "src": "kid"},
                        "on": {
                            "A": {"actions": [{"type": "xstate.stopChild", "id": "worker"}]},
                            "B": "idle",
                        },
                    },
                    "idle": {},
                },
            },
        },
        "root": "root",
        "commands": [_send("A"), _send("B"), {"advance": 500}],
    },
    {
        "name": "a_finished_parent_stops_its_spawned_children",
        "machines": {
            "kid": KID,
            "leaf": LEAF,
            "root": {
                "id": "root",
                "context": KIDS,
                "initial": "open",
                "output": {"closed": True},
                "states": {
                    "open": {
                        "on": {
                            "A": {
                                "actions": [
                                    {"type": "fanOut", "params": {"src": "kid", "count": 2}}
                                ]
                            },
                            "B": "closed",
                            "K": {"actions": ["track"]},
                        }
                    },
                    "closed": {"type": "final", "exit": ["p1"]},
                },
            },
        },
        "root": "root",
        "commands": [_send("A"), _send("B", "root/k0"), _send("B"), _send("A"), {"advance": 500}],
    },
    {
        "name": "a_child_telling_its_parent_during_its_start_is_heard_after_the_parents_step",
        "machines": {
            "eager": {"id": "eager", "context": TAKES_INPUT, "entry": ["tellParent", "p1"]},
            "root": {
                "id": "root",
                "context": KIDS,
                "initial": "a",
                "entry": ["p2"],
                "states": {
                    "a": {
                        "invoke": {"id": "e1", "src": "eager", "input": {"x": 1}},
                        "entry": ["p3"],
                        "on": {
                            "K": {"actions": ["track", "raiseX"]},
                            "X": {"actions": ["inc"]},
                            "A": {
                                "actions": [
                                    {"type": "fanOut", "params": {"src": "eager", "count": 2}}
                                ]
                            },
                        },
                    }
                },
            },
        },
        "root": "root",
        "commands": [_send("A")],
    },
    {
        "name": "send_to_an_unknown_child_fails_the_sender",
        "machines": {
            "root": {
                "id": "root",
                "context": KIDS,
                "on": {
                    "A": {
                        "actions": [
                            {"type": "xstate.sendTo", "to": "nobody", "event": {"type": "B"}}
                        ]
                    }
                },
            }
        },
        "root": "root",
        "commands": [_send("A"), _send("A")],
    },
]


def _engine_case(name: str, config: dict[str, Any], *events: str) -> dict[str, Any]:
    return {
        "name": name,
        "config": {"context": KIDS, **config},
        "events": [{"type": e} for e in events],
        "restore": True,
    }


# The same actor actions, step by step through the pure transition (runner.js): the
# effects a host gets, in XState's order, against XState's own actions.
ENGINE_ACTOR_CASES: list[dict[str, Any]] = [
    _engine_case(
        "spawn_send_stop_effects_in_order",
        {
            "id": "m",
            "on": {
                "A": {"actions": [{"type": "fanOut", "params": {"src": "kid", "count": 3}}]},
                "B": {"actions": [{"type": "pingKids", "params": {"type": "GO"}}, "p1"]},
                "C": {"actions": ["stopOldest", "stopOldest", "track"]},
                "D": {
                    "actions": [
                        {"type": "xstate.sendTo", "to": "#_internal", "event": {"type": "B"}},
                        {
                            "type": "xstate.sendTo",
                            "to": "k2",
                            "event": {"type": "LATE"},
                            "delay": 100,
                            "id": "late",
                        },
                    ]
                },
            },
        },
        "A",
        "B",
        "C",
        "D",
        "C",
        "B",
    ),
    _engine_case(
        "invoke_and_json_spawn_stop_child",
        {
            "id": "m",
            "initial": "a",
            "states": {
                "a": {
                    "entry": [{"type": "xstate.sendTo", "to": "w", "event": {"type": "HI"}}],
                    "invoke": {"id": "w", "src": "kid", "input": {"x": 1}},
                    "on": {
                        "A": {
                            "actions": [
                                {"type": "xstate.spawnChild", "src": "leaf", "id": "s", "input": 2},
                                {"type": "xstate.stopChild", "id": "w"},
                            ]
                        },
                        "B": "b",
                    },
                },
                "b": {"type": "final"},
            },
        },
        "A",
        "B",
    ),
    _engine_case(
        "enqueue_check_and_done_keeps_children",
        {
            "id": "m",
            "initial": "a",
            "states": {
                "a": {
                    "on": {
                        "A": {"actions": ["checkRaise", "inc"]},
                        "X": {"actions": ["track"]},
                        "B": {
                            "target": "b",
                            "actions": [{"type": "fanOut", "params": {"src": "kid", "count": 1}}],
                        },
                    }
                },
                "b": {"type": "final"},
            },
        },
        "A",
        "A",
        "B",
    ),
]

# A transition into the root enters it again without leaving it (XState 5): the root's
# invoke starts a second child under the running one's id, and the root's entry sends
# to the new one (the step's starting child), not the one running.
ACTOR_CASES.append(
    {
        "name": "entering_the_root_again_sends_from_its_entry_to_the_child_it_starts",
        "machines": {
            "kid": KID,
            "leaf": LEAF,
            "root": {
                "id": "root",
                "context": KIDS,
                "invoke": {"id": "worker", "src": "kid"},
                "entry": [{"type": "xstate.sendTo", "to": "worker", "event": {"type": "B"}}],
                "initial": "a",
                "states": {"a": {"on": {"A": "#root", "K": {"actions": ["track"]}}}},
            },
        },
        "root": "root",
        "commands": [_send("A"), _send("B", "root/worker")],
    }
)
