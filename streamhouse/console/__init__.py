"""The web console's built files (web/ → streamhouse/console/dist), served at `/`.

The files ship inside the package, so an installed StreamHouse serves the console with no
Node at run time. Routes the SPA owns (`/topics/orders`, `/groups/g1`...) answer its
index.html, so deep links and reloads work; `/api/...`, `/metrics`, `/health`, `/ready`
and the OpenAPI pages keep their own routes (registered before this one), and an unknown
`/api/...` path stays a JSON 404.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException

DIST = Path(__file__).resolve().parent / "dist"
# Paths that are never the SPA's, whatever follows them.
NOT_SPA = ("api", "registry", "metrics", "health", "ready", "docs", "redoc", "openapi.json",
           "assets")

NOT_BUILT = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>StreamHouse</title></head><body style="font-family:sans-serif;margin:3em">
<h1>StreamHouse</h1><p>The web console is not built in this checkout. Build it with
<code>make console</code> (Node 20 and npm), or run <code>make run</code>, which builds it
once. The REST API is at <a href="/docs">/docs</a>.</p></body></html>"""


def built(dist: Path = DIST) -> bool:
    return (dist / "index.html").is_file()


def mount(app: FastAPI, dist: Path = DIST) -> None:
    """Serve the console at `/`: hashed assets cached for a year, index.html never. What
    the build holds is read once, here (a new build is served after a restart)."""
    present = built(dist)
    if present and (dist / "assets").is_dir():
        app.mount("/assets", _ImmutableFiles(directory=dist / "assets"), name="console-assets")
    # favicon, robots.txt and the like at the top: only names the build has, no path walking.
    top = {f.name: f for f in dist.iterdir() if f.is_file()} if present else {}

    @app.api_route("/{path:path}", methods=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"],
                   include_in_schema=False)
    async def console(path: str, request: Request) -> Response:
        first = path.split("/", 1)[0]
        if first in NOT_SPA and path.endswith("/") and len(path) > 1:
            # What Starlette does without a catch-all: /api/v1/topics/ → /api/v1/topics
            target = request.url.replace(path="/" + path.rstrip("/"))
            return RedirectResponse(str(target), status_code=307)
        if first in NOT_SPA or request.method not in ("GET", "HEAD"):
            # An API path no route has (or a console path written to): the API's 404.
            raise HTTPException(status_code=404, detail=f"no route {request.method} {request.url.path}")
        if not present:
            return HTMLResponse(NOT_BUILT, status_code=503)
        if path in top and path != "index.html":
            return FileResponse(top[path])
        return FileResponse(top["index.html"], headers={"cache-control": "no-cache"})


class _ImmutableFiles(StaticFiles):
    async def get_response(self, path: str, scope):  # type: ignore[no-untyped-def]
        response = await super().get_response(path, scope)
        if response.status_code == 200:
            # Vite names every asset by its content hash: a new build, new names.
            response.headers["cache-control"] = "public, max-age=31536000, immutable"
        return response
