"""aether.agents.iga.cover."""
