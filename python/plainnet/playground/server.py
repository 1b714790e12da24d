"""The playground's local web server: Starlette, served by uvicorn.

``GET /?token=...`` gives the page (and a cookie holding the token, so that
the page's scripts and styles, under ``/static/``, load without it in their
URLs); ``/ws?token=...`` is the WebSocket a page talks to. Every request is
refused (403) without the token, or with a Host header that is not
``localhost``, ``127.0.0.1`` or ``[::1]`` (or the address given with
``--host``) on the server's port (against DNS rebinding), and a WebSocket
also when its Origin is another site's (against cross-site WebSocket
hijacking). A WebSocket is one page: it has its own session and at most one
training task, which stops when the page goes away.

The protocol: JSON text messages, each an object with a ``type``. The page
sends ``config`` (the whole setup; the run restarts), ``play``, ``pause``,
``step`` (``epochs``, default 1), ``reset``, ``speed`` (``epochs_per_frame``),
``backend`` (``name``), ``one_step`` (``point``: an index or null for the
batch), ``download``, ``python``, ``weights`` and ``ping``. The server sends
``ready`` (the choices and limits), ``data``, ``frame``, ``status``,
``one_step``, ``network`` (the .npz, base64), ``python``, ``weights``,
``pong`` and ``error`` (``message``, and ``about``: the type it answers).
"""

from __future__ import annotations

import asyncio
import hmac
import json
import math
import secrets
import socket
import threading
import time
from pathlib import Path
from typing import Any, Awaitable, Callable, Optional
from urllib.parse import parse_qs, urlsplit

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocket

from ..network import ACTIVATIONS, BACKENDS
from . import data as datamod
from . import session as sessionmod

STATIC = Path(__file__).parent / "static"
MAX_MESSAGE_BYTES = 512 * 1024   # a message from the page (a CSV upload is the largest)
FRAME_SECONDS = 0.05             # at most 20 frames a second
TARGET_CHUNK_SECONDS = 0.03      # training time per frame the epochs per frame adapt to
MAX_EPOCHS_PER_FRAME = 10_000
LOCAL_HOSTS = ("localhost", "127.0.0.1", "[::1]", "::1")
COOKIE = "plainnet_playground_token"


def _split_host(value: str) -> tuple[str, Optional[int]]:
    """("name", port or None) from a Host header or a URL's netloc."""
    value = value.strip().lower()
    if value.startswith("["):
        end = value.find("]")
        name, rest = value[:end + 1], value[end + 1:]
    else:
        name, _, port_text = value.partition(":")
        rest = ":" + port_text if port_text else ""
    if not rest:
        return name, None
    if not rest.startswith(":") or not rest[1:].isdigit():
        return name, -1
    return name, int(rest[1:])


class Guard:
    """ASGI middleware: the Host header, the token, and a WebSocket's Origin."""

    def __init__(self, app: ASGIApp, token: str, hosts: tuple[str, ...],
                 port: Optional[int]) -> None:
        self.app, self.token, self.hosts, self.port = app, token, hosts, port

    def _host_ok(self, host: str) -> bool:
        name, port = _split_host(host)
        if name not in self.hosts or port == -1:
            return False
        return self.port is None or (port or 80) == self.port

    def _token_ok(self, scope: Scope, headers: dict[str, str]) -> bool:
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        given = query.get("token", [""])[0]
        if not given:
            for part in headers.get("cookie", "").split(";"):
                key, _, value = part.strip().partition("=")
                if key == COOKIE:
                    given = value
        return hmac.compare_digest(given.encode("utf-8", "replace"), self.token.encode())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1")
                   for k, v in scope.get("headers", [])}
        host = headers.get("host", "")
        reason = None
        if not self._host_ok(host):
            reason = "Host not allowed"
        elif not self._token_ok(scope, headers):
            reason = "missing or wrong token"
        elif scope["type"] == "websocket" and "origin" in headers:
            origin = urlsplit(headers["origin"])
            if origin.scheme not in ("http", "https") or origin.netloc.lower() != host.lower():
                reason = "cross-origin WebSocket refused"
        if reason is None:
            await self.app(scope, receive, send)
        elif scope["type"] == "websocket":
            await receive()  # websocket.connect
            await send({"type": "websocket.close", "code": 1008, "reason": reason})
        else:
            await PlainTextResponse(f"403 Forbidden: {reason}", status_code=403)(scope, receive,
                                                                                   send)


def _finite(value: Any) -> Any:
    """value with NaN and Inf as None (JSON has no such numbers)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value


def _dumps(message: dict[str, Any]) -> str:
    try:
        return json.dumps(message, allow_nan=False)
    except ValueError:
        return json.dumps(_finite(message), allow_nan=False)


class Connection:
    """One page: its session, its training task, and its messages."""

    def __init__(self, ws: WebSocket, user_data: Optional[datamod.Data]) -> None:
        self.ws = ws
        self.user_data = user_data
        self.session = sessionmod.Session(user_data)
        self.lock = asyncio.Lock()        # the session: one user at a time
        self.send_lock = asyncio.Lock()   # the socket: one message at a time
        self.task: Optional[asyncio.Task[None]] = None
        self.playing = False
        self.stepping = False  # the task under way is a step (of a set number of epochs)
        self.epochs_per_frame = 1
        self.max_epochs_per_frame = 100
        self.rate = 0.0
        self.handlers: dict[str, Callable[[dict[str, Any]], Awaitable[None]]] = {
            "config": self.on_config, "play": self.on_play, "pause": self.on_pause,
            "step": self.on_step, "reset": self.on_reset, "speed": self.on_speed,
            "backend": self.on_backend, "one_step": self.on_one_step,
            "download": self.on_download, "python": self.on_python,
            "weights": self.on_weights, "ping": self.on_ping,
        }

    async def send(self, message: dict[str, Any]) -> None:
        text = _dumps(message)
        async with self.send_lock:
            await self.ws.send_text(text)

    async def error(self, message: str, about: Any = None) -> None:
        await self.send({"type": "error", "message": message,
                         "about": about if isinstance(about, str) else None})

    def ready(self) -> dict[str, Any]:
        return {"type": "ready", "datasets": list(datamod.DATASETS),
                "sources": list(sessionmod.SOURCES), "user_data": self.user_data is not None,
                "activations": list(ACTIVATIONS), "optimizers": list(sessionmod.OPTIMIZER_NAMES),
                "inits": list(sessionmod.INITS), "backends": list(BACKENDS),
                "limits": {"hidden_layers": sessionmod.MAX_HIDDEN_LAYERS,
                           "units": sessionmod.MAX_UNITS, "points": datamod.MAX_POINTS,
                           "csv_bytes": datamod.MAX_CSV_BYTES, "classes": datamod.MAX_CLASSES,
                           "message_bytes": MAX_MESSAGE_BYTES,
                           "epochs_per_frame": MAX_EPOCHS_PER_FRAME},
                "defaults": sessionmod.DEFAULT_CONFIG}

    def status(self) -> dict[str, Any]:
        return {"type": "status", "playing": self.playing, "epoch": self.session.epoch,
                "epochs_per_frame": self.max_epochs_per_frame}

    async def run(self) -> None:
        await self.send(self.ready())
        await self.send(self.session.data_message())
        await self.send(self.session.frame())
        try:
            while True:
                message = await self.ws.receive()
                if message["type"] == "websocket.disconnect":
                    break
                await self.handle(message.get("text"))
        finally:
            await self.stop()

    async def handle(self, text: Any) -> None:
        if not isinstance(text, str):
            await self.error("expected a JSON text message, got binary data")
            return
        if len(text) > MAX_MESSAGE_BYTES:
            await self.error(f"message too large: {len(text)} characters, at most "
                             f"{MAX_MESSAGE_BYTES}")
            return
        try:
            message = json.loads(text)
        except (ValueError, RecursionError) as exc:
            await self.error(f"not JSON: {str(exc)[:200]}")
            return
        if not isinstance(message, dict):
            await self.error(f"expected a JSON object with a 'type', got "
                             f"{type(message).__name__}")
            return
        kind = message.get("type")
        handler = self.handlers.get(kind) if isinstance(kind, str) else None
        if handler is None:
            await self.error(f"type: expected one of {', '.join(self.handlers)}, got "
                             f"{str(kind)[:100]!r}")
            return
        try:
            await handler(message)
        except (ValueError, TypeError, KeyError, FloatingPointError, OverflowError,
                MemoryError, RecursionError) as exc:
            await self.error(str(exc)[:2000], kind)
        except Exception as exc:  # a bug: said to the page, and the page keeps its server
            await self.error(f"internal error ({type(exc).__name__}): {str(exc)[:2000]}", kind)

    # ------------------------------------------------------------ training task

    async def play_loop(self, budget: Optional[int] = None) -> None:
        """Train and send frames until paused (or, for a step, until budget epochs are done)."""
        loop = asyncio.get_running_loop()
        window: list[tuple[float, int]] = []
        try:
            while self.playing and (budget is None or budget > 0):
                start = loop.time()
                async with self.lock:
                    if not self.playing:
                        break
                    epochs = self.epochs_per_frame
                    if budget is not None:
                        epochs = min(epochs, budget)
                        budget -= epochs
                    took = await asyncio.to_thread(self.session.train, epochs)
                    frame = await asyncio.to_thread(self.session.frame)
                    stop = self.session.reached_stop_loss()
                # adapt the epochs per frame to the training time, up to the speed asked for
                if took < TARGET_CHUNK_SECONDS / 2:
                    self.epochs_per_frame = min(self.max_epochs_per_frame, epochs * 2)
                elif took > TARGET_CHUNK_SECONDS * 2:
                    self.epochs_per_frame = max(1, epochs // 2)
                self.epochs_per_frame = min(self.epochs_per_frame, self.max_epochs_per_frame)
                now = loop.time()
                window = [w for w in window if now - w[0] < 1.0] + [(now, epochs)]
                elapsed = max(now - window[0][0], FRAME_SECONDS)
                frame["epochs_per_second"] = round(sum(e for _, e in window) / elapsed, 1)
                await self.send(frame)
                if stop:
                    self.playing = False
                    await self.send({**self.status(), "stopped": "stop_loss"})
                    return
                if budget is None or budget > 0:
                    await asyncio.sleep(max(0.0, FRAME_SECONDS - (loop.time() - start)))
            if budget is not None:  # a step that ran to its end
                self.playing = False
                await self.send(self.status())
        except (ValueError, TypeError, FloatingPointError, OverflowError, MemoryError) as exc:
            self.playing = False
            await self.error(f"training stopped: {exc}", "step" if budget is not None else "play")
            await self.send(self.session.frame())
            await self.send(self.status())
        except Exception:  # the page went away while a frame was being sent
            self.playing = False

    async def stop(self) -> None:
        """Stop the training task (after the chunk in flight) and wait for it."""
        self.playing = self.stepping = False
        task, self.task = self.task, None
        if task is not None:
            await task

    # ------------------------------------------------------------ messages

    async def on_config(self, message: dict[str, Any]) -> None:
        async with self.lock:
            await asyncio.to_thread(self.session.configure, message.get("config"))
            await self.send(self.session.data_message())
            await self.send(self.session.frame())

    async def on_play(self, message: dict[str, Any]) -> None:
        if not self.playing or self.stepping:  # play takes over from a step under way
            await self.stop()
            self.playing, self.stepping = True, False
            self.epochs_per_frame = 1
            self.task = asyncio.create_task(self.play_loop())
        await self.send(self.status())

    async def on_pause(self, message: dict[str, Any]) -> None:
        await self.stop()
        async with self.lock:
            await self.send(self.session.frame())
        await self.send(self.status())

    async def on_step(self, message: dict[str, Any]) -> None:
        """Train ``epochs`` epochs (default 1) and pause: in frames, so that pause stops it."""
        epochs = sessionmod._int(message.get("epochs", 1), "epochs", 1,
                                 sessionmod.MAX_EPOCHS_PER_CALL)
        await self.stop()
        self.playing, self.stepping = True, True
        self.epochs_per_frame = min(self.epochs_per_frame, self.max_epochs_per_frame)
        self.task = asyncio.create_task(self.play_loop(budget=epochs))

    async def on_reset(self, message: dict[str, Any]) -> None:
        async with self.lock:
            self.session.reset()
            await self.send(self.session.frame())

    async def on_speed(self, message: dict[str, Any]) -> None:
        value = message.get("epochs_per_frame")
        self.max_epochs_per_frame = sessionmod._int(value, "epochs_per_frame", 1,
                                                    MAX_EPOCHS_PER_FRAME)
        self.epochs_per_frame = min(self.epochs_per_frame, self.max_epochs_per_frame)
        await self.send(self.status())

    async def on_backend(self, message: dict[str, Any]) -> None:
        async with self.lock:
            self.session.set_backend(message.get("name"))
            await self.send(self.session.frame(units=False))

    async def on_one_step(self, message: dict[str, Any]) -> None:
        async with self.lock:
            result = await asyncio.to_thread(self.session.one_step, message.get("point"))
        await self.send(result)

    async def on_download(self, message: dict[str, Any]) -> None:
        async with self.lock:
            blob = await asyncio.to_thread(sessionmod.npz_base64, self.session)
            epoch = self.session.epoch
        await self.send({"type": "network", "filename": f"playground-epoch{epoch}.npz",
                         "base64": blob})

    async def on_python(self, message: dict[str, Any]) -> None:
        async with self.lock:
            await self.send({"type": "python", "script": self.session.script()})

    async def on_weights(self, message: dict[str, Any]) -> None:
        async with self.lock:
            await self.send(self.session.weights())

    async def on_ping(self, message: dict[str, Any]) -> None:
        await self.send({"type": "pong", "time": time.time()})


def create_app(token: str, port: Optional[int] = None, hosts: tuple[str, ...] = (),
               user_data: Optional[datamod.Data] = None) -> ASGIApp:
    """The playground as an ASGI app, guarded by ``token`` and the Host allow-list.

    ``port`` None accepts Host headers with any port (the test client's);
    ``hosts`` adds names to localhost, 127.0.0.1 and [::1].
    """
    if not isinstance(token, str) or len(token) < 16:
        raise ValueError("token: expected a random string of at least 16 characters")

    async def index(request: Request) -> Response:
        page = (STATIC / "index.html").read_text(encoding="utf-8")
        response = HTMLResponse(page, headers={
            "Cache-Control": "no-store", "Referrer-Policy": "no-referrer",
            "X-Content-Type-Options": "nosniff",
            # no other site may frame the page (clickjacking)
            "Content-Security-Policy": "frame-ancestors 'none'; base-uri 'none'; "
                                       "form-action 'none'",
            "X-Frame-Options": "DENY"})
        response.set_cookie(COOKIE, token, httponly=True, samesite="strict")
        return response

    async def websocket(ws: WebSocket) -> None:
        await ws.accept()
        await Connection(ws, user_data).run()

    app = Starlette(routes=[Route("/", index),
                            WebSocketRoute("/ws", websocket),
                            Mount("/static", StaticFiles(directory=STATIC), name="static")])
    allowed = tuple(dict.fromkeys(LOCAL_HOSTS + tuple(h.lower() for h in hosts)))
    return Guard(app, token, allowed, port)


def _url_host(host: str) -> str:
    if host in ("0.0.0.0", ""):
        return "127.0.0.1"
    if host == "::":
        return "[::1]"
    return f"[{host}]" if ":" in host else host


class Server:
    """A playground server on a socket it has bound: ``url``, ``run()``, ``start()``, ``stop()``."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0,
                 user_data: Optional[datamod.Data] = None) -> None:
        import uvicorn

        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.socket = socket.socket(family, socket.SOCK_STREAM)
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            self.socket.bind((host, port))
            # listening now, so that the URL printed next is reachable at once (connections
            # wait in the backlog until uvicorn accepts them)
            self.socket.listen(128)
        except OSError:
            self.socket.close()
            raise
        self.port = int(self.socket.getsockname()[1])
        self.token = secrets.token_urlsafe(24)
        extra = () if host in ("0.0.0.0", "::", "") else (host, _url_host(host))
        app = create_app(self.token, self.port, extra, user_data)
        self.url = f"http://{_url_host(host)}:{self.port}/?token={self.token}"
        ws = "websockets-sansio" if _has_sansio() else "websockets"
        config = uvicorn.Config(app, log_level="warning", ws=ws, lifespan="off",
                                # larger messages than the page may send get an error
                                # message; only those beyond 8 times that close the socket
                                ws_max_size=8 * MAX_MESSAGE_BYTES)
        self.server = uvicorn.Server(config)
        self.thread: Optional[threading.Thread] = None

    def run(self) -> None:
        """Serve until stopped (Ctrl-C)."""
        self.server.run(sockets=[self.socket])

    def start(self) -> None:
        """Serve from a background thread; returns once the server is listening."""
        self.thread = threading.Thread(target=self.run, name="plainnet-playground", daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started and self.thread.is_alive() and time.monotonic() < deadline:
            time.sleep(0.02)

    def stop(self) -> None:
        self.server.should_exit = True
        if self.thread is not None:
            self.thread.join(timeout=10)


def _has_sansio() -> bool:
    try:
        import uvicorn.protocols.websockets.websockets_sansio_impl  # noqa: F401
    except ImportError:
        return False
    return True


__all__ = ["Server", "create_app"]
