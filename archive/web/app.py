"""``archive serve``: a read-only web page and JSON API over any store (ASGI, Starlette).

Every endpoint reads; none writes. Store calls run off the event loop, on a small pool of threads
with a store (a connection) each, as Datasette does, and under a time limit: one slow request
never stalls the others, and one past the limit is a 503 (its SQLite query is interrupted).
Errors are pages (or JSON under /api), never tracebacks."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.datastructures import QueryParams
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from archive.errors import ArchiveError, NotFound, StoreUnavailable, UsageError
from archive.models import heading_text
from archive.store.base import Store
from archive.store.records import Filters
from archive.web import query as wq
from archive.web.openapi import OPENAPI
from archive.web.render import diff_html, diff_views, field_changes, snippet_html, timeline_svg

HERE = Path(__file__).parent


THREADS = 4  # store threads: each has its own connection
TIME_LIMIT = 10.0  # seconds a request may spend in the store
SIMILAR_ON_PAGE = 5  # "similar articles" on an article page
SECURITY_HEADERS = {
    "Content-Security-Policy": ("default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
                                "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}


class SecurityHeaders:
    """Every response carries SECURITY_HEADERS: no inline script or style runs (the page has
    none), no other site frames it, no type is sniffed."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.headers = [(k.lower().encode(), v.encode()) for k, v in SECURITY_HEADERS.items()]

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Any) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *self.headers]}
            await send(message)

        await self.app(scope, receive, send_with_headers)


class TooSlow(ArchiveError):
    """A request passed the time limit."""


class Archive:
    """The store behind the app: one store per worker thread, opened on first use there."""

    def __init__(self, factory: Callable[[], Store], threads: int = THREADS, limit: float = TIME_LIMIT) -> None:
        from concurrent.futures import ThreadPoolExecutor

        self._factory = factory
        self._local = threading.local()
        self._stores: list[Store] = []
        self._lock = threading.Lock()
        self.limit = limit
        self.pool = ThreadPoolExecutor(threads, thread_name_prefix="archive-store")
        self.facets: dict[Any, Any] = {}  # (query, filters) -> (data version, facets); bounded by wq

    def store(self) -> Store:
        """This thread's store (called on a pool thread)."""
        s: Store | None = getattr(self._local, "store", None)
        if s is None:
            s = self._factory()
            self._local.store = s
            with self._lock:
                self._stores.append(s)
        return s

    async def call(self, fn: Callable[[Store], Any]) -> Any:
        """``fn(store)`` on a store thread, within the time limit (TooSlow past it)."""
        import asyncio

        box: dict[str, Store] = {}

        def run() -> Any:
            box["store"] = s = self.store()
            return fn(s)

        fut = asyncio.get_running_loop().run_in_executor(self.pool, run)
        try:
            return await asyncio.wait_for(asyncio.shield(fut), self.limit)
        except TimeoutError:
            s = box.get("store")
            if s is not None:
                s.interrupt()  # the thread stops at SQLite's next step, and is free again
            fut.add_done_callback(lambda f: f.cancelled() or f.exception())  # never "never retrieved"
            raise TooSlow(f"the request took longer than {self.limit:g} s; try a narrower query") from None

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)
        with self._lock:
            stores, self._stores = self._stores, []
        for s in stores:
            s.close()


def create_app(factory: Callable[[], Store], *, settings: Any = None, time_limit: float = TIME_LIMIT) -> Starlette:
    """The ASGI app over the stores ``factory`` opens (one per store thread)."""
    archive = Archive(factory, limit=time_limit)
    import jinja2

    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(HERE / "templates")), autoescape=True)
    templates = Jinja2Templates(env=env)
    templates.env.globals.update(snippet_html=snippet_html, collapsed=wq.collapsed, heading_text=heading_text)

    store_call = archive.call

    def page(request: Request, name: str, ctx: dict[str, Any], status: int = 200) -> Response:
        return templates.TemplateResponse(request, name, ctx, status_code=status)

    async def search(request: Request) -> Response:
        r = wq.parse_request(request.query_params)
        result = await store_call(lambda s: wq.search_page(s, r, cache=archive.facets))
        ctx = {"r": r, "p": result, "timeline": timeline_svg(result.facets.months, r.url(period=None) + (
            "&" if "?" in r.url(period=None) else "?") + "period=", r.period)}
        name = "results.html" if request.query_params.get("partial") else "search.html"
        return page(request, name, ctx)

    async def article(request: Request) -> Response:
        ref = request.path_params["id"]
        spec = request.query_params.get("diff")
        other_id = request.query_params.get("with")

        def read(s: Store) -> Any:
            art, history, revs = s.get(ref), s.history(ref), s.revisions(ref)
            if art is None:
                raise NotFound(ref)
            diff: dict[str, Any] | None = None
            if other_id:  # this article against another of its story (or any other): what differs
                other = s.get(other_id)
                if other is None:
                    raise NotFound(other_id)
                diff = {"other": other, "html": diff_html(other.body, art.body)}
            if spec:
                versions = {r.revision: r for r in revs} | {art.revision: art}
                try:
                    a, b = (int(x) for x in spec.split("..", 1))
                    old, new = versions[a], versions[b]
                except (ValueError, KeyError):
                    raise UsageError(f"diff {spec!r}: give two revisions of this article as A..B") from None
                # bounded: see render. The changes with a paragraph of context; the whole text on demand.
                changes, whole = diff_views(old.body, new.body, context=1)
                diff = {"from": a, "to": b, "html": changes, "whole": whole, "fields": field_changes(old, new)}
            story = s.story(art.story) if art.story else None
            return art, history, diff, story, s.similar(art, SIMILAR_ON_PAGE)

        art, history, diff, story, similar = await store_call(read)
        return page(request, "article.html", {"a": art, "history": history, "diff": diff, "story": story,
                                              "similar": similar})

    def _stories_args(request: Request) -> tuple[Filters, int, int]:
        # the filters as a search reads them; the limit is the stories' own (up to 500 stories)
        r = wq.parse_request(QueryParams([kv for kv in request.query_params.multi_items() if kv[0] != "limit"]))
        min_size = wq.whole_number(request.query_params.get("min_size"), "min_size", 2, 2, 1_000_000)
        limit = wq.whole_number(request.query_params.get("limit"), "limit", 50, 1, 500)
        return r.filters(), min_size, limit

    async def stories(request: Request) -> Response:
        flt, min_size, limit = _stories_args(request)
        found = await store_call(lambda s: s.stories(flt, min_size, limit))
        return page(request, "stories.html", {"stories": found, "min_size": min_size, "limit": limit})

    async def api_stories(request: Request) -> Response:
        flt, min_size, limit = _stories_args(request)
        found = await store_call(lambda s: s.stories(flt, min_size, limit))
        return JSONResponse([x.to_doc() for x in found])

    async def api_similar(request: Request) -> Response:
        ref = request.path_params["id"]
        limit = wq.whole_number(request.query_params.get("limit"), "limit", 10, 1, 100)

        def read(s: Store) -> Any:
            art = s.get(ref)
            if art is None:
                raise NotFound(ref)
            return [h.to_doc() for h in s.similar(art, limit)]

        return JSONResponse(await store_call(read))

    async def status(request: Request) -> Response:
        return page(request, "status.html", await store_call(_status))

    async def api_search(request: Request) -> Response:
        r = wq.parse_request(request.query_params)
        p = await store_call(lambda s: wq.search_page(s, r, with_facets=False))
        doc = {"total": p.total, "took_ms": round(p.took_ms, 2), "next_cursor": p.next_cursor,
               "hits": [h.to_doc() for h in p.hits]}
        if p.warning:
            doc["warning"] = p.warning
        if p.suggestion:
            doc["suggestion"] = p.suggestion
        return JSONResponse(doc)

    async def api_article(request: Request) -> Response:
        ref = request.path_params["id"]
        art = await store_call(lambda s: s.get(ref))
        if art is None:
            raise NotFound(ref)
        return JSONResponse(art.to_doc())

    async def api_revisions(request: Request) -> Response:
        ref = request.path_params["id"]
        art, revs = await store_call(lambda s: (s.get(ref), s.revisions(ref)))
        if art is None:
            raise NotFound(ref)
        return JSONResponse([r.to_doc() for r in [*revs, art]])

    async def api_stats(request: Request) -> Response:
        r = wq.parse_request(request.query_params)
        return JSONResponse((await store_call(lambda st: st.stats(r.filters()))).to_doc())

    async def api_facets(request: Request) -> Response:
        r = wq.parse_request(request.query_params)
        return JSONResponse((await store_call(lambda s: s.facets(r.q, r.filters()))).to_doc())

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
        if isinstance(exc, TooSlow):
            return error(request, 503, str(exc))
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
        Route("/stories", stories),
        Route("/api/stories", api_stories),
        Route("/api/articles/{id}/similar", api_similar),
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

    from starlette.middleware import Middleware

    app = Starlette(
        routes=routes,
        exception_handlers={ArchiveError: on_archive_error, HTTPException: on_http_error, Exception: on_any_error},
        lifespan=lifespan,
        middleware=[Middleware(SecurityHeaders)],
    )
    app.state.archive = archive
    app.state.started = time.time()
    return app



def store_factory(settings: Any) -> Callable[[], Store]:
    """What the app opens on each of its store threads: a SQLite connection each; one shared
    MongoDB store (pymongo's client is thread-safe and pools its own connections)."""
    from archive.store import open_store, store_kind

    if store_kind(settings.db) != "mongodb":
        return lambda: open_store(settings.db, settings, create=False)
    shared: list[Store] = []
    lock = threading.Lock()

    def one() -> Store:
        with lock:
            if not shared:
                shared.append(open_store(settings.db, settings, create=False))
            return shared[0]

    return one


def app_from_env() -> Starlette:
    """The app a uvicorn worker process builds (``archive serve`` with several processes), from
    ARCHIVE_*; the process dies with the server that started it (no orphan after a kill -9)."""
    from archive.config import load_settings
    from archive.procs import die_with_parent

    die_with_parent()
    settings = load_settings()
    return create_app(store_factory(settings), settings=settings)
