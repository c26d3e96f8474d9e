"""``archive serve``: a read-only web page and JSON API over any store (ASGI, Starlette).

Every endpoint reads; none writes. Store calls are serialised by one lock (a SQLite connection
is used by one thread at a time). Errors are pages (or JSON under /api), never tracebacks."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from archive.errors import ArchiveError, NotFound, StoreUnavailable, UsageError
from archive.store.base import Filters, Store
from archive.web import query as wq
from archive.web.openapi import OPENAPI
from archive.web.render import diff_html, snippet_html, timeline_svg

HERE = Path(__file__).parent


class Archive:
    """The store behind the app, opened on first use and used under a lock."""

    def __init__(self, factory: Callable[[], Store]) -> None:
        self._factory = factory
        self._store: Store | None = None
        self.lock = threading.Lock()
        self.facets: dict[Any, Any] = {}  # (query, filters) -> (data version, facets)

    def __call__(self) -> Store:
        if self._store is None:
            self._store = self._factory()
        return self._store

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None


def create_app(factory: Callable[[], Store], *, settings: Any = None) -> Starlette:
    """The ASGI app over the store ``factory`` opens."""
    archive = Archive(factory)
    import jinja2

    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(HERE / "templates")), autoescape=True)
    templates = Jinja2Templates(env=env)
    templates.env.globals.update(snippet_html=snippet_html)

    def store_call(fn: Callable[[Store], Any]) -> Any:
        with archive.lock:
            return fn(archive())

    def page(request: Request, name: str, ctx: dict[str, Any], status: int = 200) -> Response:
        return templates.TemplateResponse(request, name, ctx, status_code=status)

    async def search(request: Request) -> Response:
        r = wq.parse_request(request.query_params)
        result = store_call(lambda s: wq.search_page(s, r, cache=archive.facets))
        ctx = {"r": r, "p": result, "timeline": timeline_svg(result.facets.months, r.url(period=None) + (
            "&" if "?" in r.url(period=None) else "?") + "period=", r.period)}
        name = "results.html" if request.query_params.get("partial") else "search.html"
        return page(request, name, ctx)

    async def article(request: Request) -> Response:
        ref = request.path_params["id"]
        art, history, revs = store_call(lambda s: (s.get(ref), s.history(ref), s.revisions(ref)))
        if art is None:
            raise NotFound(ref)
        diff = None
        spec = request.query_params.get("diff")
        if spec:
            versions = {r.revision: r for r in revs} | {art.revision: art}
            try:
                a, b = (int(x) for x in spec.split("..", 1))
                old, new = versions[a], versions[b]
            except (ValueError, KeyError):
                raise UsageError(f"diff {spec!r}: give two revisions of this article as A..B") from None
            diff = {"from": a, "to": b, "html": diff_html(old.body, new.body)}
        return page(request, "article.html", {"a": art, "history": history, "diff": diff})

    async def status(request: Request) -> Response:
        return page(request, "status.html", store_call(_status))

    async def api_search(request: Request) -> Response:
        r = wq.parse_request(request.query_params)
        p = store_call(lambda s: wq.search_page(s, r, with_facets=False))
        return JSONResponse({"total": p.total, "took_ms": round(p.took_ms, 2), "next_cursor": p.next_cursor,
                             "hits": [h.to_doc() for h in p.hits]})

    async def api_article(request: Request) -> Response:
        ref = request.path_params["id"]
        art = store_call(lambda s: s.get(ref))
        if art is None:
            raise NotFound(ref)
        return JSONResponse(art.to_doc())

    async def api_revisions(request: Request) -> Response:
        ref = request.path_params["id"]
        art, revs = store_call(lambda s: (s.get(ref), s.revisions(ref)))
        if art is None:
            raise NotFound(ref)
        return JSONResponse([r.to_doc() for r in [*revs, art]])

    async def api_stats(request: Request) -> Response:
        r = wq.parse_request(request.query_params)
        return JSONResponse(store_call(lambda st: st.stats(r.filters())).to_doc())

    async def api_facets(request: Request) -> Response:
        r = wq.parse_request(request.query_params)
        return JSONResponse(store_call(lambda s: s.facets(r.q, r.filters())).to_doc())

    async def openapi(request: Request) -> Response:
        return JSONResponse(OPENAPI)

    def error(request: Request, status_code: int, message: str) -> Response:
        if request.url.path.startswith("/api") or request.url.path == "/openapi.json":
            return JSONResponse({"error": message}, status_code=status_code)
        return page(request, "error.html", {"status": status_code, "message": message}, status=status_code)

    async def on_archive_error(request: Request, exc: Exception) -> Response:
        if isinstance(exc, NotFound):
            return error(request, 404, str(exc))
        if isinstance(exc, UsageError):
            return error(request, 400, str(exc))
        if isinstance(exc, StoreUnavailable):
            return error(request, 503, "the store is unavailable; try again shortly")
        return error(request, 500, "the store refused the request")

    async def on_http_error(request: Request, exc: Exception) -> Response:
        code = getattr(exc, "status_code", 500)
        return error(request, code, "no such page" if code == 404 else str(getattr(exc, "detail", "error")))

    async def on_any_error(request: Request, exc: Exception) -> Response:
        return error(request, 500, "internal error")

    def _status(s: Store) -> dict[str, Any]:
        from archive.config import Settings
        from archive.watch.lease import daemon_records

        daemons = daemon_records(s, settings or Settings())
        return {"store": s.display, "backend": s.kind, "articles": s.count(Filters()),
                "failures": list(s.failures())[:500], "daemons": daemons}

    routes = [
        Route("/", search),
        Route("/articles/{id}", article),
        Route("/status", status),
        Route("/api/search", api_search),
        Route("/api/articles/{id}", api_article),
        Route("/api/articles/{id}/revisions", api_revisions),
        Route("/api/stats", api_stats),
        Route("/api/facets", api_facets),
        Route("/openapi.json", openapi),
        Mount("/static", StaticFiles(directory=str(HERE / "static")), name="static"),
    ]
    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        archive.close()

    app = Starlette(
        routes=routes,
        exception_handlers={ArchiveError: on_archive_error, HTTPException: on_http_error, Exception: on_any_error},
        lifespan=lifespan,
    )
    app.state.archive = archive
    app.state.started = time.time()
    return app

