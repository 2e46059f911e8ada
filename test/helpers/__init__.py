"""Shared test helpers (raw TCP peer, frame builder); stdlib only, no pyws."""
