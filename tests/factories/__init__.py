"""Factories: build what a test needs through the hub's own services."""
