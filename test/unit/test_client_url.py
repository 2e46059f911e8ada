"""The client's URL handling (ws ``initAsClient``; WHATWG URL as in Node).

:class:`pyws._client._Target` parses with ada (``ada-url``), the parser
Node's ``new URL()`` uses: the URL a WebSocket reports (``ws.url``) and the
request target it sends must be Node's. The last class runs the same URLs
through ``node`` and compares.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from typing import Any

import pytest

from pyws import WebSocket, WsSyntaxError
from pyws._client import _Target

PROTOCOL = (
    'The URL\'s protocol must be one of "ws:", "wss:", "http:", "https:", or "ws+unix:"'
)


class TestNormalisation:
    @pytest.mark.parametrize(
        ("url", "href", "host", "port", "path"),
        [
            ("ws://EXAMPLE.com:80/x", "ws://example.com/x", "example.com", None, "/x"),
            ("WS://h:8080", "ws://h:8080/", "h", 8080, "/"),
            ("ws://h/a b", "ws://h/a%20b", "h", None, "/a%20b"),
            ("ws://h/a?b c", "ws://h/a?b%20c", "h", None, "/a?b%20c"),
            ("ws://h/\u00e9", "ws://h/%C3%A9", "h", None, "/%C3%A9"),
            ("ws://b\u00fccher.de/", "ws://xn--bcher-kva.de/", "xn--bcher-kva.de", None, "/"),  # noqa: E501
            ("wss://H:443/p?q=1", "wss://h/p?q=1", "h", None, "/p?q=1"),
            ("wss://h:80/", "wss://h:80/", "h", 80, "/"),
            ("http://h:80/x", "ws://h/x", "h", None, "/x"),
            ("https://h/x", "wss://h/x", "h", None, "/x"),
            ("ws://[::1]:8080/", "ws://[::1]:8080/", "::1", 8080, "/"),
            ("ws://127.000.000.001/", "ws://127.0.0.1/", "127.0.0.1", None, "/"),
            ("ws://h/a/../b/./c", "ws://h/b/c", "h", None, "/b/c"),
            ("ws://h/#", "ws://h/#", "h", None, "/"),
        ],
    )  # fmt: skip
    def test_target(
        self, url: str, href: str, host: str, port: int | None, path: str
    ) -> None:
        t = _Target(url)
        assert (t.href, t.host, t.port, t.path) == (href, host, port, path)

    def test_secure_and_default_port(self) -> None:
        assert (_Target("wss://h/").secure, _Target("wss://h/").default_port) == (
            True,
            443,
        )
        assert (_Target("ws://h/").secure, _Target("ws://h/").default_port) == (
            False,
            80,
        )

    def test_credentials_are_percent_decoded(self) -> None:
        t = _Target("ws://us%20er:p%3Ass@h/")
        assert t.auth == "us er:p:ss"
        assert t.href == "ws://us%20er:p%3Ass@h/"
        assert _Target("ws://h/").auth is None
        assert _Target("ws://:pw@h/").auth == ":pw"

    @pytest.mark.parametrize(
        ("url", "sock", "path"),
        [
            ("ws+unix:/tmp/s.sock", "/tmp/s.sock", "/"),
            ("ws+unix:/tmp/s.sock:/chat?x=1", "/tmp/s.sock", "/chat?x=1"),
            ("ws+unix:///tmp/s.sock:/p", "/tmp/s.sock", "/p"),
        ],
    )
    def test_unix(self, url: str, sock: str, path: str) -> None:
        t = _Target(url)
        assert (t.unix_path, t.path, t.host) == (sock, path, "localhost")

    def test_a_url_object(self) -> None:
        import ada_url

        assert _Target(ada_url.URL("ws://H:80/")).href == "ws://h/"

    def test_relative_to_a_base(self) -> None:
        base = "ws://h:81/a/b"
        assert _Target("/c?d", base).href == "ws://h:81/c?d"
        assert _Target("c", base).href == "ws://h:81/a/c"
        assert _Target("//other/x", base).href == "ws://other/x"
        assert _Target("https://x/", base).href == "wss://x/"


class TestErrors:
    @pytest.mark.parametrize(
        ("url", "message"),
        [
            ("not a url", "Invalid URL: not a url"),
            ("ws://h:99999/", "Invalid URL: ws://h:99999/"),
            ("ws://a b/", "Invalid URL: ws://a b/"),
            ("ws://", "Invalid URL: ws://"),
            ("ftp://h/", PROTOCOL),
            ("ws://h/#x", "The URL contains a fragment identifier"),
            ("ws+unix:", "The URL's pathname is empty"),
        ],
    )
    def test_messages(self, url: str, message: str) -> None:
        with pytest.raises(WsSyntaxError) as info:
            _Target(url)
        assert str(info.value) == message

    def test_constructor_throws(self) -> None:
        with pytest.raises(WsSyntaxError, match="Invalid URL"):
            WebSocket("ws://h:99999/")


NODE_SCRIPT = r"""
const urls = JSON.parse(require('fs').readFileSync(0, 'utf8'));
console.log(JSON.stringify(urls.map((u) => {
  try {
    let p = new URL(u);
    if (p.protocol === 'http:' || p.protocol === 'https:') {
      p = new URL(p);
      p.protocol = p.protocol === 'http:' ? 'ws:' : 'wss:';
    }
    return { href: p.href, path: p.pathname + p.search,
             host: p.hostname, port: p.port };
  } catch (e) {
    return { error: true };
  }
})));
"""

NODE_URLS = [
    "ws://EXAMPLE.com:80/x",
    "ws://h/a b",
    "ws://h/a?b c'<>",
    "ws://h/\u00e9?\u00e9",
    "ws://b\u00fccher.de/",
    "ws://\u0440\u0444.example/",
    "wss://H:443/p?q=1",
    "http://h:80/x",
    "https://h:8443/x",
    "ws://[0:0:0:0:0:0:0:1]:8080/",
    "ws://127.000.000.001/",
    "ws://0x7f.1/",
    "ws://h/a/../b/./c",
    "ws://h/%2e%2e/x",
    "ws://u:p@h/",
    "ws://h:99999/",
    "ws://a b/",
    "ws://h\\x/",
    "ws+unix:/tmp/s.sock:/p",
    "ws://h/p|q{r}",
]


def _node() -> str | None:
    return shutil.which("node")


@pytest.mark.skipif(_node() is None, reason="node is not installed")
def test_same_as_node() -> None:
    proc = subprocess.run(
        ["node", "-e", NODE_SCRIPT],
        input=json.dumps(NODE_URLS).encode(),
        capture_output=True,
        timeout=30,
        check=True,
    )
    expected: list[dict[str, Any]] = json.loads(proc.stdout)
    for url, want in zip(NODE_URLS, expected, strict=True):
        if want.get("error"):
            with pytest.raises(WsSyntaxError):
                _Target(url)
            continue
        t = _Target(url)
        assert t.href == want["href"], url
        if t.unix_path is None:
            host = want["host"]
            assert t.host == (host[1:-1] if host.startswith("[") else host), url
            assert t.port == (int(want["port"]) if want["port"] else None), url
            assert t.path == want["path"], url


def test_importing_pyws_leaves_the_url_parser_unloaded() -> None:
    # ada-url is loaded by the first client URL only: a server process never
    # imports it (on CPython 3.13t its cffi backend would re-enable the GIL).
    import sys

    code = (
        "import sys, pyws; w = pyws.WebSocketServer({'noServer': True}); "
        "print('ada_url' in sys.modules); "
        "pyws._client._Target('ws://h/'); print('ada_url' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.stdout.split() == ["False", "True"], out.stderr
