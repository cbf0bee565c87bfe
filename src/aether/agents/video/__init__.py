"""aether.agents.video.render."""
