"""aether.podcasts."""
