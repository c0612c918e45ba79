"""Maintenance tools run with ``python -m cfx.tools.NAME`` (not part of the library's API)."""
