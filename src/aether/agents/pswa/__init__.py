"""aether.agents.pswa.write."""
