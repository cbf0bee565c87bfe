"""Routers of the gateway, one per resource."""
