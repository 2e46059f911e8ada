"""scripts.compare: the behaviour lab for WebSocket implementations.

Owns the comparison tool (``python -m scripts.compare``): the scenario format
(:mod:`.scenario`), a scripted raw TCP peer that does the WebSocket
handshake by hand and records every byte, FIN and RST the implementation
writes (:mod:`.rawpeer`, :mod:`.frames`), the adapter runner (:mod:`.runner`),
the trace normalisation, diff and side-by-side report (:mod:`.report`), and
the matrix over many implementations (:mod:`.matrix`) with its sequence
diagrams (:mod:`.svg`). See ``scripts/compare/README.md``.

This package is a user tool, not part of the library: it must not import
``pyws`` (only ``adapters/pyws_adapter.py`` does, in its own process; each
adapter imports its own library) nor anything under ``test/``.
"""
