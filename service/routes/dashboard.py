"""The web dashboard: its page at `/`, its scripts and styles under `/static/` (plain files, no build step)."""

from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"
router = APIRouter(include_in_schema=False)


@router.get("/")
def dashboard() -> FileResponse:
    """The dashboard's single page; it talks to the API with the same routes and keys as every client."""
    return FileResponse(STATIC_DIR / "index.html", headers={"Cache-Control": "no-cache"})


def mount_static(app: FastAPI) -> None:
    """Serve the dashboard's files under /static (a mount, which an APIRouter cannot carry)."""
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
