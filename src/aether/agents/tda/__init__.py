"""aether.agents.tda.discover."""
