"""scripts.compare: run one scenario against Node ws and pyws, diff the traces.

Owns the side-by-side comparison tool (``python -m scripts.compare``): the
scenario format (:mod:`.scenario`), a scripted raw TCP peer that does the
WebSocket handshake by hand and records every byte, FIN and RST the
implementation writes (:mod:`.rawpeer`, :mod:`.frames`), the adapter runner
(:mod:`.runner`) and the trace normalisation, diff and report
(:mod:`.report`). See ``scripts/compare/README.md``.

This package is a user tool, not part of the library: it must not import
``pyws`` (only ``adapters/pyws_adapter.py`` does, in its own process) nor
anything under ``test/``.
"""
