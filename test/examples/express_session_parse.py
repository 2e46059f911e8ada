"""ws examples/express-session-parse, ported: Starlette in place of
express, a small in-memory ``sessionParser`` in place of express-session
(its MemoryStore), used by the HTTP routes and by the WebSocket upgrade.

ws reads the session in the HTTP server's ``'upgrade'`` listener
(``noServer``); a uvicorn server has no ``'upgrade'`` event, so the same
code runs in ``verifyClient`` (which refuses with 401, as the listener
does) on a WebSocketServer attached with ``server``.
"""

import os
import uuid
from http.cookies import SimpleCookie

import uvicorn
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

import pyws
from pyws import WebSocketServer

map = {}
sessions = {}  # the session store: session id -> session


class Session(dict):
    def __init__(self, sid):
        super().__init__()
        self.id = sid

    def destroy(self, callback):
        sessions.pop(self.id, None)
        self.clear()
        callback()


def sessionParser(request, response, next):
    """Set ``request.session`` from the ``sid`` cookie (a new session if
    none), then call ``next()``; ``response`` gets the cookie to set."""
    cookie = SimpleCookie(request.headers.get("cookie", ""))
    sid = cookie["sid"].value if "sid" in cookie else None
    if sid not in sessions:
        sid = str(uuid.uuid4())
        response["set-cookie"] = f"sid={sid}; Path=/; HttpOnly"
    session = sessions.get(sid) or Session(sid)
    if hasattr(request, "scope"):  # Starlette's request.session reads the scope
        request.scope["session"] = session
    else:
        request.session = session
    next()


def with_session(handler):
    async def endpoint(request):
        cookie = {}
        sessionParser(request, cookie, lambda: None)
        result = await handler(request)
        if request.session and request.session.id not in sessions:
            sessions[request.session.id] = request.session  # saveUninitialized: False
        result.headers.update(cookie)
        return result

    return endpoint


@with_session
async def login(req):
    # a new user id in the session stands for a real login
    id = str(uuid.uuid4())

    print(f"Updating session for user {id}", flush=True)
    req.session["userId"] = id
    return JSONResponse({"result": "OK", "message": "Session updated"})


@with_session
async def logout(request):
    ws = map.get(request.session.get("userId"))

    print("Destroying session", flush=True)
    if ws:
        ws.close()
    request.session.destroy(lambda: None)
    return JSONResponse({"result": "OK", "message": "Session destroyed"})


app = Starlette(
    routes=[
        Route("/login", login, methods=["POST"]),
        Route("/logout", logout, methods=["DELETE"]),
    ]
)

# the HTTP server of the app
PORT = int(os.environ.get("PORT", "8080"))
server = uvicorn.Server(
    uvicorn.Config(app, host="127.0.0.1", port=PORT, log_level="warning")
)


def verifyClient(info, callback):
    print("Parsing session from request...", flush=True)

    def next():
        if not info.req.session.get("userId"):
            callback(False, 401)
            return

        print("Session is parsed!", flush=True)
        callback(True)

    sessionParser(info.req, {}, next)


wss = WebSocketServer(
    {"clientTracking": False, "server": server, "verifyClient": verifyClient}
)


def connection(ws, request):
    userId = request.session["userId"]

    map[userId] = ws

    ws.on("error", print)

    def message(message):
        # the session's values are at hand here
        print(f"Received message {message.decode()} from user {userId}", flush=True)

    ws.on("message", message)

    def close():
        map.pop(userId, None)

    ws.on("close", close)


wss.on("connection", connection)

wss.on("listening", lambda: print(f"Listening on http://localhost:{PORT}", flush=True))
pyws.run()
