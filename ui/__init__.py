"""The chat UI, the HTTP API and the intranet embedding page."""
