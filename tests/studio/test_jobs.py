"""Training jobs started from the studio: real `artistry train` processes, stop, resume, queue,
and a process killed with -9."""

from __future__ import annotations

import json
import os
import signal
import time

import pytest

TINY = "--ngf 8 --ndf 8 --nz 16 --batch 8 --precision fp32 --n-samples 4 --checkpoint-every 100000000 --sample-every 80"


def form(name, steps=100000, **extra):
    return {
        "root": 0,
        "path": "paintings",
        "recipe": "classic",
        "size": 32,
        "budget": steps,
        "budget_kind": "steps",
        "extra": TINY,
        "name": name,
        **extra,
    }


def wait_for(what, check, timeout=90):
    deadline = time.time() + timeout
    while True:
        value = check()
        if value:
            return value
        assert time.time() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


@pytest.fixture
def jobs_site(site):
    yield site
    for job in site.studio.jobs.jobs():  # leave no training behind
        info_path = site.studio.jobs.dir / f"{job.id}.run.json"
        info = json.loads(info_path.read_text()) if info_path.exists() else {}
        for pid in (info.get("pid"), info.get("runner_pid")):
            if pid:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass


def metrics_lines(site, run):
    path = site.root / "runs" / run / "metrics.jsonl"
    return path.read_text().count("\n") if path.exists() else 0


def job_state(site, job_id):
    site.studio.jobs.tick()
    return site.get(f"/api/jobs/{job_id}").json()


def test_dry_run_shows_the_resolved_config_and_refuses_bad_forms(jobs_site):
    site = jobs_site
    r = site.post("/api/dry-run", json=form("preview"))
    assert r.status_code == 200
    cfg = r.json()["config"]
    assert cfg["data"]["size"] == 32 and cfg["model"]["ngf"] == 8 and cfg["train"]["steps"] == 100000
    assert cfg["train"]["runs_dir"] == str(site.root / "runs") and cfg["train"]["recipe"] == "classic"
    assert cfg["optim"]["lr_g"] == 0.0002  # filled in by resolve(), as --dry-run shows it
    bad = [
        (form("x", extra="--ngf eight"), "--ngf"),
        (form("x", extra="--bogus 1"), "bogus"),
        (form("x", extra="--runs-dir /tmp"), "--runs-dir"),
        ({**form("x"), "path": "../.."}, "data folder"),
        ({**form("x"), "path": "nope"}, "data folder"),
        ({**form("x"), "size": 48}, "size"),
        ({**form("x"), "recipe": "magic"}, "recipe"),
        ({**form("x"), "budget": -1}, "budget"),
    ]
    for body, word in bad:
        r = site.post("/api/dry-run", json=body)
        assert r.status_code == 400 and word in r.json()["error"], (body, r.text)
        assert site.post("/api/jobs", json=body).status_code == 400
    assert site.studio.jobs.jobs() == []  # nothing was queued


def test_start_stop_resume_through_the_api(jobs_site):
    site = jobs_site
    r = site.post("/api/jobs", json=form("api"))
    assert r.status_code == 201
    job_id = r.json()["job"]["id"]
    run = wait_for("the run folder", lambda: job_state(site, job_id)["run"])
    assert run.endswith("-api")
    wait_for("training progress", lambda: metrics_lines(site, run) >= 2)
    assert site.get(f"/api/runs/{run}/state").json()["status"] == "training"
    assert site.post(f"/api/runs/{run}/resume", json={}).status_code == 409  # already training
    assert site.post(f"/api/runs/{run}/stop", json={}).status_code == 200
    wait_for("a clean stop", lambda: job_state(site, job_id)["state"] == "stopped")
    st = site.get(f"/api/runs/{run}/state").json()
    assert st["status"] == "stopped" and st["can_resume"] and not st["can_stop"]
    assert "$ artistry train" in st["log"] and "stopping after this step" in st["log"]
    assert site.post(f"/api/runs/{run}/stop", json={}).status_code == 409  # nothing to stop
    step = st["progress"]["step"]
    assert step > 0
    r = site.post(f"/api/runs/{run}/resume", json={"budget": step + 5, "budget_kind": "steps"})
    assert r.status_code == 201
    resumed = r.json()["job"]["id"]
    wait_for("the resumed run to finish", lambda: job_state(site, resumed)["state"] == "finished")
    st = site.get(f"/api/runs/{run}/state").json()
    assert st["status"] == "finished" and st["progress"]["step"] == step + 5
    assert st["budget"] == f"{step + 5} steps" and st["progress"]["fraction"] == 1.0  # the resume's budget
    log = (site.root / "runs" / run / "train.log").read_text()
    assert log.count("$ artistry train") == 2 and f"--resume {site.root / 'runs' / run}" in log
    assert site.post(f"/api/runs/{run}/resume", json={"budget": "lots"}).status_code == 400


def test_queue_runs_one_at_a_time_and_a_killed_training_shows_as_failed(jobs_site):
    site = jobs_site
    a = site.post("/api/jobs", json=form("first")).json()["job"]["id"]
    b = site.post("/api/jobs", json=form("second")).json()["job"]["id"]
    run_a = wait_for("the first run folder", lambda: job_state(site, a)["run"])
    assert job_state(site, b)["state"] == "queued"  # waits while the first trains
    assert "second" in site.get("/").text  # shown in the waiting list
    wait_for("training progress", lambda: metrics_lines(site, run_a) >= 2)
    assert job_state(site, b)["state"] == "queued"
    info = json.loads((site.studio.jobs.dir / f"{a}.run.json").read_text())
    os.kill(info["runner_pid"], signal.SIGKILL)  # the whole job dies at once: nobody records an exit code
    os.kill(info["pid"], signal.SIGKILL)
    wait_for(
        "the killed run to show as failed", lambda: site.get(f"/api/runs/{run_a}/state").json()["status"] == "failed"
    )
    assert job_state(site, a)["exit_code"] is None
    run_b = wait_for("the queued run to start", lambda: job_state(site, b)["run"])
    assert job_state(site, b)["state"] == "training"
    assert site.post(f"/api/runs/{run_b}/stop", json={}).status_code == 200
    wait_for("the second run to stop", lambda: job_state(site, b)["state"] == "stopped")


def test_stop_cancels_a_queued_job(jobs_site):
    site = jobs_site
    jobs = site.studio.jobs
    jobs.parallel = 0  # nothing may start: the job stays queued
    job = jobs.submit("resume", ["--resume", str(site.root / "runs" / "00000-tiny")], "00000-tiny", "00000-tiny")
    assert site.get("/api/runs/00000-tiny/state").json()["status"] == "queued"
    assert site.post("/api/runs/00000-tiny/stop", json={}).status_code == 200
    assert jobs.get(job.id).state == "cancelled"
    assert site.get("/api/runs/00000-tiny/state").json()["status"] == "stopped"
    assert site.get("/api/jobs").json()[0]["state"] == "cancelled"
    assert site.get("/api/jobs/nonsense").status_code == 404


def test_a_training_that_cannot_start_says_why(jobs_site):
    site = jobs_site
    few = site.root / "data" / "few"
    few.mkdir()
    for name in ("x.png", "y.png"):
        (few / name).write_bytes((site.root / "data" / "paintings" / "a" / "img000.png").read_bytes())
    job_id = site.post("/api/jobs", json={**form("few"), "path": "few"}).json()["job"]["id"]
    job = wait_for("the job to fail", lambda: (j := job_state(site, job_id))["state"] == "failed" and j)
    assert job["run"] is None and job["exit_code"] == 1
    assert "artistry train: error:" in job["log"] and "2 usable image(s)" in job["log"]  # the CLI's message
    assert "Traceback" not in job["log"]
