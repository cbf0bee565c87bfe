"""ASGI middleware of the gateway, one concern per module; `aether.gateway.app` wires them."""
