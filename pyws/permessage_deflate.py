"""permessage-deflate (RFC 7692) as ws 8.23 does it.

This module owns the extension's options (``perMessageDeflate``), its
negotiation (the client offer, the server's choice among offers, the client's
check of the response) and its data path (deflate and inflate with context
takeover, window bits and the ``maxPayload`` limit on the inflated size).

It is sans-I/O and stdlib-only: it must not import ``asyncio``, ``pyee``,
``socket``, ``time`` or any transport or facade module of pyws. It does not
parse or format the ``Sec-WebSocket-Extensions`` header either: the handshake
code does that with :mod:`pyws.extension` and hands over, or receives, the
parameter dictionaries.

Negotiation errors
    ws raises a plain ``Error`` (unknown or repeated parameter, no acceptable
    offer) or a ``TypeError`` (a bad parameter value). pyws raises
    :class:`NegotiationError` and :class:`NegotiationTypeError` (also a
    ``TypeError``) with ws's messages, so the handshake can catch exactly the
    negotiation failures: a server answers them with 400 ``Invalid or
    unacceptable Sec-WebSocket-Extensions header``, a client fails with
    ``Invalid Sec-WebSocket-Extensions header``.

Data path
    :meth:`PerMessageDeflate.compress` and :meth:`PerMessageDeflate.decompress`
    take one frame's payload and are synchronous. ``zlib`` releases the GIL
    while it works, so a transport that does not want a large message to stall
    its event loop may run ``compress`` (or ``decompress``) in a worker thread,
    under these rules:

    * Only for payloads of :data:`COMPRESS_ASYNC_THRESHOLD` bytes or more
      (:func:`use_thread`); below that the thread hand-off costs more than
      zlib does.
    * At most one ``compress`` call of an instance runs at a time, and the
      frames of later messages (control frames included) wait behind it in
      the sender's queue, so the wire order is the call order (ws queues the
      same way). The same holds for ``decompress``; a ``compress`` and a
      ``decompress`` of one instance may run at the same time (they use
      separate zlib streams).
    * The data handed to the thread must not change until it returns: copy a
      ``bytearray`` or a writable ``memoryview`` first.
    * Each threaded job goes through the process-wide limiter
      (:func:`zlib_limiter`, ws's ``concurrencyLimit``), and the ``done``
      callback it receives is called on the event-loop thread (for example
      with ``loop.call_soon_threadsafe``) once the job ends.
    * After :meth:`PerMessageDeflate.cleanup`, a result that arrives from a
      thread is dropped and the waiting callbacks get
      :data:`DEFLATE_CLOSED_MESSAGE` (ws's message).

Departures from ws
    * Window bits 8 are negotiated as in ws; the deflater then uses 9, as
      Node's zlib does (zlib refuses 8 for raw deflate, and a 9-bit deflater
      never emits a distance over 250, so the stream fits a 256-byte window).
    * Options are validated when the instance is built (ws passes most of them
      to zlib unchecked): an unknown option raises ``TypeError``, a window
      size outside 8..15 or a negative threshold raises
      :class:`~pyws.errors.RangeError`. ``serverMaxWindowBits: true`` (which
      makes ws offer an invalid bare ``server_max_window_bits``) is refused.
    * ``zlibDeflateOptions``/``zlibInflateOptions`` accept Node's ``level``,
      ``memLevel``, ``strategy``, ``chunkSize`` and ``windowBits`` (ignored,
      as in ws, which forces the negotiated value); ``chunkSize`` has no
      effect. Other zlib options raise ``TypeError``.
    * Without a ``zlibDeflateOptions.level``, pyws deflates at level 1
      (``Z_BEST_SPEED``), where Node's zlib defaults to 6: on 1 KiB text
      messages level 6 cost about 150 us per message and level 1 about 22 us
      for 30 % more bytes on the wire. Pass ``{'level': 6}`` for ws's output.
    * An inflate error is :class:`~pyws.errors.InflateError` whose message is
      zlib's own text (as Node's) and whose ``code`` is zlib's code name
      (``'Z_DATA_ERROR'``...), status 1007.
"""

from __future__ import annotations

import re
import zlib
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from typing import Any, ClassVar, Final, TypeGuard

from . import extension as extension_mod
from .constants import CloseCode
from .errors import InflateError, RangeError, WebSocketError, protocol_error

__all__ = [
    "EXTENSION_NAME",
    "TRAILER",
    "DEFAULT_THRESHOLD",
    "DEFAULT_CONCURRENCY_LIMIT",
    "COMPRESS_ASYNC_THRESHOLD",
    "DEFLATE_CLOSED_MESSAGE",
    "NegotiationError",
    "NegotiationTypeError",
    "PerMessageDeflate",
    "ZlibLimiter",
    "negotiate",
    "normalize_option",
    "response_header",
    "use_thread",
    "zlib_limiter",
]

#: The extension token in ``Sec-WebSocket-Extensions``.
EXTENSION_NAME: Final = "permessage-deflate"

#: RFC 7692 section 7.2.1: a final fragment is sent without these four bytes,
#: and the receiver appends them back before inflating.
TRAILER: Final = b"\x00\x00\xff\xff"

#: ws ``threshold`` default, in bytes.
DEFAULT_THRESHOLD: Final = 1024

#: ws ``concurrencyLimit`` default: zlib jobs running at once, process-wide.
DEFAULT_CONCURRENCY_LIMIT: Final = 10

#: Payloads at least this long may be compressed in a worker thread (see the
#: module docstring). Measured on CPython 3.11 / zlib 1.2.13, default level,
#: English-like text: 16 KiB deflates in about 0.3 ms, 64 KiB in 1 to 5 ms,
#: 1 MiB in about 70 ms, while a thread hand-off costs about 0.1 ms.
COMPRESS_ASYNC_THRESHOLD: Final = 64 * 1024

#: Deflate level used unless ``zlibDeflateOptions`` sets one (Node: 6);
#: see "Departures from ws" above.
DEFAULT_LEVEL: Final = zlib.Z_BEST_SPEED

#: ws's error message for sends still waiting when the extension is cleaned up.
DEFLATE_CLOSED_MESSAGE: Final = (
    "The deflate stream was closed while data was being processed"
)

#: Largest input slice, and output piece, of one zlib call when inflating
#: under a size limit.
_INFLATE_STEP: Final = 256 * 1024

_DEFAULT_WINDOW_BITS: Final = 15
_MIN_WINDOW_BITS: Final = 8
_MAX_WINDOW_BITS: Final = 15

_SERVER_NCT: Final = "server_no_context_takeover"
_CLIENT_NCT: Final = "client_no_context_takeover"
_SERVER_MWB: Final = "server_max_window_bits"
_CLIENT_MWB: Final = "client_max_window_bits"

#: zlib's return codes, for :class:`~pyws.errors.InflateError` ``code``.
_ZLIB_CODES: Final = {
    1: "Z_STREAM_END",
    2: "Z_NEED_DICT",
    -1: "Z_ERRNO",
    -2: "Z_STREAM_ERROR",
    -3: "Z_DATA_ERROR",
    -4: "Z_MEM_ERROR",
    -5: "Z_BUF_ERROR",
    -6: "Z_VERSION_ERROR",
}
_ZLIB_ERROR_RE: Final = re.compile(r"Error (-?\d+) while [^:]*: (.*)", re.DOTALL)


class NegotiationError(WebSocketError):
    """permessage-deflate parameters could not be negotiated (ws ``Error``).

    The message is ws's, e.g. ``'None of the extension offers can be
    accepted'`` or ``'Unknown parameter "foo"'``.
    """


class NegotiationTypeError(NegotiationError, TypeError):
    """A parameter has an invalid value (ws ``TypeError``).

    The message is ws's: ``'Invalid value for parameter "<name>": <value>'``.
    """


# ---------------------------------------------------------------------------
# Options
# ---------------------------------------------------------------------------

#: PEP 8 spelling -> ws spelling of each option.
_OPTION_ALIASES: Final = {
    "server_no_context_takeover": "serverNoContextTakeover",
    "client_no_context_takeover": "clientNoContextTakeover",
    "server_max_window_bits": "serverMaxWindowBits",
    "client_max_window_bits": "clientMaxWindowBits",
    "zlib_deflate_options": "zlibDeflateOptions",
    "zlib_inflate_options": "zlibInflateOptions",
    "threshold": "threshold",
    "concurrency_limit": "concurrencyLimit",
}
_OPTION_NAMES: Final = frozenset(_OPTION_ALIASES.values())

_ZLIB_ALIASES: Final = {
    "level": "level",
    "mem_level": "memLevel",
    "strategy": "strategy",
    "chunk_size": "chunkSize",
    "window_bits": "windowBits",
}
_ZLIB_NAMES: Final = frozenset(_ZLIB_ALIASES.values())
#: Node's ranges for the zlib options pyws passes on.
_ZLIB_RANGES: Final = {
    "level": (-1, 9),
    "memLevel": (1, 9),
    "strategy": (0, 4),
    "chunkSize": (64, 2**31 - 1),
    "windowBits": (8, 15),
}


def _canonical_keys(
    options: Mapping[str, Any],
    aliases: Mapping[str, str],
    names: frozenset[str],
    what: str,
) -> dict[str, Any]:
    """Return ``options`` keyed by ws spellings; refuse unknown or doubled."""
    out: dict[str, Any] = {}
    for key, value in options.items():
        if not isinstance(key, str):
            raise TypeError(f"{what} option names must be strings, not {key!r}")
        name = key if key in names else aliases.get(key)
        if name is None:
            raise TypeError(f"Unknown {what} option: {key!r}")
        if name in out:
            raise TypeError(
                f"{what} option {name!r} given twice (as {name!r} and its alias)"
            )
        out[name] = value
    return out


def _is_int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_window_bits(name: str, value: object, allow_true: bool) -> None:
    if value is None or value is False or (allow_true and value is True):
        return
    if not _is_int(value):
        allowed = "an integer, true or false" if allow_true else "an integer or false"
        raise TypeError(
            f"perMessageDeflate option {name!r} must be {allowed}, not {value!r}"
        )
    if not isinstance(value, int) or not _MIN_WINDOW_BITS <= value <= _MAX_WINDOW_BITS:
        raise RangeError(
            f"perMessageDeflate option {name!r} must be between "
            f"{_MIN_WINDOW_BITS} and {_MAX_WINDOW_BITS}, not {value}"
        )


def _check_zlib_options(name: str, value: object) -> dict[str, int] | None:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise TypeError(
            f"perMessageDeflate option {name!r} must be a mapping, not {value!r}"
        )
    zopts = _canonical_keys(value, _ZLIB_ALIASES, _ZLIB_NAMES, name)
    for key, item in zopts.items():
        if not _is_int(item):
            raise TypeError(f"{name} option {key!r} must be an integer, not {item!r}")
        low, high = _ZLIB_RANGES[key]
        if not low <= item <= high:
            raise RangeError(
                f"{name} option {key!r} must be between {low} and {high}, not {item}"
            )
    return zopts


def _validate_options(options: Mapping[str, Any]) -> dict[str, Any]:
    """Check ``perMessageDeflate`` options; return a copy in ws spelling."""
    if not isinstance(options, Mapping):
        raise TypeError(
            f"perMessageDeflate must be a boolean or a mapping, not {options!r}"
        )
    opts = _canonical_keys(options, _OPTION_ALIASES, _OPTION_NAMES, "perMessageDeflate")
    for name in ("serverNoContextTakeover", "clientNoContextTakeover"):
        value = opts.get(name)
        if value is not None and not isinstance(value, bool):
            raise TypeError(
                f"perMessageDeflate option {name!r} must be a boolean, not {value!r}"
            )
    _check_window_bits("serverMaxWindowBits", opts.get("serverMaxWindowBits"), False)
    _check_window_bits("clientMaxWindowBits", opts.get("clientMaxWindowBits"), True)
    for name in ("zlibDeflateOptions", "zlibInflateOptions"):
        if name in opts:
            opts[name] = _check_zlib_options(name, opts[name])
    threshold = opts.get("threshold")
    if threshold is not None:
        if not _is_int(threshold):
            raise TypeError(
                "perMessageDeflate option 'threshold' must be an integer, "
                f"not {threshold!r}"
            )
        if threshold < 0:
            raise RangeError(
                "perMessageDeflate option 'threshold' must not be negative, "
                f"not {threshold}"
            )
    limit = opts.get("concurrencyLimit")
    if limit is not None:
        if not _is_int(limit):
            raise TypeError(
                "perMessageDeflate option 'concurrencyLimit' must be an integer, "
                f"not {limit!r}"
            )
        if limit < 0:
            raise RangeError(
                "perMessageDeflate option 'concurrencyLimit' must not be negative, "
                f"not {limit}"
            )
    return opts


def negotiate(
    options: Mapping[str, Any] | None,
    offers: Mapping[str, Any] | None,
    max_payload: int,
) -> PerMessageDeflate | None:
    """A server's side of the negotiation (ws ``handleUpgrade``).

    Args:
        options: the server's ``perMessageDeflate`` options (as
            :func:`normalize_option` gives them), ``None`` when it is off.
        offers: the client's parsed ``Sec-WebSocket-Extensions``
            (``extension.parse``), ``None`` when absent or not parsed.
        max_payload: the connection's ``maxPayload``.

    Returns:
        The extension agreed on, or ``None`` when it is off or the client
        did not offer it.

    Raises:
        NegotiationError: every offer of the client is unacceptable (ws
            answers 400 ``Invalid or unacceptable Sec-WebSocket-Extensions
            header``).
    """
    if options is None or not offers or EXTENSION_NAME not in offers:
        return None
    deflate = PerMessageDeflate(options, True, max_payload)
    deflate.accept(offers[EXTENSION_NAME])
    return deflate


def response_header(deflate: PerMessageDeflate) -> str:
    """The ``Sec-WebSocket-Extensions`` value of a server's 101 for what
    :func:`negotiate` agreed."""
    return extension_mod.format({EXTENSION_NAME: deflate.params})


def normalize_option(value: object) -> dict[str, Any] | None:
    """Turn a ``perMessageDeflate`` option value into options or ``None``.

    Args:
        value: ``True`` (the defaults), ``False``/``None`` (the extension is
            off) or a mapping of options, in ws or PEP 8 spelling.

    Returns:
        A validated copy of the options in ws spelling (``{}`` for ``True``),
        or ``None`` when the extension is off.

    Raises:
        TypeError: an unknown option, an option given in both spellings, or a
            value of the wrong type.
        RangeError: a window size outside 8..15, or a negative ``threshold``
            or ``concurrencyLimit``.
    """
    if value is True:
        return {}
    if value is False or value is None:
        return None
    if not isinstance(value, Mapping):
        raise TypeError(
            f"perMessageDeflate must be a boolean or a mapping, not {value!r}"
        )
    return _validate_options(value)


# ---------------------------------------------------------------------------
# The process-wide zlib limiter (ws lib/limiter.js)
# ---------------------------------------------------------------------------

Job = Callable[[Callable[[], None]], None]


class ZlibLimiter:
    """A job queue that runs at most ``concurrency`` jobs at once.

    A job is a callable that receives ``done``; it starts its work (say, a
    compression in a worker thread) and calls ``done()`` once finished, which
    starts the next queued job. The limiter holds no lock: :meth:`add` and
    every ``done`` must be called from one thread (the event loop's).

    Args:
        concurrency: the most jobs running at once; ``0`` means no limit (as
            ws's ``concurrency || Infinity``).
    """

    def __init__(self, concurrency: int) -> None:
        self.concurrency: int | None = concurrency or None
        self.pending = 0
        self._jobs: deque[Job] = deque()

    @property
    def queued(self) -> int:
        """Number of jobs waiting for a free slot."""
        return len(self._jobs)

    def add(self, job: Job) -> None:
        """Queue ``job`` and run it now if a slot is free."""
        self._jobs.append(job)
        self._run()

    def _run(self) -> None:
        if self.concurrency is not None and self.pending >= self.concurrency:
            return
        if not self._jobs:
            return
        job = self._jobs.popleft()
        self.pending += 1
        called = False

        def done() -> None:
            nonlocal called
            if called:  # a second call must not free a second slot
                return
            called = True
            self.pending -= 1
            self._run()

        job(done)


_zlib_limiter: ZlibLimiter | None = None


def zlib_limiter() -> ZlibLimiter:
    """Return the process-wide limiter (ws's ``zlibLimiter``).

    The first :class:`PerMessageDeflate` built sets its size from its
    ``concurrencyLimit``; later instances share it, whatever they ask for.
    """
    global _zlib_limiter
    if _zlib_limiter is None:
        _zlib_limiter = ZlibLimiter(DEFAULT_CONCURRENCY_LIMIT)
    return _zlib_limiter


def use_thread(length: int) -> bool:
    """Whether a payload of ``length`` bytes is worth a worker thread."""
    return length >= COMPRESS_ASYNC_THRESHOLD


# ---------------------------------------------------------------------------
# Negotiation helpers
# ---------------------------------------------------------------------------

#: ws 8.23.1's ``windowBitsRegex``: the decimal digits of 8 to 15 and nothing
#: else (no ``010``, ``8.0``, ``0x0a`` or spaces, which ``+value`` accepted).
_WINDOW_BITS_RE: Final = re.compile(r"[89]|1[0-5]")


def _js_string(value: object) -> str:
    """JavaScript's string conversion of a parameter value."""
    if value is True:
        return "true"
    return str(value)


def _window_bits_value(key: str, value: str | bool) -> int:
    if not isinstance(value, str) or not _WINDOW_BITS_RE.fullmatch(value):
        raise NegotiationTypeError(
            f'Invalid value for parameter "{key}": {_js_string(value)}'
        )
    return int(value)


# ---------------------------------------------------------------------------
# The extension
# ---------------------------------------------------------------------------


class PerMessageDeflate:
    """The permessage-deflate extension of one connection (ws parity).

    Args:
        options: ``perMessageDeflate`` options in ws spelling (PEP 8 spelling
            is accepted too); ``None`` means the defaults.
        is_server: whether this end is the server.
        max_payload: ws ``maxPayload``: the largest inflated message, in
            bytes; ``0`` or less means no limit.

    Raises:
        TypeError, RangeError: as :func:`normalize_option`.

    Attributes:
        params: the agreed parameters once :meth:`accept` has run (``{}``
            before): names as in the header, values ``True`` or an ``int``.
    """

    extension_name: ClassVar[str] = EXTENSION_NAME
    #: ws spelling of :attr:`extension_name`.
    extensionName: ClassVar[str] = EXTENSION_NAME  # noqa: N815 - ws spelling

    def __init__(
        self,
        options: Mapping[str, Any] | None,
        is_server: bool,
        max_payload: int,
    ) -> None:
        self._options = _validate_options(options if options is not None else {})
        threshold = self._options.get("threshold")
        self._threshold: int = DEFAULT_THRESHOLD if threshold is None else threshold
        self._is_server = bool(is_server)
        self._max_payload = int(max_payload)
        self.params: dict[str, Any] = {}
        self._deflate: Any = None  # zlib compress object, built lazily
        self._inflate: Any = None  # zlib decompress object, built lazily
        self._inflated = 0  # inflated bytes of the message in progress

        global _zlib_limiter
        if _zlib_limiter is None:
            limit = self._options.get("concurrencyLimit")
            _zlib_limiter = ZlibLimiter(
                DEFAULT_CONCURRENCY_LIMIT if limit is None else limit
            )

    # -- read-only views ---------------------------------------------------

    @property
    def options(self) -> dict[str, Any]:
        """A copy of the validated options, in ws spelling."""
        return dict(self._options)

    @property
    def is_server(self) -> bool:
        """Whether this end is the server."""
        return self._is_server

    @property
    def threshold(self) -> int:
        """``threshold`` in bytes (see :meth:`threshold_applies`)."""
        return self._threshold

    @property
    def max_payload(self) -> int:
        """The inflated size limit; ``0`` or less means none."""
        return self._max_payload

    # -- negotiation -------------------------------------------------------

    def offer(self) -> dict[str, Any]:
        """Client: the parameters of our offer (ws ``offer``).

        Returns:
            Parameters for ``extension.format({'permessage-deflate': ...})``:
            ``True`` for a bare parameter, an ``int`` for a value. The default
            options give ``{'client_max_window_bits': True}``, that is
            ``permessage-deflate; client_max_window_bits``.
        """
        opts = self._options
        params: dict[str, Any] = {}
        if opts.get("serverNoContextTakeover"):
            params[_SERVER_NCT] = True
        if opts.get("clientNoContextTakeover"):
            params[_CLIENT_NCT] = True
        if opts.get("serverMaxWindowBits"):
            params[_SERVER_MWB] = opts["serverMaxWindowBits"]
        client_bits = opts.get("clientMaxWindowBits")
        if client_bits:
            params[_CLIENT_MWB] = client_bits
        elif client_bits is None:
            params[_CLIENT_MWB] = True
        return params

    def accept(self, configurations: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
        """Negotiate from parsed parameters (ws ``accept``).

        Args:
            configurations: the parsed parameter lists of every
                ``permessage-deflate`` entry, as ``extension.parse`` gives
                them: ``{name: [value, ...]}`` with values ``str`` or
                ``True``. A server gets the client's offers and takes the
                first acceptable one; a client gets the server's response and
                reads the first entry only.

        Returns:
            The agreed parameters (also stored in :attr:`params`); on a
            server, the parameters of the response header.

        Raises:
            NegotiationError: a parameter is repeated or unknown, no offer is
                acceptable, or the response has an unexpected parameter.
            NegotiationTypeError: a parameter value is invalid.
        """
        normalized = self._normalize_params(configurations)
        if self._is_server:
            params = self._accept_as_server(normalized)
        else:
            params = self._accept_as_client(normalized)
        self.params = params
        return dict(params)

    def _normalize_params(
        self, configurations: Iterable[Mapping[str, Any]]
    ) -> list[dict[str, Any]]:
        """Check every configuration and convert its values (ws order)."""
        out: list[dict[str, Any]] = []
        for config in configurations:
            params: dict[str, Any] = {}
            for key, values in config.items():
                if isinstance(values, (str, bool)):
                    values = [values]
                if len(values) > 1:
                    raise NegotiationError(
                        f'Parameter "{key}" must have only a single value'
                    )
                value = values[0]
                if key == _CLIENT_MWB:
                    if value is not True:
                        value = _window_bits_value(key, value)
                    elif not self._is_server:
                        raise NegotiationTypeError(
                            f'Invalid value for parameter "{key}": true'
                        )
                elif key == _SERVER_MWB:
                    value = _window_bits_value(key, value)
                elif key in (_CLIENT_NCT, _SERVER_NCT):
                    if value is not True:
                        raise NegotiationTypeError(
                            f'Invalid value for parameter "{key}": {_js_string(value)}'
                        )
                else:
                    raise NegotiationError(f'Unknown parameter "{key}"')
                params[key] = value
            out.append(params)
        return out

    def _accept_as_server(self, offers: list[dict[str, Any]]) -> dict[str, Any]:
        """ws ``acceptAsServer``: the first offer our options do not refuse."""
        opts = self._options
        server_bits = opts.get("serverMaxWindowBits")
        client_bits = opts.get("clientMaxWindowBits")
        accepted: dict[str, Any] | None = None
        for params in offers:
            if opts.get("serverNoContextTakeover") is False and params.get(_SERVER_NCT):
                continue
            offered_server_bits = params.get(_SERVER_MWB)
            if offered_server_bits and (
                server_bits is False
                or (_is_int(server_bits) and server_bits > offered_server_bits)
            ):
                continue
            if _is_int(client_bits):
                offered_client_bits = params.get(_CLIENT_MWB)
                if _is_int(offered_client_bits):
                    if client_bits > offered_client_bits:
                        continue
                elif not offered_client_bits:
                    continue
            accepted = dict(params)
            break
        if accepted is None:
            raise NegotiationError("None of the extension offers can be accepted")

        if opts.get("serverNoContextTakeover"):
            accepted[_SERVER_NCT] = True
        if opts.get("clientNoContextTakeover"):
            accepted[_CLIENT_NCT] = True
        if _is_int(server_bits):
            accepted[_SERVER_MWB] = server_bits
        if _is_int(client_bits):
            accepted[_CLIENT_MWB] = client_bits
        elif accepted.get(_CLIENT_MWB) is True or client_bits is False:
            accepted.pop(_CLIENT_MWB, None)
        return accepted

    def _accept_as_client(self, response: list[dict[str, Any]]) -> dict[str, Any]:
        """ws ``acceptAsClient``: check the server's first configuration."""
        if not response:
            raise NegotiationError("None of the extension offers can be accepted")
        params = dict(response[0])
        opts = self._options
        if opts.get("clientNoContextTakeover") is False and params.get(_CLIENT_NCT):
            raise NegotiationError('Unexpected parameter "client_no_context_takeover"')
        client_bits = opts.get("clientMaxWindowBits")
        if not params.get(_CLIENT_MWB):
            if _is_int(client_bits):
                params[_CLIENT_MWB] = client_bits
        elif client_bits is False or (
            _is_int(client_bits) and params[_CLIENT_MWB] > client_bits
        ):
            raise NegotiationError(
                'Unexpected or invalid parameter "client_max_window_bits"'
            )
        return params

    # -- data path ---------------------------------------------------------

    def _our_side(self) -> str:
        return "server" if self._is_server else "client"

    def _peer_side(self) -> str:
        return "client" if self._is_server else "server"

    def _window_bits(self, side: str) -> int:
        value = self.params.get(f"{side}_max_window_bits")
        return value if _is_int(value) else _DEFAULT_WINDOW_BITS

    def _deflate_params(self) -> tuple[int, int, int, int]:
        """The deflater's ``(level, window bits, memLevel, strategy)``.

        These decide the compressed bytes: :meth:`_new_deflate` builds the
        deflater from them and :meth:`shared_output_key` is made of them.
        """
        zopts = self._options.get("zlibDeflateOptions") or {}
        # Raw deflate refuses 8 window bits; Node's zlib also turns 8 into 9,
        # whose distances (at most 250) fit the peer's 256-byte window.
        return (
            zopts.get("level", DEFAULT_LEVEL),
            max(self._window_bits(self._our_side()), 9),
            zopts.get("memLevel", zlib.DEF_MEM_LEVEL),
            zopts.get("strategy", zlib.Z_DEFAULT_STRATEGY),
        )

    def _new_deflate(self) -> Any:
        level, wbits, mem_level, strategy = self._deflate_params()
        return zlib.compressobj(level, zlib.DEFLATED, -wbits, mem_level, strategy)

    def _new_inflate(self) -> Any:
        return zlib.decompressobj(-self._window_bits(self._peer_side()))

    def threshold_applies(self, length: int) -> bool:
        """Whether a message must go out uncompressed because it is small.

        As ws: only when our own ``*_no_context_takeover`` was agreed, a
        message whose first fragment is shorter than ``threshold`` bytes is
        sent without compression. Otherwise every message sent with
        ``compress=True`` is compressed, however short.

        Args:
            length: the byte length of the message's first fragment.
        """
        if not self.params.get(f"{self._our_side()}_no_context_takeover"):
            return False
        return length < self._threshold

    def compress(self, data: bytes | bytearray | memoryview, fin: bool) -> bytes:
        """Deflate one fragment of a message (RFC 7692 section 7.2.1).

        The fragment is flushed with ``Z_SYNC_FLUSH``. A final fragment
        (``fin``) loses the trailing ``00 00 ff ff``, and the deflater is then
        reset if our own ``*_no_context_takeover`` was agreed. May run in a
        worker thread (see the module docstring).

        Args:
            data: the fragment's payload.
            fin: whether it is the message's last fragment.

        Returns:
            The frame payload. The caller sets RSV1 on the message's first
            frame only.
        """
        deflate = self._deflate
        if deflate is None:
            deflate = self._deflate = self._new_deflate()
        out = deflate.compress(data) + deflate.flush(zlib.Z_SYNC_FLUSH)
        if fin:
            out = out[:-4]
            if self.params.get(f"{self._our_side()}_no_context_takeover"):
                self._deflate = None  # a fresh deflater for the next message
        return bytes(out)

    def shared_output_key(self) -> tuple[int, ...] | None:
        """What decides this end's compressed output, if only the message does.

        With our own ``*_no_context_takeover`` agreed, each message is
        deflated from a fresh state, so its compressed bytes depend only on
        the message, the window bits and the zlib options: every connection
        whose key is equal can be sent one output of
        :meth:`compress_message`. Returns ``None`` when the output depends on
        earlier messages (context takeover), so it must be compressed per
        connection. The key also holds ``threshold``, so that equal keys
        agree on which messages go out uncompressed.
        """
        if not self.params.get(f"{self._our_side()}_no_context_takeover"):
            return None
        return (*self._deflate_params(), self._threshold)

    def compress_message(self, data: bytes | bytearray | memoryview) -> bytes:
        """Deflate a whole message from a fresh state (one final frame).

        The output equals what :meth:`compress` gives for the same message
        on any connection with the same :meth:`shared_output_key`; this
        instance's own stream is not touched.
        """
        deflate = self._new_deflate()
        out = deflate.compress(data) + deflate.flush(zlib.Z_SYNC_FLUSH)
        return bytes(out[:-4])

    def decompress(self, data: bytes | bytearray | memoryview, fin: bool) -> bytes:
        """Inflate one frame's payload of a compressed message.

        When ``fin`` is set, ``00 00 ff ff`` is appended first (RFC 7692
        section 7.2.2). The output of the whole message is limited to
        ``max_payload`` bytes while inflating: zlib never produces more than
        one byte past the limit, so a small bomb is refused without its
        output being held in memory.

        Args:
            data: the frame's payload (the compressed bytes).
            fin: whether it is the message's last frame.

        Returns:
            The inflated bytes of this frame (one ``bytes``; the caller joins
            the frames of a fragmented message).

        Raises:
            FrameRangeError: ``WS_ERR_UNSUPPORTED_MESSAGE_LENGTH``, status
                1009: the message inflates past ``max_payload``.
            InflateError: zlib failed (status 1007).
        """
        inflate = self._inflate
        if inflate is None:
            inflate = self._inflate = self._new_inflate()
        out: bytes
        try:
            out = self._inflate_bounded(inflate, data, 0)
            if fin and not inflate.eof:
                # The trailer is fed on its own rather than appended, which
                # would copy a large payload.
                tail = self._inflate_bounded(inflate, TRAILER, len(out))
                if tail:
                    out += tail
        except zlib.error as exc:
            self._abort_inflate()
            raise _inflate_error(exc) from None

        if inflate.eof:
            # The peer ended the deflate stream (BFINAL): what follows it,
            # such as the trailer appended above, is ignored, and the next
            # message starts a new stream, as Node's inflater does.
            self._inflate = None
        if fin:
            self._inflated = 0
            if self.params.get(f"{self._peer_side()}_no_context_takeover"):
                self._inflate = None
        else:
            self._inflated += len(out)
        return out

    def _inflate_bounded(
        self, inflate: Any, data: bytes | bytearray | memoryview, pending: int
    ) -> bytes:
        """Inflate ``data``, refusing output past the message's size limit.

        ``pending`` counts bytes of this frame inflated but not yet added to
        the message's running total.
        """
        if self._max_payload <= 0:
            return inflate.decompress(data)  # type: ignore[no-any-return]
        room = self._max_payload - self._inflated - pending
        # Inflate in bounded steps: at most one byte past the limit is ever
        # produced, so a refused message never holds more than the limit.
        # The input goes in slices too, since zlib copies what it has not
        # consumed into ``unconsumed_tail`` at each step.
        view = memoryview(data).cast("B")
        chunks: list[bytes] = []
        produced = 0
        pos = 0
        tail = b""
        while True:
            if tail:
                source: bytes | memoryview = tail
            else:
                source = view[pos : pos + _INFLATE_STEP]
                pos += len(source)
            want = min(room + 1 - produced, _INFLATE_STEP)
            chunk: bytes = inflate.decompress(source, want)
            produced += len(chunk)
            if produced > room:
                chunks.clear()
                self._abort_inflate()
                raise protocol_error(
                    "WS_ERR_UNSUPPORTED_MESSAGE_LENGTH", "Max payload size exceeded"
                )
            if chunk:
                chunks.append(chunk)
            tail = inflate.unconsumed_tail
            # Done once every slice is in and zlib stopped short of ``want``
            # (out of input, not of room), or the peer ended its stream.
            if inflate.eof or (len(chunk) < want and pos >= len(view) and not tail):
                break
        if len(chunks) == 1:
            return chunks[0]
        return b"".join(chunks)

    def _abort_inflate(self) -> None:
        self._inflate = None
        self._inflated = 0

    def cleanup(self) -> None:
        """Release both zlib streams (ws ``cleanup``).

        A compression running in a worker thread keeps its own reference and
        finishes; the sender drops its result (see the module docstring).
        """
        self._deflate = None
        self._inflate = None
        self._inflated = 0


def _inflate_error(exc: zlib.error) -> InflateError:
    """Turn a ``zlib.error`` into ws's inflate failure (status 1007)."""
    text = str(exc)
    match = _ZLIB_ERROR_RE.fullmatch(text)
    if match:
        number = int(match.group(1))
        return InflateError(
            match.group(2),
            _ZLIB_CODES.get(number, f"Z_ERROR_{number}"),
            CloseCode.INVALID_DATA,
        )
    return InflateError(text, "Z_DATA_ERROR", CloseCode.INVALID_DATA)
