"""The API's interactive documentation, /docs (Swagger UI) and /redoc, with their scripts served by the API itself
from the fastapi-offline package, so they work on a machine without internet."""

from fastapi import APIRouter, FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS = "/docs-assets"
router = APIRouter(include_in_schema=False)


@router.get("/docs")
def swagger_ui() -> HTMLResponse:
    """Swagger UI over this API's OpenAPI document."""
    return get_swagger_ui_html(
        openapi_url="/openapi.json",
        title="gradyard - Swagger UI",
        oauth2_redirect_url="/docs/oauth2-redirect",
        swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js",
        swagger_css_url=f"{ASSETS}/swagger-ui.css",
        swagger_favicon_url=f"{ASSETS}/favicon.png",
    )


@router.get("/docs/oauth2-redirect")
def swagger_ui_redirect() -> HTMLResponse:
    """Swagger UI's OAuth2 redirect page."""
    return get_swagger_ui_oauth2_redirect_html()


@router.get("/redoc")
def redoc() -> HTMLResponse:
    """ReDoc over this API's OpenAPI document; no web fonts fetched."""
    return get_redoc_html(
        openapi_url="/openapi.json",
        title="gradyard - ReDoc",
        redoc_js_url=f"{ASSETS}/redoc.standalone.js",
        redoc_favicon_url=f"{ASSETS}/favicon.png",
        with_google_fonts=False,
    )


def mount_assets(app: FastAPI) -> None:
    """Serve the documentation's scripts, styles and icon under /docs-assets (public, like the pages)."""
    app.mount(ASSETS, StaticFiles(packages=[("fastapi_offline", "static")]), name="docs-assets")
