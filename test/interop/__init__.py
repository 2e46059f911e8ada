"""Interop tests against real Node ws 8.x (see node_peer.py)."""
