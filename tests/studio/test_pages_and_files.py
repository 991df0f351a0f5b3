"""Studio pages, run data and the file-serving refusals, through a test client (no browser)."""

from __future__ import annotations

import json
import os
from urllib.parse import unquote

import anyio
import pytest


def raw_get(app, raw_path: str, headers=None):
    """GET exactly `raw_path` the way uvicorn passes it on (path = percent-decoded once),
    without a client that would tidy `..` away first. Returns (status, body)."""
    path, _, query = raw_path.partition("?")
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": unquote(path),
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": [(b"host", b"127.0.0.1")] + (headers or []),
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
    }
    out = {"status": None, "body": b""}

    sent = []

    async def receive():
        if sent:  # the body was delivered; the client then just waits (no disconnect)
            await anyio.sleep_forever()
        sent.append(1)
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        if message["type"] == "http.response.start":
            out["status"] = message["status"]
        elif message["type"] == "http.response.body":
            out["body"] += message.get("body", b"")

    anyio.run(app, scope, receive, send)
    return out["status"], out["body"]


def test_runs_page_lists_the_run_with_status_images_and_thumbnail(site):
    r = site.get("/")
    assert r.status_code == 200
    assert "00000-tiny" in r.text and "dcgan/bce" in r.text
    assert 'class="badge finished"' in r.text  # 4 of 4 steps
    assert "/files/runs/00000-tiny/samples/" in r.text
    assert "32 images" in r.text  # 4 steps x batch 8
    assert site.get("/?q=nothing-like-this").text.count('class="card run"') == 0
    assert site.get("/?status=failed").text.count('class="card run"') == 0
    assert site.get("/?status=finished&sort=fid&q=tiny").text.count('class="card run"') == 1


def test_runs_api_and_run_pages(site):
    runs = site.get("/api/runs").json()
    assert [r["name"] for r in runs] == ["00000-tiny"]
    assert runs[0]["status"] == "finished" and runs[0]["images_seen"] == 32
    for url in ("/runs/00000-tiny", "/runs/00000-tiny/explore", "/new", "/compare", "/compare?run=00000-tiny"):
        r = site.get(url)
        assert r.status_code == 200, url
        assert "http://" not in r.text.replace("http://www.w3.org", ""), f"{url} links outside the studio"
    assert "Content-Security-Policy" in site.get("/").headers


def test_run_state_metrics_and_events(site):
    st = site.get("/api/runs/00000-tiny/state").json()
    assert st["status"] == "finished" and st["progress"]["fraction"] == 1.0
    assert st["progress"]["images_seen"] == 32 and st["samples"] and st["can_resume"] and st["can_generate"]
    m = site.get("/api/runs/00000-tiny/metrics").json()
    assert m["records"] and any("loss_D" in r and "loss_G" in r for r in m["records"])
    again = site.get(f"/api/runs/00000-tiny/metrics?offset={m['offset']}").json()
    assert again["records"] == [] and again["offset"] == m["offset"]
    assert site.get("/api/runs/00000-tiny/metrics?offset=-1").status_code == 400
    r = site.get("/api/runs/00000-tiny/events?once=1")
    assert r.headers["content-type"].startswith("text/event-stream")
    events = [block for block in r.text.split("\n\n") if block.strip()]
    kinds = [b.split("\n")[0] for b in events]
    assert kinds == ["event: metrics", "event: state"]
    assert json.loads(events[1].split("data: ", 1)[1])["status"] == "finished"


def test_unknown_runs_are_404(site):
    for url in ("/runs/00099-nope", "/runs/not-a-run", "/api/runs/00099-nope/state", "/api/runs/..%2F..%2Fetc/state"):
        assert site.get(url).status_code == 404, url


def test_serves_files_inside_the_runs_folder(site):
    r = site.get("/files/runs/00000-tiny/config.json")
    assert r.status_code == 200 and r.json()["data"]["size"] == 32
    png = site.get(f"/files/runs/{site.get('/api/runs').json()[0]['thumb']}")
    assert png.status_code == 200 and png.content[:4] == b"\x89PNG"


@pytest.mark.parametrize(
    "path",
    [
        "/files/runs/../data/paintings/a/img000.png",  # .. out of the runs folder
        "/files/runs/00000-tiny/../../site/runs/00000-tiny/config.json",
        "/files/runs/%2e%2e/data/paintings/a/img000.png",  # URL-encoded ..
        "/files/runs/%2E%2E%2Fdata%2Fpaintings/a/img000.png",
        "/files/runs/%252e%252e/data/paintings/a/img000.png",  # double-encoded
        "/files/runs//etc/passwd",  # absolute
        "/files/runs/%2Fetc%2Fpasswd",
        "/files/runs/00000-tiny/..%5c..%5cdata",  # backslashes
        "/files/runs/.studio/jobs",  # hidden folders
        "/files/runs/00000-tiny/%00config.json",  # NUL
        "/files/data/0/../runs/00000-tiny/config.json",
        "/files/data/0/%2e%2e/runs/00000-tiny/config.json",
        "/files/data/7/paintings/a/img000.png",  # no such root
    ],
)
def test_refuses_paths_that_leave_the_allowed_folders(site, path):
    status, body = raw_get(site.app, path)
    assert status == 404, (path, status, body[:200])


def test_refuses_symlinks_that_lead_outside(site, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("private")
    (site.root / "runs" / "00000-tiny" / "leak.txt").symlink_to(secret)
    (site.root / "runs" / "00000-tiny" / "leakdir").symlink_to(tmp_path)
    (site.root / "data" / "out.png").symlink_to(secret)
    for path in (
        "/files/runs/00000-tiny/leak.txt",
        "/files/runs/00000-tiny/leakdir/secret.txt",
        "/files/data/0/out.png",
    ):
        status, body = raw_get(site.app, path)
        assert status == 403 and b"private" not in body, path
    # a symlink that stays inside is fine
    (site.root / "runs" / "00000-tiny" / "cfg-link.json").symlink_to(site.root / "runs" / "00000-tiny" / "config.json")
    assert raw_get(site.app, "/files/runs/00000-tiny/cfg-link.json")[0] == 200


def test_data_files_are_images_only(site):
    (site.root / "data" / "notes.txt").write_text("hello")
    assert raw_get(site.app, "/files/data/0/notes.txt")[0] == 403
    status, body = raw_get(site.app, "/files/data/0/paintings/a/img000.png")
    assert status == 200 and body[:4] == b"\x89PNG"


def test_folder_picker_stays_under_the_roots(site, tmp_path):
    top = site.get("/api/folders?root=0&path=").json()
    assert top["folders"] == ["paintings"] and top["parent"] is None
    sub = site.get("/api/folders?root=0&path=paintings/a").json()
    assert sub["images"] == 12 and sub["parent"] == "paintings" and len(sub["preview"]) == 8
    assert site.get("/api/folders?root=0&path=..").status_code == 404
    assert site.get("/api/folders?root=0&path=%2Fetc").status_code == 404
    assert site.get("/api/folders?root=1&path=").status_code == 400
    (site.root / "data" / "escape").symlink_to(tmp_path)
    assert site.get("/api/folders?root=0&path=escape").status_code == 403


def test_compare_page_shows_grids_and_metrics(site):
    import shutil

    runs = site.root / "runs"
    shutil.copytree(runs / "00000-tiny", runs / "00001-other")
    (runs / "00001-other" / "eval").mkdir(exist_ok=True)
    (runs / "00001-other" / "eval" / "4.json").write_text(
        json.dumps({"fid": 123.4, "kid": {"mean": 0.05}, "precision": 0.5, "recall": 0.25, "n_generated": 10})
    )
    r = site.get("/compare?run=00000-tiny&run=00001-other")
    assert r.status_code == 200
    assert "123.40" in r.text and "0.0500" in r.text and "not evaluated" in r.text
    data = r.text.split("data-runs='")[1].split("'")[0]
    chosen = json.loads(data.replace("&#34;", '"').replace("&#39;", "'").replace("&amp;", "&"))
    assert [c["name"] for c in chosen] == ["00000-tiny", "00001-other"]
    assert all(c["samples"] for c in chosen)
    assert site.get("/compare?run=../x").status_code == 404
    listed = site.get("/?sort=fid").text
    assert listed.index("00001-other") < listed.index("00000-tiny")  # evaluated runs first


def test_runs_listing_does_not_depend_on_cwd(site, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert site.get("/api/runs").json()[0]["name"] == "00000-tiny"
    assert os.getcwd() == str(tmp_path)
