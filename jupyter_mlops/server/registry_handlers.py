"""Registry routes (placeholder until the capability lands its handlers)."""

from __future__ import annotations

REGISTRY_ROUTES: tuple = ()
