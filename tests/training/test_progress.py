import io

import artistry
from artistry.training.callbacks import ProgressBar
from artistry.training.callbacks.progress import format_duration


def test_progress_line_shows_rate_eta_and_losses(tiny_config):
    stream = io.StringIO()
    tiny_config.train.steps = 6
    tiny_config.train.augment, tiny_config.train.ada_target = "translation", 0.6  # more log keys (aug_p, rt)
    artistry.train(tiny_config, progress=False, callbacks=[ProgressBar(stream=stream, log_seconds=0.0)])
    lines = [x for x in stream.getvalue().splitlines() if x.strip()]
    assert len(lines) >= 6  # one per step when not a terminal and log_seconds=0
    mid = lines[2]
    assert "img/s" in mid and "ETA" in mid and "loss_D" in mid and "loss_G" in mid and "%" in mid  # losses first
    assert lines[-1].startswith("100%")


def test_format_duration():
    assert format_duration(5) == "0:05"
    assert format_duration(3725) == "1:02:05"
