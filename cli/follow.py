"""`--follow`: a progress bar over a job's epochs with its latest losses, until the job ends."""

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from cli.client_render import latest_losses, status_text
from client import Client, Job


def follow_job(client: Client, submitted: Job, *, console: Console, poll_seconds: float) -> Job:
    """Show the job's progress until it ends; the finished job."""
    job = submitted
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(bar_width=24),
        MofNCompleteColumn(),
        TextColumn("epochs"),
        TimeElapsedColumn(),
        TextColumn("{task.fields[latest]}"),
        console=console,
    )
    epochs = int(job["progress"]["epochs"])
    with progress:
        task = progress.add_task(f"{job['name']} {status_text(job['status'])}", total=epochs, latest="")
        for job in client.follow(submitted["id"], poll_seconds=poll_seconds):
            progress.update(
                task,
                completed=job["progress"]["epoch"],
                description=f"{job['name']} {status_text(job['status'])}",
                latest=latest_losses(job),
            )
    return job
