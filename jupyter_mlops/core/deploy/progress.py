"""A rollout as people follow it: the canary's steps, where it is, the bake time left.

The supervisor stores the rollout as it runs it (`state.rollout`: kind,
candidate, step, weight, when the step started, how it ended); the strategy
holds the plan (steps, bake). The panel, the CLI and the REST answer all show
the two together, computed here once.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any


def seconds_since(stamp: str | None, now: datetime) -> float | None:
    """Seconds from an ISO time (naive = UTC) to `now`; None when there is no readable time."""
    if not stamp:
        return None
    try:
        then = datetime.fromisoformat(stamp)
    except ValueError:
        return None
    if then.tzinfo is None:
        then = then.replace(tzinfo=timezone.utc)
    return (now - then).total_seconds()


def rollout_progress(rollout: dict[str, Any] | None, strategy: dict[str, Any] | None,
                     now: datetime | None = None) -> dict[str, Any] | None:
    """The rollout with the steps and bake of its strategy, and the bake time left."""
    if not rollout:
        return None
    strategy = strategy or {}
    canary = rollout.get("kind") == "canary"
    steps = [float(s) for s in strategy.get("steps") or []] if canary else []
    bake = float(strategy["bake"]) if canary and strategy.get("bake") is not None else None
    remaining = None
    if canary and bake is not None and rollout.get("state") == "running":
        elapsed = seconds_since(rollout.get("step_started"), now or datetime.now(timezone.utc))
        if elapsed is not None:
            remaining = round(max(0.0, bake - elapsed), 1)
    return {"kind": str(rollout.get("kind")), "candidate": rollout.get("candidate"),
            "stable": rollout.get("stable"), "state": str(rollout.get("state")),
            "steps": steps, "step": int(rollout.get("step") or 0),
            "weight": rollout.get("weight"), "bake_s": bake, "bake_remaining_s": remaining,
            "started": rollout.get("started"), "step_started": rollout.get("step_started"),
            "ended": rollout.get("ended"), "reason": rollout.get("reason"),
            "automatic": rollout.get("automatic"), "analysis": rollout.get("analysis"),
            "history": list(rollout.get("history") or [])}
