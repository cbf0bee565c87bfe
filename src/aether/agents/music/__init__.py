"""aether.agents.music.bed."""
