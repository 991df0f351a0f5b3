from artistry.bench.speed import run_speed
from artistry.cli.main import app


def test_speed_benchmark_reports_both_loops_and_their_ratio():
    lines = []
    r = run_speed("fp32", batch=2, steps=1, rounds=2, log=lines.append)
    assert r["reference_img_s"] > 0 and r["artistry_img_s"] > 0
    assert abs(r["ratio"] - r["artistry_img_s"] / r["reference_img_s"]) < 0.5 * r["ratio"]
    assert r["precision"] == "fp32" and len(lines) == 3 and "ratio" in lines[-1]


def test_bench_speed_cli_rejects_zero_rounds(capsys):
    assert app(["bench", "speed", "--rounds", "0"]) == 1
    assert "--rounds" in capsys.readouterr().err
