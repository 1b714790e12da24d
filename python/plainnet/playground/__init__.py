"""The playground: watch a network learn in the browser, trained by plainnet's own core.

``python -m plainnet playground`` starts a local server and opens the page;
``show(X, y)`` opens it on your own 2-D points. The server needs the
``playground`` extra (``pip install "plainnet[playground]"``: Starlette,
uvicorn and websockets); ``plainnet.playground.data``, which rebuilds the
page's data sets, needs NumPy only.
"""

from __future__ import annotations

import webbrowser
from typing import TYPE_CHECKING, Any, Optional

from . import data

if TYPE_CHECKING:  # pragma: no cover
    from .server import Server

INSTALL = 'pip install "plainnet[playground]"'

__all__ = ["INSTALL", "data", "serve", "show"]


def _server(host: str, port: int, user_data: Optional[data.Data]) -> "Server":
    try:
        import starlette  # noqa: F401
        import uvicorn  # noqa: F401
        import websockets  # noqa: F401
    except ImportError as exc:
        raise ImportError(f"the playground needs Starlette, uvicorn and websockets "
                          f"({exc}); install them with {INSTALL}") from None
    from .server import Server

    return Server(host, port, user_data)


def serve(host: str = "127.0.0.1", port: int = 0, open_browser: bool = True) -> int:
    """Run the playground until Ctrl-C, after printing its URL (with the token) on stdout."""
    server = _server(host, port, None)
    print(f"plainnet playground: {server.url}", flush=True)
    if open_browser:
        webbrowser.open(server.url)
    server.run()
    return 0


def show(X: Any, y: Any, test_fraction: float = 0.0, seed: int = 0, host: str = "127.0.0.1",
         port: int = 0, open_browser: bool = True, block: bool = False) -> "Server":
    """Open the playground on your own 2-D data: X (m, 2) and y (m,).

    Integer labels 0..k-1 (k <= 5) are classes, any other numbers a
    regression; at most 2,000 points. The data set appears as "your data"
    in the page. The server runs in a background thread of this process;
    the returned object has its ``url`` and ``stop()``. ``block=True``
    serves in this thread instead, until Ctrl-C (for scripts).
    """
    user = data.from_points(X, y, test_fraction, seed, "show")
    server = _server(host, port, user)
    print(f"plainnet playground: {server.url}", flush=True)
    if block:
        if open_browser:
            webbrowser.open(server.url)
        server.run()
        return server
    server.start()
    if open_browser:
        webbrowser.open(server.url)
    return server
