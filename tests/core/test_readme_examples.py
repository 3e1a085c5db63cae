"""The README's example specs parse and fit, so its examples cannot drift from the catalog."""

import json
import re
from pathlib import Path
from typing import Any

import pytest

from core.admission.compatibility import fit_problems
from core.spec import JobSpec

README = Path(__file__).resolve().parents[2] / "README.md"


def example_specs() -> list[dict[str, Any]]:
    text = README.read_text()
    section = text[text.index("### Three examples") : text.index("## API")]
    return [json.loads(block) for block in re.findall(r"```json\n(.*?)```", section, flags=re.DOTALL)]


def test_the_readme_has_three_example_specs() -> None:
    assert len(example_specs()) == 3


@pytest.mark.parametrize("raw", example_specs())
def test_each_readme_example_fits(raw: dict[str, Any]) -> None:
    assert fit_problems(JobSpec.model_validate(raw)) == []
