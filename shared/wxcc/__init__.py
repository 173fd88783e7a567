"""Webex Contact Center client: auth with a shared token, call discovery, captures, recording download."""
