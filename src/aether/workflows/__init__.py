"""Workflow definitions shipped with Aether; importing this package registers them."""

from aether.workflows import podcast as podcast

__all__ = ["podcast"]
