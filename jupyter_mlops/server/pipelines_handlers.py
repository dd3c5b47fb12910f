"""Pipelines routes (placeholder until the capability lands its handlers)."""

from __future__ import annotations

PIPELINES_ROUTES: tuple = ()
