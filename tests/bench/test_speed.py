from artistry.bench import speed
from artistry.bench.speed import run_speed
from artistry.cli.main import app


def test_speed_ratio_is_the_median_of_per_round_ratios(monkeypatch):
    """Rounds alternate the two loops so a busy spell slows both alike; the ratio is taken per
    round, then the median. The ratio of the medians would mix rounds (0.75 here, not 1.5), and
    swapping the loops would give the inverse. Timings are scripted: no test depends on speed."""
    rates = iter([100.0, 150.0, 200.0, 100.0, 300.0, 600.0])  # (reference, artistry) per round
    timed = []

    def scripted(fn, steps, batch, runtime):
        fn()  # each loop really takes its step
        timed.append(fn)
        return next(rates)

    monkeypatch.setattr(speed, "_time", scripted)
    lines = []
    r = run_speed("fp32", batch=2, steps=1, rounds=3, log=lines.append)
    assert (r["reference_img_s"], r["artistry_img_s"], r["ratio"]) == (200.0, 150.0, 1.5)
    assert r["precision"] == "fp32" and len(lines) == 4
    assert [line.rsplit("ratio ", 1)[1] for line in lines[:3]] == ["1.50x", "0.50x", "2.00x"]
    assert "ratio 1.50x" in lines[-1] and len(set(timed)) == 2


def test_bench_speed_cli_rejects_zero_rounds(capsys):
    assert app(["bench", "speed", "--rounds", "0"]) == 1
    assert "--rounds" in capsys.readouterr().err
