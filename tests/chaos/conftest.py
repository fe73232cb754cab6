"""The short chaos runs print their seed, time and peak memory at the end of the
session (also from pytest-xdist workers: user properties travel with the reports)."""

from __future__ import annotations

from typing import Any


def pytest_terminal_summary(terminalreporter: Any) -> None:
    lines = [
        f"{report.nodeid}: {value}"
        for outcome in ("passed", "failed")
        for report in terminalreporter.stats.get(outcome, [])
        if report.when == "call"
        for name, value in getattr(report, "user_properties", [])
        if name == "chaos run"
    ]
    if lines:
        terminalreporter.write_sep("-", "chaos runs")
        for line in lines:
            terminalreporter.write_line(line)
