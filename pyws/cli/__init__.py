"""The ``python -m pyws`` command line (also the ``pyws-node`` script).

Two commands, one module each:

- ``listen PORT`` (:mod:`pyws.cli.listen`): an echo server; lines typed on
  standard input go to every open client; ``--broadcast``, ``--redis`` and
  ``--workers`` make it a room, across processes.
- ``connect URL`` (:mod:`pyws.cli.connect`): an interactive client with
  wscat's options.

Around them: :mod:`pyws.cli.output` (what is printed, escaped, marked and
coloured), :mod:`pyws.cli.stdin` (standard input without blocking the loop,
with readline on a terminal) and :mod:`pyws.cli.signals` (Ctrl-C and
SIGTERM on the loop). This module holds the argument parser and
:func:`main`.

Streams: log lines (timestamped) go to standard error; messages received go
to standard output. The exit status is 0 after a clean close, 1 after an
error (refused connection, failed handshake, protocol error, abnormal
close) and 2 for a usage error, which each command reports with its own
usage line.

The package sits on top of the facade: it uses only pyws's public API
(:class:`pyws.WebSocket`, :class:`pyws.WebSocketServer`, :mod:`pyws.workers`,
:mod:`pyws.redis`), :mod:`pyws.constants` and
:func:`pyws._printable.printable`. It must not import the core (receiver,
sender, protocol, ...) or transport modules, and nothing in pyws may import
it.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

import pyws
from pyws.constants import CLOSE_TIMEOUT

from .connect import ASK, run_connect
from .listen import run_listen, run_listen_workers
from .output import Console, format_message
from .stdin import LineSplitter

__all__ = ["build_parser", "main", "format_message", "LineSplitter"]

#: Exit statuses.
EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

Runner = Callable[[argparse.Namespace, Console], Coroutine[Any, Any, int]]


# --------------------------------------------------------------------------
# Argument types


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid port: {text!r}") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"port out of range 0-65535: {value}")
    return value


def _positive_ms(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid milliseconds: {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be positive: {value}")
    return value


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid integer: {text!r}") from None


def _header(text: str) -> tuple[str, str]:
    name, sep, value = text.partition(":")
    name = name.strip()
    if not sep or not name or any(c in name for c in " \t\r\n"):
        raise argparse.ArgumentTypeError(f"expected 'Name: value', got {text!r}")
    if "\r" in value or "\n" in value:
        raise argparse.ArgumentTypeError(f"line break in header value: {text!r}")
    return name, value.strip()


def _version() -> str:
    version = getattr(pyws, "__version__", None)
    if not isinstance(version, str):
        try:
            from importlib.metadata import PackageNotFoundError
            from importlib.metadata import version as dist_version

            version = dist_version("pyws-node")
        except PackageNotFoundError:
            version = "unknown"
    py = ".".join(str(n) for n in sys.version_info[:3])
    return f"pyws {version} (Python {py})"


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid seconds: {text!r}") from None
    if not 0 <= value < 1e6:
        raise argparse.ArgumentTypeError(f"out of range 0-999999: {value}")
    return value


def _positive(text: str) -> int:
    value = _int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1: {value}")
    return value


def _auth(text: str) -> str:
    if ":" not in text:
        raise argparse.ArgumentTypeError(f"expected 'user:password', got {text!r}")
    return text


# --------------------------------------------------------------------------
# The parser


def _add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--protocol",
        "--subprotocol",
        "-s",
        action="append",
        default=[],
        metavar="P",
        help="subprotocol; repeat for several",
    )
    parser.add_argument(
        "--close-timeout",
        type=_positive_ms,
        default=CLOSE_TIMEOUT,
        metavar="MS",
        help="closeTimeout in milliseconds (default: %(default)s)",
    )
    parser.add_argument(
        "--max-payload",
        type=_int,
        metavar="N",
        help="maxPayload in bytes; 0 means no limit (default: 100 MiB)",
    )
    parser.add_argument(
        "--ping-interval",
        type=_positive_ms,
        metavar="MS",
        help="heartbeat: ping every MS milliseconds (pingInterval; default: off)",
    )
    parser.add_argument(
        "--ping-timeout",
        type=_positive_ms,
        metavar="MS",
        help="heartbeat: drop a peer silent MS ms after a ping "
        "(pingTimeout; default: the interval)",
    )
    parser.add_argument(
        "--hex",
        action="store_true",
        help="print binary messages (and ping/pong payloads) as hex",
    )
    parser.add_argument(
        "--show-ping-pong",
        "-P",
        action="store_true",
        help="log each ping and pong received, with its payload as text "
        "(hex if it is not UTF-8)",
    )


def _add_listen(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    listen = commands.add_parser(
        "listen",
        help="run an echo server",
        description=(
            "Run a WebSocket echo server. Logs the address it listens on "
            "('listening on ws://HOST:PORT/'), each connection and each close "
            "with its code on stderr; prints each message received on stdout, "
            "prefixed by its connection number, and sends it back. Each line "
            "typed on stdin is sent to every open client. Ctrl-C closes the "
            "connections with 1001, then the server."
        ),
    )
    listen.add_argument(
        "port", type=_port, metavar="PORT", help="TCP port; 0 picks a free one"
    )
    listen.add_argument(
        "--host", default="127.0.0.1", help="address to bind (default: %(default)s)"
    )
    listen.add_argument("--path", metavar="P", help="accept only this request path")
    listen.add_argument(
        "--deflate",
        action="store_true",
        help="accept permessage-deflate (off by default, as in ws)",
    )
    listen.add_argument(
        "--no-stdin",
        action="store_true",
        help="do not read stdin (by default each line is sent to every client)",
    )
    _add_scale_options(listen)
    _add_common(listen)
    listen.set_defaults(func=run_listen, subparser=listen)


def _add_scale_options(listen: argparse.ArgumentParser) -> None:
    listen.add_argument(
        "--broadcast",
        action="store_true",
        help="relay every message to every open client, sender included, "
        "instead of echoing it",
    )
    listen.add_argument(
        "--redis",
        metavar="URL",
        help="relay through Redis pub/sub (implies --broadcast): every listen "
        "given the same URL and --channel is one room",
    )
    listen.add_argument(
        "--channel",
        default="pyws",
        metavar="NAME",
        help="Redis channel for --redis (default: %(default)s)",
    )
    listen.add_argument(
        "--workers",
        type=_positive,
        default=1,
        metavar="N",
        help="run N processes on the port (SO_REUSEPORT); restarts a worker "
        "that dies; SIGTERM stops them all gracefully",
    )


def _add_connect(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    connect = commands.add_parser(
        "connect",
        help="connect and exchange messages interactively",
        description=(
            "Connect to a WebSocket server. Each line read from stdin is sent "
            "as a text message (binary with --binary); each message received "
            "is printed on stdout (on a terminal: '< ' before received and "
            "'> ' before sent lines, with line editing and history). End of "
            "input (Ctrl-D) closes with 1000 and logs 'closed: CODE REASON'. "
            "Exit status: 0 after a clean close (1000, 1001 or 1005), 1 after "
            "an error."
        ),
    )
    connect.add_argument(
        "url", metavar="URL", help="ws://, wss://, http:// or https:// URL"
    )
    connect.add_argument(
        "--header",
        "-H",
        action="append",
        type=_header,
        default=[],
        metavar="'NAME: VALUE'",
        help="extra request header; repeat for several",
    )
    connect.add_argument("--origin", "-o", metavar="O", help="Origin header")
    connect.add_argument(
        "--auth",
        type=_auth,
        metavar="USER:PASS",
        help="HTTP Basic authentication (the auth option)",
    )
    connect.add_argument(
        "--proxy",
        metavar="URL",
        help="connect through this proxy: http://, socks4://, socks5://... "
        "[USER:PASS@]HOST:PORT (default: the *_PROXY environment variables)",
    )
    connect.add_argument(
        "--location",
        "-L",
        action="store_true",
        help="follow HTTP redirects (followRedirects)",
    )
    tls = connect.add_argument_group("TLS (wss://)")
    tls.add_argument("--ca", metavar="FILE", help="trust the CA certificates in FILE")
    tls.add_argument("--cert", metavar="FILE", help="client certificate (PEM)")
    tls.add_argument("--key", metavar="FILE", help="client certificate's key (PEM)")
    tls.add_argument(
        "--passphrase",
        nargs="?",
        const=ASK,
        metavar="PASS",
        help="passphrase of the --key; without a value, asked on the terminal",
    )
    tls.add_argument(
        "--no-check",
        "-n",
        action="store_true",
        help="do not check the server's certificate (rejectUnauthorized: false)",
    )
    connect.add_argument(
        "--execute",
        "-x",
        action="append",
        default=[],
        metavar="MESSAGE",
        help="send MESSAGE once connected, instead of reading stdin, then "
        "close; repeat for several",
    )
    connect.add_argument(
        "--wait",
        "-w",
        type=_seconds,
        metavar="SECONDS",
        help="with -x: wait SECONDS after sending (printing what arrives) "
        "before closing (default: 0)",
    )
    connect.add_argument(
        "--no-deflate",
        action="store_true",
        help="do not offer permessage-deflate (offered by default, as in ws)",
    )
    connect.add_argument(
        "--binary", "-b", action="store_true", help="send lines as binary messages"
    )
    connect.add_argument(
        "--handshake-timeout", type=_positive_ms, metavar="MS", help="handshakeTimeout"
    )
    connect.add_argument(
        "--slash",
        action="store_true",
        help="enable commands: /ping [DATA], /pong [DATA], /close [CODE [REASON]], "
        "/terminate",
    )
    _add_common(connect)
    connect.set_defaults(func=run_connect, subparser=connect)


def build_parser() -> argparse.ArgumentParser:
    """The ``python -m pyws`` argument parser."""
    parser = argparse.ArgumentParser(
        prog="python -m pyws",
        description="WebSocket echo server and interactive client (pyws).",
        epilog="Logs go to stderr, received messages to stdout.",
    )
    parser.add_argument("--version", action="version", version=_version())
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    _add_listen(commands)
    _add_connect(commands)
    return parser


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Parse ``argv``; a bad flag exits 2 with the usage of its command."""
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    sub: argparse.ArgumentParser = args.subparser
    if extra:
        sub.error(f"unrecognized arguments: {' '.join(extra)}")
    if args.command == "listen" and args.workers > 1:
        if args.broadcast and not args.redis:
            sub.error(
                "--broadcast with --workers needs --redis URL: the workers "
                "share messages through Redis"
            )
    if args.command == "connect":
        if args.wait is not None and not args.execute:
            sub.error("-w/--wait goes with -x/--execute")
        if args.wait is None:
            args.wait = 0.0
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status.

    Args:
        argv: the arguments after the program name (default: ``sys.argv[1:]``).
    """
    args = parse_args(argv)
    console = Console(sys.stdout, sys.stderr)
    if args.command == "listen" and args.workers > 1:
        # The workers get the arguments pickled (spawn): no parser.
        args.subparser = None
        return run_listen_workers(args, console)
    runner: Runner = args.func
    try:
        status: int = asyncio.run(runner(args, console))
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    return status
