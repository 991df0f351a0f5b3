"""`artistry bench modes` end to end: the command, its report and its merged JSON."""

from __future__ import annotations

import json

from artistry.bench import modes_2d


def test_cli_bench_modes_writes_and_merges_the_report(tmp_path, monkeypatch, capsys):
    from artistry.cli.main import app

    monkeypatch.setattr(modes_2d, "TOY_G", [8] * 4)
    monkeypatch.setattr(modes_2d, "TOY_D", [8] * 3)
    monkeypatch.setattr(modes_2d, "TOY_EVAL", 100)
    out = tmp_path / "modes.md"
    assert app(["bench", "modes", "--recipes", "bce", "--trials", "1", "--steps", "2", "--out", str(out)]) == 0
    assert app(["bench", "modes", "--recipes", "wgan", "--trials", "1", "--steps", "1", "--out", str(out)]) == 0
    data = json.loads(out.with_suffix(".json").read_text())
    assert {"bce", "wgan"} <= set(data) and data["bce"]["ring"]["trials"] == 1
    assert [r["suite"] for r in data["_runs"]] == ["2d", "2d"]  # both invocations are recorded
    assert data["_runs"][0]["command"].startswith("artistry bench modes --suite 2d --recipes bce --trials 1")
    assert "--workers" not in data["_runs"][0]["command"]  # defaults are left out
    text = out.read_text()
    assert "ours: bce" in text and "ours: wgan" in text and "artistry bench modes" in text
    assert "GAN (VEEGAN paper)" in capsys.readouterr().out
    assert app(["bench", "modes", "--trials", "0"]) == 1
    assert app(["bench", "modes", "--stacked-curve", "-1"]) == 1
    assert app(["bench", "modes", "--suite", "stacked", "--trials", "2"]) == 1  # that flag is the 2-D suite's
    assert "--stacked-trials" in capsys.readouterr().err
