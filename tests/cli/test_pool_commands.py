"""`gradyard queue` and `gradyard workers` as text: the columns, and nothing past 80 of them."""

from cli.pool_commands import queue_lines, worker_lines


def test_the_queue_fits_80_columns_and_marks_an_aged_priority() -> None:
    items = [
        {
            "position": 12,
            "id": "6f1c2a9e-0000",
            "pool": "a-very-long-pool-name",
            "owner": "someone-with-a-long-name",
            "priority": "low",
            "effective_priority": "normal",
            "reason": "no worker in pool 'a-very-long-pool-name' has been seen, and a long tail besides",
        }
    ]
    lines = queue_lines(items, with_pool=True)
    assert lines[0] == "pos  job       pool      user          priority  reason"
    assert lines[1].startswith(" 12  6f1c2a9e  a-very-l  someone-with  low+      no worker in pool")
    assert max(len(line) for line in lines) == 80 and lines[1].endswith("~")


def test_workers_show_memory_in_gib_and_their_state() -> None:
    rows = [
        {
            "id": "h-0",
            "pool": "gpu",
            "device": "NVIDIA H200",
            "gpu_memory_bytes": 150 * 2**30,
            "live": True,
            "running_job_id": "6f1c2a9e-1",
        },
        {"id": "h-1", "pool": "cpu", "device": "cpu", "gpu_memory_bytes": None, "live": False, "running_job_id": None},
    ]
    assert worker_lines(rows)[1:] == [
        "h-0                   gpu       NVIDIA H200        150  live   6f1c2a9e",
        "h-1                   cpu       cpu                  -  gone   -",
    ]
