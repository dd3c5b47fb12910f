"""Monitors, alerts and the timeline routes (placeholder until the capability lands its handlers)."""

from __future__ import annotations

MONITOR_ROUTES: tuple = ()
