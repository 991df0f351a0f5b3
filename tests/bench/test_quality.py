"""`artistry bench quality` end to end on tiny data with a stand-in for Inception."""

from __future__ import annotations

import json
from pathlib import Path

from artistry.cli.main import app
from helpers import write_image_folder


def test_quality_bench_trains_each_recipe_per_budget_and_writes_table_and_grids(
    tmp_path, stub_inception, monkeypatch, capsys
):
    monkeypatch.setenv("ARTISTRY_CACHE", str(tmp_path / "cache"))
    folder = write_image_folder(tmp_path / "images", n=130)  # classic's batch is 128
    out = tmp_path / "quality.md"
    assert (
        app(
            [
                "bench",
                "quality",
                "--data",
                str(folder),
                "--minutes",
                "0.02,0.01",
                "--n",
                "16",
                "--size",
                "32",
                "--runs-dir",
                str(tmp_path / "runs"),
                "--grids",
                str(tmp_path / "docs"),
                "--out",
                str(out),
            ]
        )
        == 0
    )
    results = json.loads(out.with_suffix(".json").read_text())
    rows = results["rows"]
    assert [(r["recipe"], r["minutes"]) for r in rows] == [
        ("classic", 0.02),
        ("best", 0.02),
        ("classic", 0.01),
        ("best", 0.01),
    ]
    assert all(r["images_seen"] > 0 and r["fid"] > 0 for r in rows)
    table = out.read_text()
    assert "FID(best) / FID(classic)" in table and "0.02 min" in table
    assert "Machine: " in table and ("native bf16" in results["machine"])  # "no native bf16" too
    assert all(0.0 <= r["memorized"] <= 1.0 for r in rows)
    assert table.count("%") >= len(rows)  # the near-copies column
    assert (tmp_path / "docs" / "quality_0.02min.png").is_file()
    assert (tmp_path / "docs" / "quality_0.01min.png").is_file()


def test_quality_bench_runs_ablation_variants_with_their_settings(tmp_path, stub_inception, monkeypatch):
    monkeypatch.setenv("ARTISTRY_CACHE", str(tmp_path / "cache"))
    folder = write_image_folder(tmp_path / "images", n=70)  # best's batch is 64
    out = tmp_path / "ablation.md"
    assert (
        app(
            [
                "bench",
                "quality",
                "--data",
                str(folder),
                "--minutes",
                "0.01",
                "--n",
                "16",
                "--size",
                "32",
                "--compare",
                "best,best[mbstd=false,upsample=transpose]",
                "--runs-dir",
                str(tmp_path / "runs"),
                "--grids",
                str(tmp_path / "docs"),
                "--out",
                str(out),
            ]
        )
        == 0
    )
    rows = json.loads(out.with_suffix(".json").read_text())["rows"]
    assert [r["recipe"] for r in rows] == ["best", "best[mbstd=false,upsample=transpose]"]
    configs = [json.loads((Path(r["run"]) / "config.json").read_text()) for r in rows]
    assert [(c["model"]["mbstd"], c["model"]["upsample"]) for c in configs] == [(True, "resize"), (False, "transpose")]
    assert "| best[mbstd=false,upsample=transpose] | 0.01 |" in out.read_text()


def test_quality_bench_bad_flags_name_the_flag(image_folder, capsys):
    assert app(["bench", "quality", "--data", str(image_folder), "--minutes", "ten"]) == 1
    assert "--minutes" in capsys.readouterr().err
    assert app(["bench", "quality", "--data", str(image_folder), "--compare", "classic,grand"]) == 1
    assert "--compare: unknown recipe 'grand'" in capsys.readouterr().err
    assert app(["bench", "quality", "--data", str(image_folder), "--compare", ","]) == 1
    assert "--compare" in capsys.readouterr().err
    assert app(["bench", "quality", "--data", str(image_folder), "--compare", "best[mbstd=often]"]) == 1
    assert "--compare: mbstd must be true or false" in capsys.readouterr().err
    assert app(["bench", "quality", "--data", str(image_folder), "--compare", "best[upsample=wide]"]) == 1
    assert "--upsample" in capsys.readouterr().err
    assert app(["bench", "quality", "--data", str(image_folder), "--size", "48"]) == 1
    assert "--size" in capsys.readouterr().err


def test_quality_bench_compares_best_and_hires_at_128px(tmp_path, stub_inception, monkeypatch):
    monkeypatch.setenv("ARTISTRY_CACHE", str(tmp_path / "cache"))
    folder = write_image_folder(tmp_path / "images", n=16)
    out = tmp_path / "hires.md"
    compare = "best[ngf=4,ndf=4,batch=8,precision=fp32],hires[ngf=4,ndf=4,nz=16,precision=fp32]"
    assert (
        app(
            [
                "bench",
                "quality",
                "--data",
                str(folder),
                "--minutes",
                "0.01",
                "--n",
                "16",
                "--size",
                "128",
                "--compare",
                compare,
                "--runs-dir",
                str(tmp_path / "runs"),
                "--grids",
                str(tmp_path / "docs"),
                "--out",
                str(out),
            ]
        )
        == 0
    )
    rows = json.loads(out.with_suffix(".json").read_text())["rows"]
    configs = [json.loads((Path(r["run"]) / "config.json").read_text()) for r in rows]
    assert [(c["model"]["model"], c["data"]["size"]) for c in configs] == [("dcgan", 128), ("fastgan", 128)]
    assert all(r["images_seen"] > 0 and r["fid"] > 0 for r in rows)
    assert (
        "FID(hires[ngf=4,ndf=4,nz=16,precision=fp32]) / FID(best[ngf=4,ndf=4,batch=8,precision=fp32])"
        in out.read_text()
    )
    assert (tmp_path / "docs" / "quality_0.01min.png").is_file()


def test_the_machine_line_names_the_cpu_flags_that_decide_speed(monkeypatch):
    from artistry.bench import machine

    monkeypatch.setattr(machine, "_cpuinfo", lambda: ("Some CPU", {"avx2", "avx512_bf16", "sse2"}))
    line = machine.describe_machine()
    assert line.startswith("Some CPU, ") and "flags avx2 avx512_bf16," in line and "sse2" not in line
    monkeypatch.setattr(machine, "_cpuinfo", lambda: ("Old CPU", {"sse2"}))
    assert "flags none of avx2/avx512f/avx512_bf16/amx_bf16," in machine.describe_machine()
