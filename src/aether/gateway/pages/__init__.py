"""aether.gateway.pages."""
