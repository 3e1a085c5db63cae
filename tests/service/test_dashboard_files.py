"""The dashboard's files: public (the page loads before a key is pasted), of the right types, nothing missing."""

import re
from pathlib import Path

from fastapi import FastAPI

from service.routes.dashboard import STATIC_DIR
from tests.service.conftest import client_with_key

IMPORT = re.compile(r"""^import .* from "(\.{1,2}/[^"]+)";$""", re.MULTILINE)


def test_the_page_and_its_files_need_no_key(app: FastAPI) -> None:
    anonymous = client_with_key(app, None)
    page = anonymous.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert '<script type="module" src="/static/js/app.js"></script>' in page.text
    for path, kind in [
        ("/static/js/app.js", "javascript"),
        ("/static/vendor/uplot/uPlot.esm.js", "javascript"),
        ("/static/style.css", "text/css"),
    ]:
        response = anonymous.get(path)
        assert response.status_code == 200 and kind in response.headers["content-type"], path


def test_a_missing_file_is_a_problem_404(app: FastAPI) -> None:
    response = client_with_key(app, None).get("/static/js/nope.js")
    assert response.status_code == 404 and response.headers["content-type"] == "application/problem+json"


def test_every_module_the_scripts_import_exists() -> None:
    scripts = sorted((STATIC_DIR / "js").rglob("*.js"))
    imports = [(script, target) for script in scripts for target in IMPORT.findall(script.read_text())]
    assert len(imports) >= 15  # the pattern still matches how the modules import each other
    missing = [f"{s.relative_to(STATIC_DIR)} -> {t}" for s, t in imports if not (s.parent / t).resolve().is_file()]
    assert missing == []


def test_the_vendored_chart_library_carries_its_licence() -> None:
    licence = (STATIC_DIR / "vendor" / "uplot" / "LICENSE").read_text()
    assert licence.startswith("The MIT License (MIT)") and "Leon Sorokin" in licence
    assert (
        Path(STATIC_DIR / "vendor" / "uplot" / "uPlot.esm.js")
        .read_text()
        .rstrip()
        .endswith("export { uPlot as default };")
    )
