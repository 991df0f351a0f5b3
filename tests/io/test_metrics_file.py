"""metrics.jsonl: whole lines in, torn lines skipped with a warning on the way out."""

from __future__ import annotations

import errno
import json
import os

import pytest

from artistry.io import metrics
from artistry.io.metrics import append_record, read_records


def test_each_record_is_one_write_of_a_complete_line(tmp_path, monkeypatch):
    """A record split over several writes could be torn by a crash between them."""
    writes = []
    real_write = os.write
    monkeypatch.setattr(metrics.os, "write", lambda fd, data: writes.append(data) or real_write(fd, data))
    path = tmp_path / "metrics.jsonl"
    append_record(path, {"step": 1, "loss": 0.5})
    append_record(path, {"step": 2, "loss": 0.25})
    assert writes == [b'{"step": 1, "loss": 0.5}\n', b'{"step": 2, "loss": 0.25}\n']
    assert read_records(path) == [{"step": 1, "loss": 0.5}, {"step": 2, "loss": 0.25}]


def test_a_short_write_is_taken_back_and_raised_as_enospc(tmp_path, monkeypatch):
    path = tmp_path / "metrics.jsonl"
    append_record(path, {"step": 1})
    before = path.read_bytes()
    real_write = os.write
    monkeypatch.setattr(metrics.os, "write", lambda fd, data: real_write(fd, data[:5]))  # the disk filled up
    with pytest.raises(OSError) as e:
        append_record(path, {"step": 2, "loss": 1.0})
    assert e.value.errno == errno.ENOSPC and e.value.filename == str(path)
    assert path.read_bytes() == before  # no fragment left behind


def test_a_failed_write_names_the_file(tmp_path, monkeypatch):
    def full(fd, data):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(metrics.os, "write", full)
    with pytest.raises(OSError, match="metrics.jsonl") as e:
        append_record(tmp_path / "metrics.jsonl", {"step": 1})
    assert e.value.errno == errno.ENOSPC


def test_torn_last_line_is_skipped_with_a_warning_and_the_next_record_starts_a_new_line(tmp_path, capsys):
    path = tmp_path / "metrics.jsonl"
    path.write_text('{"step": 1, "loss": 0.5}\n{"step": 2, "lo')  # a crash mid-line
    assert read_records(path) == [{"step": 1, "loss": 0.5}]
    err = capsys.readouterr().err
    assert "metrics.jsonl" in err and "line 2" in err
    append_record(path, {"step": 3})  # after resume: must not glue onto the fragment
    assert read_records(path) == [{"step": 1, "loss": 0.5}, {"step": 3}]
    assert path.read_text().splitlines()[-1] == '{"step": 3}'


def test_missing_file_reads_as_no_records(tmp_path):
    assert read_records(tmp_path / "nothing.jsonl") == []


def test_plots_survive_a_torn_metrics_file(tmp_path, capsys):
    """Before the shared reader, a torn line made losses.png and eval/metrics.png raise at every grid."""
    from artistry.training.callbacks.evaluate import plot_eval
    from artistry.training.callbacks.samples import plot_losses

    (tmp_path / "eval").mkdir()
    lines = [{"step": s, "images_seen": 8 * s, "elapsed": s, "loss_D": 1.0 / s} for s in (1, 2)]
    lines.append(
        {
            "step": 2,
            "images_seen": 16,
            "elapsed": 2,
            "eval": {"fid": 3.0, "kid": 0.1, "precision": 0.5, "recall": 0.5, "coverage": 0.5},
        }
    )
    text = "".join(json.dumps(r) + "\n" for r in lines) + '{"step": 3, "loss_D": 0.'
    (tmp_path / "metrics.jsonl").write_text(text)
    assert plot_losses(tmp_path) == tmp_path / "losses.png" and (tmp_path / "losses.png").stat().st_size > 0
    assert plot_eval(tmp_path) == tmp_path / "eval" / "metrics.png"
    assert "skipped 1 incomplete line" in capsys.readouterr().err
