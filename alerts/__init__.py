"""Alerts: digests built from stored hits, rendered for email, Slack and files, and delivered once
per channel and article. Never imports ``monitor``."""
