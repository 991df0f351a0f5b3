import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest
import torch

from artistry.errors import CheckpointError
from artistry.io import checkpoint as ckpt


def test_round_trip_nested_state(tmp_path):
    opt = torch.optim.Adam([torch.nn.Parameter(torch.randn(3))], lr=1e-3, betas=(0.5, 0.9))
    opt.param_groups[0]["params"][0].grad = torch.ones(3)
    opt.step()
    tensors = {"w": torch.arange(6.0).reshape(2, 3)}
    packed = ckpt.pack_state_dict("optim", opt.state_dict(), tensors)
    ckpt.save_atomic(tmp_path / "c.safetensors", tensors, {"optim": packed, "step": 5})
    t2, meta = ckpt.load(tmp_path / "c.safetensors")
    assert meta["step"] == 5 and torch.equal(t2["w"], tensors["w"])
    sd = ckpt.unpack_state_dict(meta["optim"], t2)
    assert sd["param_groups"][0]["betas"] == (0.5, 0.9)
    torch.testing.assert_close(sd["state"][0]["exp_avg"], opt.state_dict()["state"][0]["exp_avg"])


def test_no_pickle_and_clear_errors(tmp_path):
    bad = tmp_path / "torn.safetensors"
    bad.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json")
    with pytest.raises(CheckpointError, match="torn.safetensors"):
        ckpt.load(bad)
    with pytest.raises(CheckpointError, match="not found"):
        ckpt.load(tmp_path / "missing.safetensors")
    from safetensors.torch import save_file

    save_file({"x": torch.zeros(1)}, tmp_path / "foreign.safetensors")
    with pytest.raises(CheckpointError, match="not an artistry checkpoint"):
        ckpt.load(tmp_path / "foreign.safetensors")
    save_file(
        {"x": torch.zeros(1)},
        tmp_path / "future.safetensors",
        metadata={"format": ckpt.FORMAT, "format_version": "99", "meta": "{}"},
    )
    with pytest.raises(CheckpointError, match="incompatible"):
        ckpt.load(tmp_path / "future.safetensors")


def test_prune_keeps_the_newest(tmp_path):
    for step in (1, 2, 3, 4):
        ckpt.save_atomic(tmp_path / ckpt.checkpoint_name(step), {"x": torch.zeros(1)}, {})
    (tmp_path / ".tmp-leftover.safetensors").write_bytes(b"junk")
    ckpt.prune(tmp_path, keep=2)
    assert [s for s, _ in ckpt.list_checkpoints(tmp_path)] == [3, 4]
    assert not list(tmp_path.glob(".tmp-*"))


def test_sigkill_during_writes_never_leaves_a_broken_checkpoint(tmp_path):
    """Kill a process that rewrites checkpoints in a loop at several moments; every file loads."""
    script = textwrap.dedent(f"""
        import torch, itertools
        from artistry.io import checkpoint as ckpt
        big = {{"w": torch.randn(1_000_000)}}
        ckpt.save_atomic(ckpt.Path(r"{tmp_path}") / ckpt.checkpoint_name(0), big, {{"step": 0}})
        print("ready", flush=True)
        for step in itertools.count(1):
            ckpt.save_atomic(ckpt.Path(r"{tmp_path}") / ckpt.checkpoint_name(step % 3), big, {{"step": step}})
            ckpt.prune(ckpt.Path(r"{tmp_path}"), 2)
    """)
    for delay in (0.05, 0.13, 0.31, 0.57):  # odd delays land at different points of a write
        proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
        assert proc.stdout.readline().strip() == "ready"
        time.sleep(delay)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        found = ckpt.list_checkpoints(tmp_path)
        for _, path in found:
            tensors, meta = ckpt.load(path)
            assert tensors["w"].shape == (1_000_000,)
        assert found
