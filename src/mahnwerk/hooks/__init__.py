"""Signed outgoing webhooks: timeline events of the kinds a company subscribes to, POSTed as JSON."""
