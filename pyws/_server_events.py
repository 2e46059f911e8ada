"""Typed ``on``/``once`` for the events of ``WebSocketServer``.

The facade classes inherit these overloads so that a type checker knows
each event's listener (Node arity: a listener may take fewer arguments than
the event passes); any other event name takes any callable, and ``on(event)``
without a listener is a typed decorator. At run time each method only
forwards to :class:`~pyws._emitter.NodeEventEmitter`.

Facade layer.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal, TypeVar, overload

from ._emitter import NO_LISTENER, NodeEventEmitter
from .handshake import Request
from .node_socket import NodeSocket
from .websocket import WebSocket

if TYPE_CHECKING:  # pragma: no cover
    from typing_extensions import Self

__all__ = ["WebSocketServerEvents"]

_F = TypeVar("_F", bound=Callable[..., Any])

ConnectionListener = (
    Callable[[WebSocket, Request], object]
    | Callable[[WebSocket], object]
    | Callable[[], object]
)
ListeningListener = Callable[[], object]
HeadersListener = (
    Callable[[list[str], Request], object]
    | Callable[[list[str]], object]
    | Callable[[], object]
)
ServerErrorListener = Callable[[BaseException], object] | Callable[[], object]
ServerCloseListener = Callable[[], object]
ClientErrorListener = (
    Callable[[BaseException, NodeSocket, Request], object]
    | Callable[[BaseException, NodeSocket], object]
    | Callable[[BaseException], object]
    | Callable[[], object]
)

BroadcastDropListener = (
    Callable[[WebSocket, str], object]
    | Callable[[WebSocket], object]
    | Callable[[], object]
)
_BroadcastDropListenerT = TypeVar(
    "_BroadcastDropListenerT", bound=BroadcastDropListener
)
_ConnectionListenerT = TypeVar("_ConnectionListenerT", bound=ConnectionListener)
_ListeningListenerT = TypeVar("_ListeningListenerT", bound=ListeningListener)
_HeadersListenerT = TypeVar("_HeadersListenerT", bound=HeadersListener)
_ServerErrorListenerT = TypeVar("_ServerErrorListenerT", bound=ServerErrorListener)
_ServerCloseListenerT = TypeVar("_ServerCloseListenerT", bound=ServerCloseListener)
_ClientErrorListenerT = TypeVar("_ClientErrorListenerT", bound=ClientErrorListener)


class WebSocketServerEvents(NodeEventEmitter):
    """``WebSocketServer``'s events, typed per name."""

    @overload  # type: ignore[override]  # narrower, by event name
    def on(
        self, event: Literal["connection"], listener: ConnectionListener
    ) -> Self: ...
    @overload
    def on(self, event: Literal["listening"], listener: ListeningListener) -> Self: ...
    @overload
    def on(self, event: Literal["headers"], listener: HeadersListener) -> Self: ...
    @overload
    def on(self, event: Literal["error"], listener: ServerErrorListener) -> Self: ...
    @overload
    def on(self, event: Literal["close"], listener: ServerCloseListener) -> Self: ...
    @overload
    def on(
        self, event: Literal["wsClientError"], listener: ClientErrorListener
    ) -> Self: ...
    @overload
    def on(
        self, event: Literal["broadcastDrop"], listener: BroadcastDropListener
    ) -> Self: ...
    @overload
    def on(self, event: str, listener: Callable[..., object]) -> Self: ...
    @overload
    def on(
        self, event: Literal["connection"]
    ) -> Callable[[_ConnectionListenerT], _ConnectionListenerT]: ...
    @overload
    def on(
        self, event: Literal["listening"]
    ) -> Callable[[_ListeningListenerT], _ListeningListenerT]: ...
    @overload
    def on(
        self, event: Literal["headers"]
    ) -> Callable[[_HeadersListenerT], _HeadersListenerT]: ...
    @overload
    def on(
        self, event: Literal["error"]
    ) -> Callable[[_ServerErrorListenerT], _ServerErrorListenerT]: ...
    @overload
    def on(
        self, event: Literal["close"]
    ) -> Callable[[_ServerCloseListenerT], _ServerCloseListenerT]: ...
    @overload
    def on(
        self, event: Literal["wsClientError"]
    ) -> Callable[[_ClientErrorListenerT], _ClientErrorListenerT]: ...
    @overload
    def on(
        self, event: Literal["broadcastDrop"]
    ) -> Callable[[_BroadcastDropListenerT], _BroadcastDropListenerT]: ...
    @overload
    def on(self, event: str) -> Callable[[_F], _F]: ...
    def on(self, event: Any, listener: Any = NO_LISTENER) -> Any:
        return super().on(event, listener)

    @overload  # type: ignore[override]  # narrower, by event name
    def once(
        self, event: Literal["connection"], listener: ConnectionListener
    ) -> Self: ...
    @overload
    def once(
        self, event: Literal["listening"], listener: ListeningListener
    ) -> Self: ...
    @overload
    def once(self, event: Literal["headers"], listener: HeadersListener) -> Self: ...
    @overload
    def once(self, event: Literal["error"], listener: ServerErrorListener) -> Self: ...
    @overload
    def once(self, event: Literal["close"], listener: ServerCloseListener) -> Self: ...
    @overload
    def once(
        self, event: Literal["wsClientError"], listener: ClientErrorListener
    ) -> Self: ...
    @overload
    def once(
        self, event: Literal["broadcastDrop"], listener: BroadcastDropListener
    ) -> Self: ...
    @overload
    def once(self, event: str, listener: Callable[..., object]) -> Self: ...
    @overload
    def once(
        self, event: Literal["connection"]
    ) -> Callable[[_ConnectionListenerT], _ConnectionListenerT]: ...
    @overload
    def once(
        self, event: Literal["listening"]
    ) -> Callable[[_ListeningListenerT], _ListeningListenerT]: ...
    @overload
    def once(
        self, event: Literal["headers"]
    ) -> Callable[[_HeadersListenerT], _HeadersListenerT]: ...
    @overload
    def once(
        self, event: Literal["error"]
    ) -> Callable[[_ServerErrorListenerT], _ServerErrorListenerT]: ...
    @overload
    def once(
        self, event: Literal["close"]
    ) -> Callable[[_ServerCloseListenerT], _ServerCloseListenerT]: ...
    @overload
    def once(
        self, event: Literal["wsClientError"]
    ) -> Callable[[_ClientErrorListenerT], _ClientErrorListenerT]: ...
    @overload
    def once(
        self, event: Literal["broadcastDrop"]
    ) -> Callable[[_BroadcastDropListenerT], _BroadcastDropListenerT]: ...
    @overload
    def once(self, event: str) -> Callable[[_F], _F]: ...
    def once(self, event: Any, listener: Any = NO_LISTENER) -> Any:
        return super().once(event, listener)
