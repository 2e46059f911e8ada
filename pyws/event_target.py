"""WHATWG-style events for :class:`~pyws.WebSocket` (ws ``event-target.js``).

``addEventListener(type, listener, {once})`` / ``removeEventListener`` for
``open``, ``message``, ``close`` and ``error`` (other types are ignored, as
in ws), and the ``onopen``/``onmessage``/``onclose``/``onerror`` attributes.
Listeners get event objects: :class:`Event`, :class:`MessageEvent` (text
becomes ``str``), :class:`CloseEvent` (``reason`` is ``str``,
``wasClean``), :class:`ErrorEvent`.
"""

from __future__ import annotations

import weakref
from typing import Any

from ._callbacks import fit

__all__ = [
    "Event",
    "MessageEvent",
    "CloseEvent",
    "ErrorEvent",
    "add_event_listener",
    "remove_event_listener",
    "attribute_handler_property",
]

_TYPES = ("open", "message", "close", "error")


class Event:
    """``Event``: ``type`` and ``target``."""

    def __init__(self, type: str, target: Any = None) -> None:
        self.type = type
        self.target = target

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.type}>"


class MessageEvent(Event):
    """``MessageEvent``: ``data`` (``str`` for text, bytes for binary)."""

    def __init__(self, target: Any, data: Any = None) -> None:
        super().__init__("message", target)
        self.data = data


class CloseEvent(Event):
    """``CloseEvent``: ``code``, ``reason`` (``str``), ``wasClean``."""

    def __init__(
        self, target: Any, code: int = 0, reason: str = "", was_clean: bool = False
    ) -> None:
        super().__init__("close", target)
        self.code = code
        self.reason = reason
        self.wasClean = was_clean
        self.was_clean = was_clean


class ErrorEvent(Event):
    """``ErrorEvent``: ``error`` and ``message``."""

    def __init__(self, target: Any, error: Any = None) -> None:
        super().__init__("error", target)
        self.error = error
        self.message = str(error) if error is not None else ""


def _make_event(ws: Any, type: str, args: tuple[Any, ...]) -> Event:
    if type == "message":
        data, is_binary = args
        return MessageEvent(ws, data if is_binary else bytes(data).decode())
    if type == "close":
        code, reason = args
        return CloseEvent(
            ws, code, bytes(reason).decode(errors="replace"), ws.was_clean
        )
    if type == "error":
        return ErrorEvent(ws, args[0])
    return Event(type, ws)


class _Wrapper:
    """The emitter listener behind an EventTarget listener."""

    __slots__ = ("ws", "type", "listener", "attribute", "call")

    def __init__(self, ws: Any, type: str, listener: Any, attribute: bool) -> None:
        self.ws = ws
        self.type = type
        self.listener = listener
        self.attribute = attribute
        # A listener may ignore the event (Node: ``() => ...``); decided now.
        handle = getattr(listener, "handleEvent", None)
        self.call = fit(handle if handle is not None else listener, 1)

    def __call__(self, *args: Any) -> Any:
        return self.call(_make_event(self.ws, self.type, args))


def _wrappers(ws: Any, type: str) -> list[_Wrapper]:
    return [f for f in ws.listeners(type) if isinstance(f, _Wrapper)]


def add_event_listener(ws: Any, type: str, listener: Any, options: Any = None) -> None:
    """ws ``addEventListener``: a no-op for other types and duplicates."""
    if type not in _TYPES:
        return
    once = False
    if isinstance(options, dict):
        once = bool(options.get("once"))
    for w in _wrappers(ws, type):
        if w.listener is listener and not w.attribute:
            return
    wrapper = _Wrapper(ws, type, listener, False)
    if once:
        ws.once(type, wrapper)
    else:
        ws.on(type, wrapper)


def remove_event_listener(ws: Any, type: str, listener: Any) -> None:
    """ws ``removeEventListener``: never removes an ``on*`` handler."""
    for w in _wrappers(ws, type):
        if w.listener is listener and not w.attribute:
            ws.remove_listener(type, w)
            return


# The ``on*`` handlers of each target, kept here (not on the target) so that
# this module owns its own state: target -> {type: wrapper}.
_attribute_handlers: weakref.WeakKeyDictionary[Any, dict[str, _Wrapper]] = (
    weakref.WeakKeyDictionary()
)


def attribute_handler_property(type: str) -> property:
    """The ``on<type>`` attribute: get the handler or None; set replaces it."""

    def getter(ws: Any) -> Any:
        w = _attribute_handlers.get(ws, {}).get(type)
        return w.listener if w is not None else None

    def setter(ws: Any, handler: Any) -> None:
        handlers = _attribute_handlers.setdefault(ws, {})
        old = handlers.pop(type, None)
        if old is not None:
            ws.remove_listener(type, old)
        if callable(handler) or hasattr(handler, "handleEvent"):
            wrapper = _Wrapper(ws, type, handler, True)
            handlers[type] = wrapper
            ws.on(type, wrapper)

    return property(getter, setter, doc=f"The ``on{type}`` event handler attribute.")
