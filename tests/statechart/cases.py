"""Hand-written conformance cases: one or more per construct of the engine contract.

Each case is a machine config in the shared vocabulary (tests/statechart/vocabulary.py)
and a sequence of events; the test compares every step with XState v5.
"""

from __future__ import annotations

from typing import Any

CTX = {"n": 0, "log": []}


def case(name: str, config: dict[str, Any], *events: Any, restore: bool = True) -> dict[str, Any]:
    """A case; ``restore=False`` chains snapshots in memory instead of through JSON."""
    config = {"context": CTX, **config}
    return {
        "name": name,
        "config": config,
        "events": [e if isinstance(e, dict) else {"type": e} for e in events],
        "restore": restore,
    }


# A parallel root re-entered while region r comes back through its history: r's
# own node is left out of the active set (its exit ran, its entry and invoke do
# not), though the value still shows it. In memory, C then does not exit r; after
# a restore r is back, is exited, and its invoke (stopped already) stops nothing.
REGION_LEFT_OUT = {
    "id": "m",
    "type": "parallel",
    "states": {
        "r": {
            "initial": "x",
            "invoke": {"id": "job", "src": "worker"},
            "entry": ["rIn"],
            "exit": ["rOut"],
            "states": {
                "x": {"on": {"B": "#m.r.h"}},
                "y": {},
                "h": {"type": "history", "history": "deep"},
            },
        },
        "other": {
            "on": {"B": {"target": "#m", "reenter": True}, "C": {"target": "#m", "reenter": True}}
        },
    },
}


# A root with onDone and exit actions reaching a final state: the machine is done
# before its done events are handled, so neither the root's onDone nor (with a
# parallel root) a region's onDone is taken; every active state's exit runs.
_ENDING_STATES = {
    "a": {"exit": ["aOut"], "on": {"END": "b"}},
    "b": {"type": "final", "entry": ["bIn"], "exit": ["bOut"]},
}
ROOT_ON_DONE = {
    "compound": {
        "id": "m",
        "initial": "a",
        "onDone": {"target": ".a", "actions": ["rootDone"]},
        "exit": ["rootOut"],
        "states": _ENDING_STATES,
    },
    "parallel": {
        "id": "m",
        "type": "parallel",
        "onDone": {"target": ".r", "actions": ["rootDone"]},
        "exit": ["rootOut"],
        "states": {
            "r": {"initial": "a", "onDone": {"actions": ["rDone"]}, "states": _ENDING_STATES},
            "q": {"initial": "c", "states": {"c": {"on": {"END": "d"}}, "d": {"type": "final"}}},
        },
    },
}


CASES = [
    case(
        "entry_exit_and_transition_actions_in_order",
        {
            "id": "m",
            "initial": "a",
            "entry": ["rootEntry"],
            "states": {
                "a": {
                    "entry": ["aEntry"],
                    "exit": ["aExit"],
                    "on": {"GO": {"target": "b", "actions": ["track", "go"]}},
                },
                "b": {"entry": ["bEntry", "inc"], "on": {"BACK": "a"}},
            },
        },
        "GO",
        "NOPE",
        "BACK",
        "GO",
    ),
    case(
        "action_params_static",
        {
            "id": "p",
            "initial": "a",
            "states": {
                "a": {
                    "on": {"GO": {"target": "b", "actions": [{"type": "say", "params": {"w": 1}}]}}
                },
                "b": {},
            },
        },
        "GO",
    ),
    case(
        "nested_targets_child_sibling_and_id",
        {
            "id": "n",
            "initial": "a",
            "states": {
                "a": {
                    "initial": "a1",
                    "on": {"DEEP": "#leaf", "CHILD": ".a2", "SIB": "b"},
                    "states": {
                        "a1": {"entry": ["a1In"], "exit": ["a1Out"]},
                        "a2": {"entry": ["a2In"], "on": {"UP": "#n.b.b2"}},
                    },
                },
                "b": {
                    "initial": "b1",
                    "entry": ["bIn"],
                    "states": {
                        "b1": {"on": {"HOP": "b2"}},
                        "b2": {"id": "leaf", "entry": ["leafIn"]},
                    },
                    "on": {"RESET": "#n.a"},
                },
            },
        },
        "CHILD",
        "UP",
        "RESET",
        "DEEP",
        "RESET",
        "SIB",
        "HOP",
    ),
    case(
        "root_relative_targets",
        {
            "id": "r",
            "initial": "a",
            "on": {"TO_B": ".b", "TO_A": {"target": ".a", "reenter": True, "actions": ["rootGo"]}},
            "entry": ["rEntry"],
            "exit": ["rExit"],
            "states": {"a": {"exit": ["aOut"]}, "b": {"entry": ["bIn"]}},
        },
        "TO_B",
        "TO_A",
        "TO_A",
    ),
    case(
        "reenter_and_targetless_transitions",
        {
            "id": "re",
            "initial": "p",
            "states": {
                "p": {
                    "initial": "c1",
                    "entry": ["pIn"],
                    "exit": ["pOut"],
                    "on": {
                        "SELF": "p",
                        "REENTER": {"target": "p", "reenter": True},
                        "INTERNAL": {"actions": ["inc", "internal"]},
                        "CHILD": ".c2",
                        "CHILD_RE": {"target": ".c2", "reenter": True},
                    },
                    "states": {
                        "c1": {"entry": ["c1In"], "exit": ["c1Out"]},
                        "c2": {"entry": ["c2In"], "exit": ["c2Out"]},
                    },
                }
            },
        },
        "SELF",
        "CHILD",
        "SELF",
        "REENTER",
        "INTERNAL",
        "CHILD",
        "CHILD_RE",
    ),
    case(
        "parallel_regions_and_multiple_targets",
        {
            "id": "par",
            "type": "parallel",
            "states": {
                "left": {
                    "initial": "l1",
                    "states": {
                        "l1": {
                            "on": {"GO": {"target": "l2", "actions": ["leftGo"]}},
                            "exit": ["l1Out"],
                        },
                        "l2": {"entry": ["l2In"]},
                    },
                },
                "right": {
                    "initial": "r1",
                    "states": {
                        "r1": {"on": {"GO": {"target": "r2", "actions": ["rightGo"]}}},
                        "r2": {"on": {"BOTH": {"target": ["#par.left.l1", "#par.right.r1"]}}},
                    },
                },
                "flat": {"entry": ["flatIn"], "on": {"FLAT": {"actions": ["flatAct"]}}},
            },
        },
        "GO",
        "FLAT",
        "BOTH",
        "GO",
    ),
    case(
        "parallel_conflicting_transitions_preempted",
        {
            "id": "pc",
            "initial": "p",
            "states": {
                "p": {
                    "type": "parallel",
                    "states": {
                        "a": {"initial": "a1", "states": {"a1": {"on": {"E": "#pc.out"}}}},
                        "b": {
                            "initial": "b1",
                            "states": {
                                "b1": {"on": {"E": {"target": "b2", "actions": ["bGo"]}}},
                                "b2": {},
                            },
                        },
                    },
                },
                "out": {"entry": ["outIn"]},
            },
        },
        "E",
    ),
    case(
        "partial_region_reentry_then_both_regions",
        {
            "id": "pr",
            "type": "parallel",
            "states": {
                "r1": {
                    "initial": "x",
                    "states": {
                        "x": {"on": {"A": "y", "BOTH": {"actions": ["r1Both"]}}},
                        "y": {"on": {"BOTH": {"actions": ["r1BothY"], "target": "x"}}},
                    },
                },
                "r2": {
                    "initial": "u",
                    "states": {
                        "u": {"on": {"BOTH": {"actions": ["r2Both"], "target": "v"}}},
                        "v": {},
                    },
                },
            },
        },
        "A",
        "BOTH",
        "A",
        "BOTH",
    ),
    case(
        "history_shallow_and_deep",
        {
            "id": "h",
            "initial": "work",
            "states": {
                "work": {
                    "initial": "one",
                    "states": {
                        "one": {
                            "initial": "x",
                            "states": {"x": {"on": {"NEXT": "y"}}, "y": {}},
                            "on": {"SWITCH": "two"},
                        },
                        "two": {},
                        "hist": {"type": "history", "history": "shallow"},
                        "deepHist": {"type": "history", "history": "deep"},
                    },
                    "on": {"PAUSE": "#h.paused"},
                },
                "paused": {"on": {"RESUME": "work.hist", "RESUME_DEEP": "work.deepHist"}},
            },
        },
        "NEXT",
        "PAUSE",
        "RESUME",
        "PAUSE",
        "RESUME_DEEP",
        "SWITCH",
        "PAUSE",
        "RESUME",
    ),
    case(
        "history_default_target",
        {
            "id": "hd",
            "initial": "off",
            "states": {
                "off": {"on": {"ON": "on.hist"}},
                "on": {
                    "initial": "low",
                    "states": {
                        "low": {"entry": ["lowIn"]},
                        "high": {"entry": ["highIn"]},
                        "hist": {"type": "history", "target": "high"},
                    },
                    "on": {"OFF": "off"},
                },
            },
        },
        "ON",
        "OFF",
        "ON",
    ),
    case(
        "eventless_transitions_with_guards_and_chain",
        {
            "id": "al",
            "initial": "idle",
            "states": {
                "idle": {"on": {"SET": {"target": "check", "actions": ["setN"]}}},
                "check": {
                    "entry": ["checkIn"],
                    "always": [
                        {"guard": {"type": "gt", "params": {"k": 5}}, "target": "big"},
                        {"guard": "isPos", "target": "small", "actions": ["small"]},
                        {"target": "zero"},
                    ],
                },
                "small": {"always": {"guard": "isEven", "target": "even", "actions": ["dbl"]}},
                "even": {"on": {"AGAIN": "idle"}},
                "big": {"on": {"AGAIN": "idle"}},
                "zero": {"on": {"AGAIN": "idle"}},
            },
        },
        {"type": "SET", "n": 2},
        "AGAIN",
        {"type": "SET", "n": 9},
        "AGAIN",
        {"type": "SET", "n": 0},
        "AGAIN",
        {"type": "SET", "n": 3},
    ),
    case(
        "eventless_targetless_with_assign_settles",
        {
            "id": "cnt",
            "initial": "a",
            "states": {
                "a": {
                    "always": {
                        "guard": {"type": "not", "guard": {"type": "gt", "params": {"k": 3}}},
                        "actions": ["inc", "tick"],
                    },
                    "on": {"RESET": {"actions": ["setN"]}},
                }
            },
        },
        {"type": "RESET", "n": 1},
    ),
    case(
        "raise_processed_in_same_macrostep",
        {
            "id": "rs",
            "initial": "a",
            "states": {
                "a": {
                    "on": {"GO": {"target": "b", "actions": ["raiseX", "afterRaise"]}, "X": "wrong"}
                },
                "b": {
                    "entry": ["raiseY", "bIn"],
                    "on": {"X": {"target": "c", "actions": ["track"]}, "Y": "wrong"},
                },
                "c": {"on": {"Y": {"target": "d", "actions": ["track"]}}},
                "d": {},
                "wrong": {},
            },
        },
        "GO",
    ),
    case(
        "delayed_raise_is_scheduled",
        {
            "id": "dr",
            "initial": "a",
            "states": {"a": {"entry": ["raiseDelayed"], "on": {"LATER": "b"}}, "b": {}},
        },
        "LATER",
    ),
    case(
        "after_numbers_named_and_dynamic_delays",
        {
            "id": "af",
            "initial": "wait",
            "states": {
                "wait": {
                    "after": {
                        "500": {"target": "slow"},
                        "100": [{"guard": "isPos", "target": "fast"}, {"actions": ["tooEarly"]}],
                        "D2": "named",
                        "Dyn": "dynamic",
                    },
                    "on": {"INC": {"actions": ["inc"]}},
                },
                "slow": {"on": {"BACK": "wait"}},
                "fast": {"on": {"BACK": "wait"}},
                "named": {},
                "dynamic": {},
            },
        },
        {"type": "xstate.after.100.af.wait"},
        "INC",
        {"type": "xstate.after.100.af.wait"},
        {"type": "xstate.after.500.af.wait"},
        "BACK",
        {"type": "xstate.after.D2.af.wait"},
    ),
    case(
        "stale_after_event_ignored",
        {
            "id": "st",
            "initial": "a",
            "states": {
                "a": {"after": {"1000": "timeout"}, "on": {"DONE": "b"}},
                "b": {},
                "timeout": {},
            },
        },
        "DONE",
        {"type": "xstate.after.1000.st.a"},
    ),
    case(
        "invoke_done_and_error",
        {
            "id": "inv",
            "initial": "idle",
            "states": {
                "idle": {"on": {"START": "loading"}},
                "loading": {
                    "entry": ["loadingIn"],
                    "exit": ["loadingOut"],
                    "invoke": {
                        "id": "fetcher",
                        "src": "fetchThing",
                        "input": {"q": 1},
                        "onDone": {"target": "ok", "actions": ["track"]},
                        "onError": {"target": "failed", "actions": ["track"]},
                    },
                    "on": {"CANCEL": "idle"},
                },
                "ok": {"on": {"RETRY": "loading"}},
                "failed": {"on": {"RETRY": "loading"}},
            },
        },
        "START",
        {"type": "xstate.done.actor.fetcher", "output": {"x": 1}},
        {"type": "xstate.done.actor.fetcher", "output": 2},
        "RETRY",
        {"type": "xstate.error.actor.fetcher", "error": "boom"},
        "RETRY",
        "CANCEL",
        {"type": "xstate.done.actor.fetcher"},
    ),
    case(
        "invoke_several_with_default_ids",
        {
            "id": "multi",
            "initial": "busy",
            "states": {
                "busy": {
                    "invoke": [{"src": "first"}, {"src": "second", "id": "two"}],
                    "on": {"xstate.done.actor.two": "free", "STOP": "free"},
                },
                "free": {},
            },
        },
        {"type": "xstate.done.actor.0.multi.busy"},
        {"type": "xstate.done.actor.two"},
    ),
    case(
        "unhandled_invoke_error_sets_error_status",
        {
            "id": "err",
            "initial": "run",
            "states": {
                "run": {"invoke": {"id": "job", "src": "job", "onDone": "fin"}},
                "fin": {"type": "final"},
            },
        },
        {"type": "xstate.error.actor.job", "error": {"message": "bad"}},
        "ANY",
    ),
    case(
        "compound_onDone_and_final_output",
        {
            "id": "cd",
            "initial": "steps",
            "output": {"result": "done"},
            "states": {
                "steps": {
                    "initial": "one",
                    "states": {
                        "one": {"on": {"NEXT": "two"}},
                        "two": {"type": "final", "output": {"last": 2}},
                    },
                    "onDone": {"target": "finished", "actions": ["stepsDone"]},
                    "exit": ["stepsOut"],
                },
                "finished": {"type": "final", "entry": ["finIn"], "exit": ["finOut"]},
            },
        },
        "NEXT",
        "AFTER_DONE",
    ),
    *(
        case(f"{kind}_root_onDone_is_never_taken", config, "END", restore=restore)
        for kind, config in ROOT_ON_DONE.items()
        for restore in (True, False)
    ),
    case(
        "parallel_onDone_when_all_regions_final",
        {
            "id": "pd",
            "initial": "both",
            "states": {
                "both": {
                    "type": "parallel",
                    "onDone": "complete",
                    "states": {
                        "a": {
                            "initial": "a1",
                            "states": {"a1": {"on": {"A": "a2"}}, "a2": {"type": "final"}},
                        },
                        "b": {
                            "initial": "b1",
                            "states": {"b1": {"on": {"B": "b2"}}, "b2": {"type": "final"}},
                        },
                    },
                },
                "complete": {"entry": ["completeIn"]},
            },
        },
        "A",
        "B",
    ),
    case(
        "guards_combinators_and_params",
        {
            "id": "g",
            "initial": "a",
            "states": {
                "a": {
                    "on": {
                        "SET": {"actions": ["setN"]},
                        "TRY": [
                            {
                                "guard": {"type": "and", "guards": ["isPos", "isEven"]},
                                "target": "posEven",
                            },
                            {
                                "guard": {
                                    "type": "or",
                                    "guards": ["flag", {"type": "gt", "params": {"k": 6}}],
                                },
                                "target": "flagOrBig",
                            },
                            {"guard": {"type": "not", "guard": "isPos"}, "target": "nonPos"},
                            {"actions": ["fallthrough"]},
                        ],
                    }
                },
                "posEven": {"on": {"BACK": "a"}},
                "flagOrBig": {"on": {"BACK": "a"}},
                "nonPos": {"on": {"BACK": "a"}},
            },
        },
        "TRY",
        "BACK",
        {"type": "SET", "n": 4},
        "TRY",
        "BACK",
        {"type": "SET", "n": 3},
        {"type": "TRY", "flag": True},
        "BACK",
        "TRY",
        {"type": "SET", "n": 7},
        "TRY",
    ),
    case(
        "stateIn_guard_by_id_and_value",
        {
            "id": "si",
            "type": "parallel",
            "states": {
                "light": {
                    "initial": "off",
                    "states": {"off": {"on": {"FLIP": "on"}}, "on": {"on": {"FLIP": "off"}}},
                },
                "door": {
                    "initial": "shut",
                    "states": {
                        "shut": {
                            "on": {
                                "OPEN": {
                                    "guard": {"type": "stateIn", "state": "#si.light.on"},
                                    "target": "open",
                                },
                                "PEEK": {
                                    "guard": {"type": "stateIn", "state": {"light": "off"}},
                                    "actions": ["peek"],
                                },
                            }
                        },
                        "open": {},
                    },
                },
            },
        },
        "OPEN",
        "PEEK",
        "FLIP",
        "PEEK",
        "OPEN",
    ),
    case(
        "wildcard_and_partial_descriptors",
        {
            "id": "w",
            "initial": "a",
            "states": {
                "a": {
                    "on": {
                        "*": {"actions": ["any"]},
                        "user.*": {"actions": ["user"]},
                        "user.login.*": {"target": "b", "actions": ["login"]},
                        "user.logout": {"actions": ["logoutExact"]},
                    }
                },
                "b": {"on": {"*": "a"}},
            },
        },
        "other",
        "user.logout",
        "user.edit",
        "user.login.google",
        "whatever",
    ),
    case(
        "guarded_fallthrough_to_parent",
        {
            "id": "fp",
            "initial": "outer",
            "states": {
                "outer": {
                    "initial": "inner",
                    "on": {"E": {"target": "other", "actions": ["parentE"]}},
                    "states": {
                        "inner": {"on": {"E": {"guard": "isPos", "target": "inner2"}}},
                        "inner2": {},
                    },
                },
                "other": {"on": {"INC": {"actions": ["inc"]}, "BACK": "outer"}},
            },
        },
        "E",
        "INC",
        "BACK",
        "E",
    ),
    case(
        "root_done_stops_remaining_invokes",
        {
            "id": "rd",
            "type": "parallel",
            "states": {
                "worker": {"invoke": {"id": "bg", "src": "background"}},
                "main": {
                    "initial": "go",
                    "states": {"go": {"on": {"END": "end"}}, "end": {"type": "final"}},
                },
            },
        },
        "END",
    ),
    case(
        "done_machine_ignores_events",
        {
            "id": "fin",
            "initial": "a",
            "states": {"a": {"on": {"END": "b"}}, "b": {"type": "final"}},
            "on": {"ANY": {"actions": ["rootAny"]}},
        },
        "ANY",
        "END",
        "ANY",
    ),
    case(
        "meta_tags_description_and_invoke_input",
        {
            "id": "mt",
            "initial": "idle",
            "description": "a machine with metadata",
            "meta": {"owner": "kitchen"},
            "states": {
                "idle": {
                    "tags": ["quiet"],
                    "meta": {"message": "Idle"},
                    "description": "nothing happens",
                    "on": {"GO": {"target": "busy", "description": "start"}},
                },
                "busy": {
                    "tags": ["loud", "working"],
                    "initial": "one",
                    "meta": {"message": "Busy"},
                    "invoke": {"id": "w", "src": "worker", "input": {"size": 3, "tags": ["a"]}},
                    "states": {"one": {"meta": {"step": 1}, "tags": ["working"]}},
                },
            },
        },
        "GO",
    ),
    case("parallel_root_region_left_out_restored", REGION_LEFT_OUT, "B", "C"),
    case("parallel_root_region_left_out_in_memory", REGION_LEFT_OUT, "B", "C", restore=False),
]
