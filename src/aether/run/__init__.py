"""aether.run."""
