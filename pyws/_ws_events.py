"""Typed ``on``/``once`` for the events of ``WebSocket``.

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

from ._client import ClientRequest
from ._emitter import NO_LISTENER, NodeEventEmitter
from .handshake import Response

if TYPE_CHECKING:  # pragma: no cover
    from typing_extensions import Self

__all__ = ["WebSocketEvents"]

_F = TypeVar("_F", bound=Callable[..., Any])

OpenListener = Callable[[], object]
MessageListener = (
    Callable[[bytes, bool], object] | Callable[[bytes], object] | Callable[[], object]
)
PingListener = Callable[[bytes], object] | Callable[[], object]
PongListener = Callable[[bytes], object] | Callable[[], object]
CloseListener = (
    Callable[[int, bytes], object] | Callable[[int], object] | Callable[[], object]
)
ErrorListener = Callable[[BaseException], object] | Callable[[], object]
UpgradeListener = Callable[[Response], object] | Callable[[], object]
UnexpectedResponseListener = (
    Callable[[ClientRequest, Response], object]
    | Callable[[ClientRequest], object]
    | Callable[[], object]
)
RedirectListener = (
    Callable[[str, ClientRequest], object]
    | Callable[[str], object]
    | Callable[[], object]
)

DrainListener = Callable[[], object]
_DrainListenerT = TypeVar("_DrainListenerT", bound=DrainListener)
_OpenListenerT = TypeVar("_OpenListenerT", bound=OpenListener)
_MessageListenerT = TypeVar("_MessageListenerT", bound=MessageListener)
_PingListenerT = TypeVar("_PingListenerT", bound=PingListener)
_PongListenerT = TypeVar("_PongListenerT", bound=PongListener)
_CloseListenerT = TypeVar("_CloseListenerT", bound=CloseListener)
_ErrorListenerT = TypeVar("_ErrorListenerT", bound=ErrorListener)
_UpgradeListenerT = TypeVar("_UpgradeListenerT", bound=UpgradeListener)
_UnexpectedResponseListenerT = TypeVar(
    "_UnexpectedResponseListenerT", bound=UnexpectedResponseListener
)
_RedirectListenerT = TypeVar("_RedirectListenerT", bound=RedirectListener)


class WebSocketEvents(NodeEventEmitter):
    """``WebSocket``'s events, typed per name."""

    @overload  # type: ignore[override]  # narrower, by event name
    def on(self, event: Literal["open"], listener: OpenListener) -> Self: ...
    @overload
    def on(self, event: Literal["message"], listener: MessageListener) -> Self: ...
    @overload
    def on(self, event: Literal["ping"], listener: PingListener) -> Self: ...
    @overload
    def on(self, event: Literal["pong"], listener: PongListener) -> Self: ...
    @overload
    def on(self, event: Literal["close"], listener: CloseListener) -> Self: ...
    @overload
    def on(self, event: Literal["error"], listener: ErrorListener) -> Self: ...
    @overload
    def on(self, event: Literal["upgrade"], listener: UpgradeListener) -> Self: ...
    @overload
    def on(
        self,
        event: Literal["unexpected-response"],
        listener: UnexpectedResponseListener,
    ) -> Self: ...
    @overload
    def on(self, event: Literal["redirect"], listener: RedirectListener) -> Self: ...
    @overload
    def on(self, event: Literal["drain"], listener: DrainListener) -> Self: ...
    @overload
    def on(self, event: str, listener: Callable[..., object]) -> Self: ...
    @overload
    def on(
        self, event: Literal["open"]
    ) -> Callable[[_OpenListenerT], _OpenListenerT]: ...
    @overload
    def on(
        self, event: Literal["message"]
    ) -> Callable[[_MessageListenerT], _MessageListenerT]: ...
    @overload
    def on(
        self, event: Literal["ping"]
    ) -> Callable[[_PingListenerT], _PingListenerT]: ...
    @overload
    def on(
        self, event: Literal["pong"]
    ) -> Callable[[_PongListenerT], _PongListenerT]: ...
    @overload
    def on(
        self, event: Literal["close"]
    ) -> Callable[[_CloseListenerT], _CloseListenerT]: ...
    @overload
    def on(
        self, event: Literal["error"]
    ) -> Callable[[_ErrorListenerT], _ErrorListenerT]: ...
    @overload
    def on(
        self, event: Literal["upgrade"]
    ) -> Callable[[_UpgradeListenerT], _UpgradeListenerT]: ...
    @overload
    def on(
        self, event: Literal["unexpected-response"]
    ) -> Callable[[_UnexpectedResponseListenerT], _UnexpectedResponseListenerT]: ...
    @overload
    def on(
        self, event: Literal["redirect"]
    ) -> Callable[[_RedirectListenerT], _RedirectListenerT]: ...
    @overload
    def on(
        self, event: Literal["drain"]
    ) -> Callable[[_DrainListenerT], _DrainListenerT]: ...
    @overload
    def on(self, event: str) -> Callable[[_F], _F]: ...
    def on(self, event: Any, listener: Any = NO_LISTENER) -> Any:
        return super().on(event, listener)

    @overload  # type: ignore[override]  # narrower, by event name
    def once(self, event: Literal["open"], listener: OpenListener) -> Self: ...
    @overload
    def once(self, event: Literal["message"], listener: MessageListener) -> Self: ...
    @overload
    def once(self, event: Literal["ping"], listener: PingListener) -> Self: ...
    @overload
    def once(self, event: Literal["pong"], listener: PongListener) -> Self: ...
    @overload
    def once(self, event: Literal["close"], listener: CloseListener) -> Self: ...
    @overload
    def once(self, event: Literal["error"], listener: ErrorListener) -> Self: ...
    @overload
    def once(self, event: Literal["upgrade"], listener: UpgradeListener) -> Self: ...
    @overload
    def once(
        self,
        event: Literal["unexpected-response"],
        listener: UnexpectedResponseListener,
    ) -> Self: ...
    @overload
    def once(self, event: Literal["redirect"], listener: RedirectListener) -> Self: ...
    @overload
    def once(self, event: Literal["drain"], listener: DrainListener) -> Self: ...
    @overload
    def once(self, event: str, listener: Callable[..., object]) -> Self: ...
    @overload
    def once(
        self, event: Literal["open"]
    ) -> Callable[[_OpenListenerT], _OpenListenerT]: ...
    @overload
    def once(
        self, event: Literal["message"]
    ) -> Callable[[_MessageListenerT], _MessageListenerT]: ...
    @overload
    def once(
        self, event: Literal["ping"]
    ) -> Callable[[_PingListenerT], _PingListenerT]: ...
    @overload
    def once(
        self, event: Literal["pong"]
    ) -> Callable[[_PongListenerT], _PongListenerT]: ...
    @overload
    def once(
        self, event: Literal["close"]
    ) -> Callable[[_CloseListenerT], _CloseListenerT]: ...
    @overload
    def once(
        self, event: Literal["error"]
    ) -> Callable[[_ErrorListenerT], _ErrorListenerT]: ...
    @overload
    def once(
        self, event: Literal["upgrade"]
    ) -> Callable[[_UpgradeListenerT], _UpgradeListenerT]: ...
    @overload
    def once(
        self, event: Literal["unexpected-response"]
    ) -> Callable[[_UnexpectedResponseListenerT], _UnexpectedResponseListenerT]: ...
    @overload
    def once(
        self, event: Literal["redirect"]
    ) -> Callable[[_RedirectListenerT], _RedirectListenerT]: ...
    @overload
    def once(
        self, event: Literal["drain"]
    ) -> Callable[[_DrainListenerT], _DrainListenerT]: ...
    @overload
    def once(self, event: str) -> Callable[[_F], _F]: ...
    def once(self, event: Any, listener: Any = NO_LISTENER) -> Any:
        return super().once(event, listener)
