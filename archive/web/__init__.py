"""``archive serve``: the read-only web page and JSON API (Starlette, served by uvicorn)."""

from archive.web.app import create_app

__all__ = ["create_app"]
