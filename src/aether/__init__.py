"""Aether: a self-hosted platform for autonomous content agents."""

__version__ = "0.1.0"
