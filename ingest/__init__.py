"""Ingest: load -> clean -> chunk -> embed -> store, incremental, with per-file errors."""
