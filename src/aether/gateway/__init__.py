"""The API gateway and web app: JSON API under /v1, public RSS feeds, media delivery, web pages."""
