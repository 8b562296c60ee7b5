"""Resident memory and CPU time of a process, read from `/proc` (Linux); 0 when unknown.

CPU time comes from `/proc/<pid>/stat` (utime + stime, every thread), so it can be read
for any process we can see, nats-server included, not only for this one (`resource`).
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["rss_mib", "cpu_s", "child_pids", "cpu_model"]

_TICKS_PER_S = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def rss_mib(pid: int) -> float:
    """Current resident set size (VmRSS) of `pid`, in MiB."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0.0


def cpu_s(pid: int) -> float:
    """User plus system CPU seconds `pid` has used so far (all of its threads)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        # the command name may hold spaces and parentheses: fields start after the last ')'
        fields = stat[stat.rindex(")") + 2 :].split()
        return (int(fields[11]) + int(fields[12])) / _TICKS_PER_S
    except (OSError, ValueError, IndexError):
        return 0.0


def child_pids(pid: int) -> list[int]:
    """The direct children of `pid`."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        try:
            found += [int(p) for p in task.read_text().split()]
        except (OSError, ValueError):
            continue
    return found


def cpu_model() -> str:
    """The CPU as `lscpu` names it, with its family and model (two guests may both say
    "AMD EPYC"): e.g. "AMD EPYC, family 25 model 17"; '' when unknown."""
    fields: dict[str, str] = {}
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            key = key.strip()
            if key in ("model name", "cpu family", "model") and key not in fields:
                fields[key] = value.strip()
            if not line.strip() and fields:
                break  # the first processor's block is enough
    except OSError:
        pass
    name = fields.get("model name", "")
    if name and "cpu family" in fields:
        return f"{name}, family {fields['cpu family']} model {fields.get('model', '?')}"
    return name
