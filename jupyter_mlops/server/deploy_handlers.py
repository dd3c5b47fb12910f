"""Deployments routes (placeholder until the capability lands its handlers)."""

from __future__ import annotations

DEPLOY_ROUTES: tuple = ()
