"""aether.agents.sca.snippets."""
