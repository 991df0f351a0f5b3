"""Explore routes (generate, ZIP, walk, keep, post-processing) and the request guards."""

from __future__ import annotations

import io
import socket
import threading
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from PIL import Image

import artistry


def pixels(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)))


def test_generate_returns_the_library_images_and_a_zip(site):
    r = site.post("/api/runs/00000-tiny/generate", json={"seed": 5, "n": 8})
    assert r.status_code == 200
    images = r.json()["images"]
    assert [im["seed"] for im in images] == list(range(5, 13))
    expected = artistry.load(site.root / "runs" / "00000-tiny").generate(8, seed=5)  # uint8 [8, 3, 32, 32]
    first = pixels(site.get(images[0]["url"]).content)
    assert first.shape == (32, 32, 3) and np.array_equal(first, expected[0].transpose(1, 2, 0))
    z = zipfile.ZipFile(io.BytesIO(site.get(r.json()["zip"]).content))
    names = z.namelist()
    assert len(names) == 8 and names[0] == "00000-tiny-seed000005.png"
    assert np.array_equal(pixels(z.read(names[7])), expected[7].transpose(1, 2, 0))


def test_post_processing_before_and_after(site):
    r = site.post("/api/runs/00000-tiny/generate", json={"seed": 0, "n": 2, "post": "upscale:2,bw"}).json()
    after = pixels(site.get(r["images"][0]["post_url"]).content)
    before = pixels(site.get(r["images"][0]["url"]).content)
    assert before.shape == (32, 32, 3) and after.shape == (64, 64, 3)
    from artistry.postprocess import Pipeline

    expected = Pipeline([("upscale", 2), ("bw", None)])(artistry.load(site.root / "runs" / "00000-tiny").generate(1, 0))
    assert np.array_equal(after, expected[0].transpose(1, 2, 0)) and set(np.unique(after)) <= {0, 255}
    contour = pixels(site.get("/api/runs/00000-tiny/image.png?seed=0&post=contour").content)
    assert set(np.unique(contour)) <= {0, 255}
    assert "dae" in site.get("/api/runs/00000-tiny/image.png?seed=0&post=denoise:00000-tiny").json()["error"]


def test_denoise_with_a_dae_run(site, make_cfg):
    cfg = make_cfg(site.root / "data" / "paintings", site.root, steps=2)
    cfg.model.model, cfg.train.name = "dae", "dae"
    dae = artistry.train(cfg, progress=False)
    assert dae.name == "00001-dae"
    assert "00001-dae" in site.get("/runs/00000-tiny/explore").text  # offered as a denoiser
    r = site.get("/api/runs/00000-tiny/image.png?seed=2&post=denoise:00001-dae,bw")
    assert r.status_code == 200
    raw = artistry.load(site.root / "runs" / "00000-tiny").generate(1, seed=2)
    from artistry.postprocess import to_bw

    expected = to_bw(artistry.load(dae).denoise(raw))[0].transpose(1, 2, 0)
    assert np.array_equal(pixels(r.content), expected)
    assert site.post("/api/runs/00001-dae/generate", json={"n": 2}).status_code == 400  # a dae cannot sample
    assert not site.get("/api/runs/00001-dae/state").json()["can_generate"]


def test_latent_walk_frames_start_and_end_at_the_seeds(site):
    loaded = artistry.load(site.root / "runs" / "00000-tiny")
    a, b = loaded.generate(1, seed=3)[0], loaded.generate(1, seed=9)[0]
    first = pixels(site.get("/api/runs/00000-tiny/walk.png?a=3&b=9&frames=5&i=0").content)
    last = pixels(site.get("/api/runs/00000-tiny/walk.png?a=3&b=9&frames=5&i=4").content)
    mid = pixels(site.get("/api/runs/00000-tiny/walk.png?a=3&b=9&frames=5&i=2").content)
    assert np.abs(first.astype(int) - a.transpose(1, 2, 0)).max() <= 1
    assert np.abs(last.astype(int) - b.transpose(1, 2, 0)).max() <= 1
    assert not np.array_equal(mid, first) and not np.array_equal(mid, last)


def test_keep_saves_into_the_run(site):
    r = site.post("/api/runs/00000-tiny/keep", json={"seed": 4, "post": "bw"})
    assert r.status_code == 201
    kept = site.root / "runs" / r.json()["kept"]
    assert kept.is_file() and kept.parent.name == "kept"
    assert site.get("/api/runs/00000-tiny/kept").json()[0]["path"] == r.json()["kept"]
    assert site.get(r.json()["url"]).content == kept.read_bytes()
    assert "seed000004-bw.png" in site.get("/runs/00000-tiny/explore").text


@pytest.mark.parametrize(
    "method,url,body",
    [
        ("post", "/api/runs/00000-tiny/generate", {"seed": 0, "n": 65}),
        ("post", "/api/runs/00000-tiny/generate", {"seed": 0, "n": 0}),
        ("post", "/api/runs/00000-tiny/generate", {"seed": -1, "n": 2}),
        ("post", "/api/runs/00000-tiny/generate", {"seed": "x", "n": 2}),
        ("post", "/api/runs/00000-tiny/generate", {"seed": 0, "n": 2, "post": "upscale:8"}),
        ("post", "/api/runs/00000-tiny/generate", {"seed": 0, "n": 2, "post": "sharpen"}),
        ("post", "/api/runs/00000-tiny/generate", {"seed": 0, "n": 2, "post": "denoise:../../x"}),
        ("get", "/api/runs/00000-tiny/images.zip?seed=0&n=1000", None),
        ("get", "/api/runs/00000-tiny/walk.png?a=0&b=1&frames=65&i=0", None),
        ("get", "/api/runs/00000-tiny/walk.png?a=0&b=1&frames=4&i=4", None),
        ("get", "/api/runs/00000-tiny/image.png?seed=99999999999", None),
    ],
)
def test_bounds_are_enforced(site, method, url, body):
    r = site.post(url, json=body) if method == "post" else site.get(url)
    assert r.status_code == 400 and r.json()["error"], r.text


def test_requests_must_be_json_and_small(site):
    assert (
        site.post(
            "/api/runs/00000-tiny/generate",
            content=b"seed=1",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        ).status_code
        == 415
    )
    assert (
        site.post(
            "/api/runs/00000-tiny/generate", content=b"{not json", headers={"Content-Type": "application/json"}
        ).status_code
        == 400
    )
    big = b'{"seed": 0, "pad": "' + b"x" * 100_000 + b'"}'
    assert (
        site.post(
            "/api/runs/00000-tiny/generate", content=big, headers={"Content-Type": "application/json"}
        ).status_code
        == 413
    )

    def chunks():  # no Content-Length: the size is counted as the body arrives
        yield b'{"pad": "'
        for _ in range(20):
            yield b"x" * 10_000
        yield b'"}'

    r = site.post("/api/runs/00000-tiny/generate", content=chunks(), headers={"Content-Type": "application/json"})
    assert r.status_code == 413


def test_foreign_hosts_and_origins_are_refused(site):
    assert site.get("/", headers={"Host": "evil.example:7860"}).status_code == 403  # DNS rebinding
    assert site.get("/", headers={"Host": "localhost:7860"}).status_code == 200
    r = site.post("/api/runs/00000-tiny/keep", json={"seed": 1}, headers={"Origin": "http://evil.example"})
    assert r.status_code == 403
    r = site.post("/api/runs/00000-tiny/keep", json={"seed": 1}, headers={"Origin": "http://127.0.0.1"})
    assert r.status_code == 201


def test_token_is_needed_on_every_request(trained, tmp_path):
    from starlette.testclient import TestClient

    from artistry.studio.server import create_app

    app = create_app(trained / "runs", [trained / "data"], token="s3cret-token", loopback=False, background=False)
    with TestClient(app, base_url="http://192.168.1.20:7860") as c:
        for url in (
            "/",
            "/api/runs",
            "/static/studio.css",
            "/files/runs/00000-tiny/config.json",
            "/api/runs/00000-tiny/events?once=1",
        ):
            assert c.get(url).status_code == 401, url
        assert c.get("/", headers={"X-Artistry-Token": "wrong"}).status_code == 401
        assert c.get("/?token=wrong").status_code == 401
        assert c.get("/api/runs", headers={"Authorization": "Bearer s3cret-token"}).status_code == 200
        assert c.get("/api/runs", headers={"X-Artistry-Token": "s3cret-token"}).status_code == 200
        r = c.get("/runs/00000-tiny?token=s3cret-token", follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/runs/00000-tiny"  # token leaves the URL
        assert "HttpOnly" in r.headers["set-cookie"]
        assert c.get("/runs/00000-tiny").status_code == 200  # the cookie carries it from now on


def test_studio_refuses_a_public_host_without_a_token(capsys):
    from artistry.cli.main import app

    assert app(["studio", "--host", "0.0.0.0", "--port", "7861"]) == 1
    assert "--token" in capsys.readouterr().err


@pytest.fixture
def live(site):
    """The same app served by uvicorn on a free port (a real server, real sockets)."""
    import uvicorn

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(site.app, log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.time() + 20
    while not server.started:
        assert time.time() < deadline
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}", port
    server.should_exit = True
    thread.join(10)


def test_fifty_concurrent_generate_requests_are_all_answered(live):
    import httpx

    url, _ = live

    def one(i):
        with httpx.Client(timeout=120) as c:
            r = c.post(f"{url}/api/runs/00000-tiny/generate", json={"seed": 10 * i, "n": 4})
            return r.status_code, r.json()["images"][0]["seed"]

    with ThreadPoolExecutor(50) as pool:
        results = list(pool.map(one, range(50)))
    assert results == [(200, 10 * i) for i in range(50)]


def test_raw_dot_dot_over_a_real_socket(live):
    _, port = live
    for raw in ("/files/runs/../data/paintings/a/img000.png", "/files/runs/%2e%2e/data/paintings/a/img000.png"):
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            s.sendall(f"GET {raw} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode())
            reply = b""
            while chunk := s.recv(65536):
                reply += chunk
        assert reply.split(b" ")[1] == b"404", (raw, reply[:200])
