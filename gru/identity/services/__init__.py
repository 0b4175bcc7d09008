"""Use cases of the golden record: the only code that changes identity tables.

Services flush, never commit: the edge (API handler, CLI command) commits once.
"""
