"""Names and numbers a client sends never reach a 500: labels draw as text, and what a column cannot hold is a 422."""

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.service.test_plots import make_job

# A "$" drawn as text (glyph 7 of DejaVu Sans); mathtext would take the dollars for delimiters and draw none.
DOLLAR_GLYPH = 'id="DejaVuSans-7"'


@pytest.mark.parametrize("name", [r"$\frac{$", "$x^2$ run", "costs $5 and $6", r"a\$b_c$"])
def test_a_job_named_like_mathtext_plots_its_name_as_text(client: TestClient, name: str) -> None:
    job_id, other = make_job(client, name), make_job(client, "plain")
    for fmt in ("png", "svg"):
        assert client.get(f"/jobs/{job_id}/plot.{fmt}").status_code == 200
        compare = client.get(f"/compare/plot.{fmt}", params={"jobs": f"{job_id},{other}", "metric": "val_loss"})
        assert compare.status_code == 200
    svg = client.get(f"/jobs/{job_id}/plot.svg").text
    assert f"<!-- {name} (running, epoch 5/10) -->" in svg and DOLLAR_GLYPH in svg
    compare_svg = client.get("/compare/plot.svg", params={"jobs": f"{job_id},{other}", "metric": "lr"}).text
    assert f"<!-- {name} ({job_id[:8]}) -->" in compare_svg and DOLLAR_GLYPH in compare_svg


def problem_of(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    return dict(response.json())
