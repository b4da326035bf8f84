"""Static pages: the console, the demo host page, the widget files."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from aiohttp import web

from .appkeys import SERVICES
from .auth_routes import current_staff

CONSOLE_DIR = Path(str(resources.files("chat_server") / "console"))
DESIGN_DIR = Path(str(resources.files("chat_server") / "design"))  # staff pages' design system
STATIC_DIR = Path(str(resources.files("chat_server") / "static"))
WIDGET_CACHE = "public, max-age=300"


def _file(path: Path) -> web.FileResponse:
    return web.FileResponse(path, headers={"Cache-Control": "no-store"})


async def demo_page(request: web.Request) -> web.StreamResponse:
    if not request.app[SERVICES].settings.demo:
        raise web.HTTPNotFound()
    return _file(STATIC_DIR / "demo.html")


async def console_page(request: web.Request) -> web.StreamResponse:
    if await current_staff(request) is None:
        raise web.HTTPSeeOther("/console/login")
    return _file(CONSOLE_DIR / "console.html")


async def login_page(_request: web.Request) -> web.StreamResponse:
    return _file(CONSOLE_DIR / "login.html")


def file_inside(root: Path, path: str) -> Path:
    """The file ``path`` names under ``root``; raises HTTPNotFound for anything else (outside
    the directory, missing, a NUL byte, a name too long for the file system)."""
    root = root.resolve()
    try:
        target = (root / path).resolve()
        found = target.is_relative_to(root) and target.is_file()
    except (ValueError, OSError):
        found = False
    if not found:
        raise web.HTTPNotFound()
    return target


def static_files(prefix: str, directory: Path) -> web.RouteDef:
    """``GET {prefix}/{path}``: the files of ``directory`` (aiohttp's own static route answers
    500 for a file name the file system refuses)."""

    async def serve(request: web.Request) -> web.StreamResponse:
        return web.FileResponse(file_inside(directory, request.match_info["path"]))

    return web.get(f"{prefix}/{{path:.+}}", serve)


async def widget_asset(request: web.Request) -> web.StreamResponse:
    """Widget files, embeddable from the allowed origins (CORS for its JSON data)."""
    settings = request.app[SERVICES].settings
    target = file_inside(settings.widget_dir, request.match_info["path"])
    response = web.FileResponse(
        target,
        headers={"Cache-Control": WIDGET_CACHE, "Cross-Origin-Resource-Policy": "cross-origin"},
    )
    response.headers["Vary"] = "Origin"  # always: the CORS header below depends on Origin
    origin = request.headers.get("Origin", "").rstrip("/")
    if origin in settings.allowed_origins:
        response.headers["Access-Control-Allow-Origin"] = origin
    return response
