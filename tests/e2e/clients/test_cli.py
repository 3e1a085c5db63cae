"""The `gradyard` client verbs as a user runs them: processes against the real service, exit codes, output."""

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.conftest import Stack, free_port
from tests.e2e.test_training_jobs import LONG

pytestmark = pytest.mark.e2e
EXAMPLES = Path(__file__).resolve().parents[3] / "examples"


def gradyard(
    *args: str, url: str | None = None, key: str | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """Run `gradyard ARGS` as a process, the server and key in GRADYARD_URL and GRADYARD_KEY, a wide terminal."""
    env = {k: v for k, v in os.environ.items() if k != "GRADYARD_URL"}
    env |= {"COLUMNS": "200", "GRADYARD_CONFIG": "/nonexistent/config.toml"}
    env |= {"GRADYARD_URL": url} if url else {}
    env |= {"GRADYARD_KEY": key} if key else {}
    return subprocess.run(
        [sys.executable, "-m", "cli", *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=180
    )


@pytest.fixture
def url(live_stack: Stack, monkeypatch: pytest.MonkeyPatch) -> str:
    """The live stack's base URL; its key is in GRADYARD_KEY, as a user would export it."""
    monkeypatch.setenv("GRADYARD_KEY", live_stack.key)
    return live_stack.url


def test_submit_follow_shows_progress_and_ends_with_the_job(url: str, live_stack: Stack) -> None:
    done = gradyard("submit", str(EXAMPLES / "thermometer.yaml"), "--follow", "--poll", "0.2", url=url)
    assert done.returncode == 0, done.stderr
    job_id = done.stdout.split()[1]
    job = live_stack.job(job_id)
    assert job["status"] == "succeeded" and job["progress"]["epoch"] == 5000
    assert "5000/5000 epochs" in done.stdout  # the progress bar's last state
    row = next(line for line in done.stdout.splitlines() if line.startswith("│ train_loss"))  # the summary table
    assert [cell.strip() for cell in row.split("│")[1:-1]] == ["train_loss", "2.928", "2.928", "577", "5000"]
    assert f"{job['metrics']['train_loss']['last']:.4g}" == "2.928"


def test_a_job_that_fails_gives_exit_code_1(url: str, tmp_path: Path) -> None:
    spec = tmp_path / "diverge.json"
    spec.write_text(
        json.dumps(
            {
                "dataset": "thermometer",
                "model": "linear",
                "loss": "mse",
                "optimizer": {"name": "sgd", "lr": 1.0},
                "epochs": 500,
                "batch_size": None,
            }
        )
    )
    done = gradyard("submit", str(spec), "-f", "--poll", "0.2", url=url)
    assert done.returncode == 1
    assert "failed: diverged: train_loss is " in done.stderr and "times its first value" in done.stderr


def test_submit_quiet_then_jobs_show_and_cancel(url: str, live_stack: Stack, tmp_path: Path) -> None:
    spec = tmp_path / "long.yaml"
    spec.write_text(json.dumps(LONG))  # JSON is YAML too
    submitted = gradyard("submit", str(spec), "-q", url=url)
    assert submitted.returncode == 0, submitted.stderr
    job_id = submitted.stdout.strip()
    listed = gradyard("jobs", "--json", url=url)
    assert job_id in [job["id"] for job in json.loads(listed.stdout)]
    cancelled = gradyard("cancel", job_id, url=url)
    assert cancelled.returncode == 0 and f"{job_id} (long):" in cancelled.stdout
    assert live_stack.wait(job_id, timeout=60)["status"] == "cancelled"
    shown = gradyard("show", job_id, url=url)
    assert (
        shown.returncode == 0
        and "cancelled" in shown.stdout
        and f'"n_samples": {LONG["dataset"]["n_samples"]}' in shown.stdout
    )
    table = gradyard("jobs", "--status", "cancelled", url=url)
    assert job_id in table.stdout and "synthetic_classification / mlp / cross_entropy / sgd" in table.stdout


def test_metrics_csv_parses_back_to_the_history(url: str, live_stack: Stack) -> None:
    job = live_stack.wait(
        live_stack.submit(
            json.loads((EXAMPLES / "cifar-cnn.json").read_text())
            | {"epochs": 2, "dataset": {"name": "synthetic_images", "n_samples": 200}}
        )
    )
    assert job["status"] == "succeeded", job["error"]
    done = gradyard("metrics", job["id"], "--csv", "--names", "val_accuracy,train_loss", url=url)
    assert done.returncode == 0, done.stderr
    rows = list(csv.DictReader(io.StringIO(done.stdout)))
    history = live_stack.metrics(job["id"])["metrics"]
    assert list(rows[0]) == ["step", "epoch", "time", "val_accuracy", "train_loss"]
    assert [int(row["epoch"]) for row in rows] == [1, 2]
    assert [float(row["train_loss"]) for row in rows] == history["train_loss"]["value"]
    assert [int(row["step"]) for row in rows] == history["val_accuracy"]["step"]
    table = gradyard("metrics", job["id"], url=url)
    assert table.returncode == 0 and "val_accuracy" in table.stdout and "lr" in table.stdout


def test_plot_writes_the_image(url: str, live_stack: Stack, tmp_path: Path) -> None:
    job_id = live_stack.wait(
        live_stack.submit(json.loads(json.dumps(LONG)) | {"epochs": 1, "dataset": {"name": "digits"}})
    )["id"]
    done = gradyard("plot", job_id, "-o", "loss.svg", "--names", "train_loss,val_loss", url=url, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "loss.svg").read_text().lstrip().startswith("<?xml")
    assert gradyard("plot", job_id, url=url, cwd=tmp_path).returncode == 0
    assert (tmp_path / f"{job_id}.png").read_bytes()[:4] == b"\x89PNG"
    wrong = gradyard("plot", job_id, "-o", "loss.gif", url=url, cwd=tmp_path)
    assert wrong.returncode == 2 and "must end in .png or .svg" in wrong.stderr


def test_catalog_lists_components_with_bounds(url: str) -> None:
    done = gradyard("catalog", "optimizers", url=url)
    assert done.returncode == 0 and "lr=0.001  [> 0.0, <= 10.0]" in done.stdout and "SGD" in done.stdout
    assert "datasets" not in done.stdout
    unknown = gradyard("catalog", "widgets", url=url)
    assert unknown.returncode == 2 and "unknown kind 'widgets'" in unknown.stderr


def test_exit_codes_for_refusals_bad_files_and_no_server(url: str, tmp_path: Path) -> None:
    spec = tmp_path / "bad.yaml"
    spec.write_text("dataset: digits\nmodel: mlp\nloss: bce_with_logits\noptimizer: adam\n")
    refused = gradyard("submit", str(spec), url=url)
    assert refused.returncode == 3
    assert "422 Spec cannot train" in refused.stderr and "loss 'bce_with_logits' needs two classes" in refused.stderr
    assert gradyard("show", "no-such-job", url=url).returncode == 3
    missing = gradyard("submit", str(tmp_path / "nope.yaml"), url=url)
    assert missing.returncode == 2 and "cannot read" in missing.stderr
    down = gradyard("jobs", "--url", f"http://127.0.0.1:{free_port()}", url=url)
    assert down.returncode == 4 and "no answer from" in down.stderr


def test_a_missing_or_wrong_key_is_refused_with_exit_code_3(live_stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GRADYARD_KEY", raising=False)
    anonymous = gradyard("jobs", url=live_stack.url)
    assert anonymous.returncode == 3
    assert "401 Unauthorized: this route needs 'Authorization: Bearer <key>'" in anonymous.stderr
    wrong = gradyard("jobs", "--key", "gy_wrong", url=live_stack.url)
    assert wrong.returncode == 3 and "the key is unknown or revoked" in wrong.stderr
    flagged = gradyard("jobs", "--key", live_stack.key, "--json", url=live_stack.url)
    assert flagged.returncode == 0 and isinstance(json.loads(flagged.stdout), list)
