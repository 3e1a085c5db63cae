"""Every bad upload of the issue's list: a 4xx problem+json naming the file, row or column, and nothing stored."""

import io
import tarfile
import zipfile
from typing import Any

import numpy as np
import pytest
from fastapi import FastAPI

from core.store import get_store
from tests.datasets import files
from tests.datasets.test_upload import upload
from tests.service.conftest import client_with_key, key_for


def _zip_with_link() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("a/1.png", files.png(np.zeros((4, 4), np.uint8)))
        link = zipfile.ZipInfo("b/evil.png")
        link.external_attr = 0o120777 << 16
        archive.writestr(link, "/etc/passwd")
    return out.getvalue()


def _tar_with_symlink() -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as archive:
        info = tarfile.TarInfo("a/1.png")
        info.type, info.linkname = tarfile.SYMTYPE, "/etc/passwd"
        archive.addfile(info)
    return out.getvalue()


def _zip_bomb() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("a/1.png", b"\0" * 900_000)
        archive.writestr("b/1.png", b"\0" * 10)
    return out.getvalue()


def _damaged_zip() -> bytes:
    data = bytearray(files.image_zip(files.two_class_images(2)))
    data[60:80] = b"\xff" * 20  # inside the first entry's compressed bytes: its CRC no longer matches
    return bytes(data)


GREY = files.png(np.zeros((8, 8), np.uint8))
X = np.zeros((10, 3), np.float32)
CASES: list[tuple[str, str, bytes, dict[str, str], int, str]] = [
    ("empty", "empty.csv", b"", {}, 422, "empty.csv: the file is empty"),
    ("header only", "h.csv", b"a,b\n", {}, 422, "h.csv: the table has a header but no data rows"),
    ("ragged", "r.csv", b"a,b\n1,2\n3,4\n5\n", {}, 422, "r.csv: row 4 has 1 fields, the header has 2"),
    ("not utf-8", "u.csv", b"a,b\n1,x\n2,\xff\xfe\n", {}, 422, "u.csv: row 3 is not UTF-8"),
    (
        "no such target",
        "t.csv",
        b"a,b\n1,2\n3,4\n",
        {"target": "price"},
        422,
        "t.csv: target column 'price' does not exist; columns: 'a', 'b'",
    ),
    ("one class", "o.csv", b"a,b\n1,x\n3,x\n", {}, 422, "o.csv: target column 'b' has one class ('x')"),
    (
        "too many columns",
        "w.csv",
        (",".join(f"c{i}" for i in range(60)) + "\n" + ",".join("1" * 60) + "\n").encode(),
        {},
        422,
        "w.csv: 60 columns, above this server's limit of 50",
    ),
    ("npz without y", "n.npz", files.npz_arrays(x=X), {}, 422, "n.npz: an NPZ needs arrays 'x' and 'y'"),
    ("npz lengths", "n.npz", files.npz_arrays(x=X, y=np.zeros(9)), {}, 422, "got x [10, 3] and y [9]"),
    (
        "npz y nan",
        "n.npz",
        files.npz_arrays(x=X, y=np.array([0, 1, 0, np.nan] + [1] * 6)),
        {},
        422,
        "the first at sample 3",
    ),
    ("npz pickled", "p.npz", files.pickled_npz(), {}, 422, "p.npz: arrays of Python objects (pickled) are refused"),
    (
        "dot-dot",
        "d.zip",
        files.image_zip({"../a/1.png": GREY, "b/1.png": GREY}),
        {},
        422,
        "d.zip: entry '../a/1.png' points outside the archive",
    ),
    (
        "absolute",
        "abs.tar",
        files.image_tar({"/a/1.png": GREY, "b/1.png": GREY}, "w"),
        {},
        422,
        "abs.tar: entry '/a/1.png' points outside the archive",
    ),
    ("zip link", "l.zip", _zip_with_link(), {}, 422, "l.zip: entry 'b/evil.png' is a link"),
    ("tar link", "l.tar", _tar_with_symlink(), {}, 422, "l.tar: entry 'a/1.png' is a link or device"),
    ("zip bomb", "bomb.zip", _zip_bomb(), {}, 413, "bomb.zip: entry 'a/1.png' unpacks"),
    (
        "pixel cap",
        "big.zip",
        files.image_zip({"a/1.png": files.png(np.zeros((100, 100), np.uint8)), "b/1.png": GREY}),
        {},
        413,
        "big.zip: image 'a/1.png' has 100x100 pixels, above the limit of 4,096",
    ),
    (
        "one image class",
        "one.zip",
        files.image_zip({"a/1.png": GREY, "a/2.png": GREY}),
        {},
        422,
        "one.zip: an image archive needs two class folders or more; it has 1 ('a')",
    ),
    ("unsupported", "sheet.xlsx", b"PK\x03\x04whatever", {}, 415, "sheet.xlsx: unsupported format"),
    ("parquet in name only", "fake.parquet", b"a,b\n1,2\n", {}, 415, "fake.parquet: named .parquet but not a Parquet"),
    ("damaged gzip", "g.csv.gz", files.gzipped(b"a,b\n1,2\n3,4\n")[:-12], {}, 422, "g.csv.gz:"),
    (
        "damaged parquet",
        "d.parquet",
        files.parquet_table()[:200] + b"PAR1",
        {},
        422,
        "d.parquet: not a readable Parquet",
    ),
    ("damaged zip entry", "z.zip", _damaged_zip(), {}, 422, "z.zip:"),
    ("damaged tar.gz", "t.tar.gz", files.image_tar(files.two_class_images(2))[:300], {}, 422, "t.tar.gz:"),
    ("npz empty features", "e.npz", files.npz_arrays(x=np.zeros((10, 0)), y=np.zeros(10)), {}, 422, "empty dimension"),
    ("bad task", "t.csv", b"a,b\n1,2\n3,4\n", {"task": "clustering"}, 422, "task 'clustering' is not one of"),
]


@pytest.mark.parametrize(
    ("filename", "data", "fields", "status", "says"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_a_bad_upload_is_refused_and_nothing_is_stored(
    app: FastAPI, filename: str, data: bytes, fields: dict[str, str], status: int, says: str
) -> None:
    alice = client_with_key(app, key_for("alice"))
    before = get_store().count_files()
    response = upload(alice, filename, data, **fields)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert says in response.json()["detail"]
    assert get_store().count_files() == before
    assert alice.get("/datasets").json()["items"] == []


def test_a_body_that_is_not_multipart_is_415(app: FastAPI) -> None:
    alice = client_with_key(app, key_for("alice"))
    response = alice.post("/datasets", content=b"a,b\n1,2\n", headers={"content-type": "text/csv"})
    assert response.status_code == 415
    assert response.json()["detail"] == "POST /datasets takes multipart/form-data with the file in a part named 'file'"


def test_over_the_byte_limit_is_413_and_nothing_stays(app: FastAPI) -> None:
    alice = client_with_key(app, key_for("alice"))
    response = upload(alice, "big.csv", b"a,b\n" + b"1,2\n" * 60_000)
    assert response.status_code == 413
    assert response.json()["detail"] == "the file is larger than 200,000 bytes (this server's limit, or your quota)"
    assert get_store().count_files() == 0


def test_quotas_on_count_and_bytes(app: FastAPI) -> None:
    alice = client_with_key(app, key_for("alice"))
    for i in range(5):
        assert upload(alice, f"t{i}.csv", files.thermometer_csv() + f"{i},{i}\n".encode()).status_code == 201
    refused = upload(alice, "t5.csv", files.thermometer_csv() + b"5,5\n")
    assert refused.status_code == 429
    assert refused.json()["detail"].startswith("you keep 5 datasets, the most this server allows")
    bob = client_with_key(app, key_for("bob"))
    body = b"a,b\n" + b"".join(f"{i % 10},{i % 7}\n".encode() for i in range(45_000))  # 180 kB: two fit in 400 kB
    assert upload(bob, "1.csv", body).status_code == 201
    assert upload(bob, "2.csv", body + b"3,4\n").status_code == 201
    third = upload(bob, "3.csv", body + b"5,6\n")
    assert third.status_code == 413 and "your quota" in third.json()["detail"]


def problem(response: Any) -> str:
    return str(response.json()["detail"])
