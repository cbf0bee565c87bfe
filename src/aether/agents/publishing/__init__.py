"""aether.agents.publishing."""
