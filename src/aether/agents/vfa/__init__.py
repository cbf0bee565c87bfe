"""aether.agents.vfa.voice."""
