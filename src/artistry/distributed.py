"""Many processes, one run: torchrun's environment, the process group, and what ranks agree on.

A run under `torchrun` (or `artistry train --gpus N`, which launches it) is one process per
GPU (or per CPU share with gloo). What makes N processes train like one:

- Every rank builds the same model from the same seed and keeps the same global RNG stream:
  training draws (latents, augmentation, GP interpolation, VAE noise) are drawn for the global
  batch on every rank and each rank keeps its rows (`rows`), so rank r's share is exactly the
  slice one process would have drawn, and a checkpoint's RNG state is valid at any world size.
- Each rank reads a disjoint slice of the same global batch (data/loader.py, `shard=`).
- After each phase's backward, the gradients of the network that phase steps are averaged over
  ranks in one flat all-reduce (`GradSync`), before the non-finite check, so every rank makes
  the same skip decision and the same update. This is what DistributedDataParallel does, done
  explicitly because a GAN step does not fit DDP's module wrapper: each phase calls D twice
  before one backward, the other network's parameters are frozen per phase, and the gradient
  penalty differentiates through `torch.autograd.grad`, which DDP does not support. (StyleGAN3's
  training loop averages gradients the same way for the same reasons.)
- Stop decisions (Ctrl-C/SIGTERM on any rank, the time budget as rank 0 measures it) and rank 0's
  training clock are exchanged every step on a small gloo group on the host (`Control`), so
  every rank stops on the same step and follows the same learning-rate schedule; on GPUs this
  costs no device sync, since NCCL carries only gradients.

Batch statistics across ranks (each rank sees global_batch / world images):

- minibatch std (StyleGAN): groups of 4 consecutive images, per rank as in StyleGAN's per-GPU
  groups; identical to one process whenever the per-rank batch is a multiple of 4.
- pack (PacGAN): consecutive images are packed, per rank; identical to one process (the per-rank
  batch must be a multiple of --pack).
- minibatch discrimination (Salimans et al.): each image is compared with its rank's images only.
- feature matching: the mean features of each rank's real and fake images; the per-rank objectives
  are averaged, which is not the objective of the global means.
- batch norm: per rank by default (DCGAN's statistics over the per-rank batch); `--sync-bn`
  normalises over the global batch (BigGAN's cross-replica batch norm), recommended when the
  per-rank batch is under ~16. Running statistics saved are rank 0's (identical with --sync-bn).
"""

from __future__ import annotations

import atexit
import datetime
import os
import sys
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn

from .errors import ConfigError

DEFAULT_TIMEOUT_S = 1800  # a rank waiting longer than this on the others gives up (ARTISTRY_DIST_TIMEOUT)


@dataclass(frozen=True)
class Shard:
    """This process's place in the run: `rank` of `world`, on GPU `local_rank` of its machine."""

    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def active(self) -> bool:
        return self.world > 1


_SHARD = Shard()  # set once by init(); one process per rank, so a module global is per rank
_CONTROL = None  # the gloo group for host-side agreement
_OWN_GROUP = False  # whether init() started the process group (and teardown() ends it)


def from_env() -> Shard:
    """The shard torchrun describes in RANK, WORLD_SIZE and LOCAL_RANK (one process: 0 of 1)."""
    try:
        world = int(os.environ.get("WORLD_SIZE", "1"))
        rank = int(os.environ.get("RANK", "0"))
        local = int(os.environ.get("LOCAL_RANK", str(rank)))
    except ValueError as e:
        raise ConfigError(f"RANK/WORLD_SIZE/LOCAL_RANK must be whole numbers (set by torchrun): {e}") from None
    if world < 1 or not 0 <= rank < world:
        raise ConfigError(f"RANK {rank} is not within WORLD_SIZE {world}")
    return Shard(rank, world, local)


def current() -> Shard:
    return _SHARD


def timeout_seconds() -> float:
    return float(os.environ.get("ARTISTRY_DIST_TIMEOUT", DEFAULT_TIMEOUT_S))


def init(device_type: str) -> Shard:
    """Join the process group torchrun set up (NCCL on CUDA, gloo on a CPU); a no-op for one process.

    The timeout bounds every wait: a rank that died or hangs makes the others fail with a message
    after at most ARTISTRY_DIST_TIMEOUT seconds (a dead rank's closed connection fails sooner).
    """
    global _SHARD, _CONTROL, _OWN_GROUP
    shard = from_env()
    _SHARD = shard
    if not shard.active:
        return shard
    timeout = datetime.timedelta(seconds=timeout_seconds())
    if not dist.is_initialized():  # else the caller's script joined the group already: use it
        backend = "nccl" if device_type == "cuda" else "gloo"
        if backend == "nccl":
            torch.cuda.set_device(shard.local_rank)
        dist.init_process_group(backend, timeout=timeout)
        _OWN_GROUP = True
    on_host = dist.get_backend() == "gloo"
    _CONTROL = dist.group.WORLD if on_host else dist.new_group(backend="gloo", timeout=timeout)
    return shard


def device_for(device: torch.device) -> torch.device:
    """The device of this rank: cuda:LOCAL_RANK when training on CUDA with several processes."""
    if device.type == "cuda" and device.index is None and "LOCAL_RANK" in os.environ:
        return torch.device("cuda", from_env().local_rank)
    return device


def teardown(together: bool = False) -> None:
    """Leave the process group (after the last collective).

    `together` (a run that ended normally): wait for every rank first. Rank 0 still writes the
    final checkpoint after the last training collective; a rank that destroyed its gloo group
    meanwhile sometimes aborted at exit ("terminate called without an active exception").
    """
    global _SHARD, _CONTROL, _OWN_GROUP
    if together and _SHARD.active and dist.is_initialized():
        dist.barrier(group=_CONTROL)
    if dist.is_initialized() and _OWN_GROUP:
        dist.destroy_process_group()
    _SHARD, _CONTROL, _OWN_GROUP = Shard(), None, False


def abandon() -> None:
    """After a failed collective: forget the broken group without the clean shutdown, which would
    wait on (or abort over) a peer that is gone; the process exits soon after."""
    global _SHARD, _CONTROL
    _SHARD, _CONTROL = Shard(), None
    atexit.register(_exit_now)  # gloo/NCCL threads of a broken group abort the interpreter's exit


def _exit_now() -> None:
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(1)


def barrier() -> None:
    if _SHARD.active:
        dist.barrier(group=_CONTROL)


def per_rank_batch(batch: int, pack: int = 1, shard: Shard | None = None) -> int:
    """The images each rank draws per batch: the global --batch split evenly over the ranks."""
    shard = shard or _SHARD
    if batch % shard.world:
        raise ConfigError(
            f"--batch {batch} does not divide over {shard.world} processes; use a multiple "
            f"of {shard.world} (each process takes batch / processes images)"
        )
    share = batch // shard.world
    if share % pack:
        raise ConfigError(
            f"--batch {batch} over {shard.world} processes gives {share} images each, not a multiple of --pack {pack}"
        )
    return share


def rows(draw: Callable[[int], torch.Tensor], n: int) -> torch.Tensor:
    """This rank's n rows of a draw for the global batch: `draw(n * world)[rank * n:(rank + 1) * n]`.

    Every rank draws the same numbers from the same global RNG, so the RNG stays identical on
    every rank and to one process's, and the union of the ranks' rows is one process's draw.
    """
    if not _SHARD.active:
        return draw(n)
    return draw(n * _SHARD.world)[_SHARD.rank * n : (_SHARD.rank + 1) * n]


def on_global_batch(fn: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    """`fn` (a per-image random transform too intricate for `rows`, e.g. the DAE's corruptions)
    applied as one process would apply it to the global batch: x sits at this rank's rows of a
    zero batch of the global size, and this rank keeps its rows of the result. Costs `world` times
    the transform's work, so keep it for cheap transforms.
    """
    if not _SHARD.active:
        return fn(x)
    n = x.shape[0]
    whole = x.new_zeros((n * _SHARD.world, *x.shape[1:]))
    whole[_SHARD.rank * n : (_SHARD.rank + 1) * n] = x
    return fn(whole)[_SHARD.rank * n : (_SHARD.rank + 1) * n]


def broadcast_text(text: str | None) -> str:
    """Rank 0's string on every rank (e.g. the run directory it made)."""
    if not _SHARD.active:
        return text
    data = torch.zeros(4096, dtype=torch.uint8)
    if _SHARD.is_main:
        raw = text.encode()
        if len(raw) > data.numel():
            raise ConfigError(f"path too long to share between processes: {text}")
        data[: len(raw)] = torch.tensor(list(raw), dtype=torch.uint8)
    dist.broadcast(data, 0, group=_CONTROL)
    return bytes(data[data != 0].tolist()).decode()


@torch.no_grad()
def broadcast_module(module: nn.Module | None) -> None:
    """Rank 0's parameters and buffers on every rank (after building or restoring)."""
    if module is None or not _SHARD.active:
        return
    for t in list(module.parameters()) + list(module.buffers()):
        dist.broadcast(t.data, 0)


class GradSync:
    """Averages the gradients of one optimizer's parameters over the ranks, in one flat all-reduce.

    Called by the step after backward and before the non-finite check; returns the loss averaged
    over ranks (for that check), so every rank decides the same way.
    """

    def __call__(self, loss: torch.Tensor, opt: torch.optim.Optimizer) -> torch.Tensor:
        grads = [p.grad for g in opt.param_groups for p in g["params"] if p.grad is not None]
        flat = torch.cat([g.reshape(-1).float() for g in grads] + [loss.detach().float().reshape(1)])
        dist.all_reduce(flat)
        flat /= _SHARD.world
        offset = 0
        for g in grads:
            g.copy_(flat[offset : offset + g.numel()].view_as(g))
            offset += g.numel()
        return flat[-1]


class Control:
    """Per-step agreement on the host: any rank's stop request, rank 0's time budget, clock and
    budget progress (the learning-rate tail follows it; only rank 0 holds the evaluation's
    reserved time).

    One all-reduce and one broadcast of a few numbers on the gloo group per step; no device sync.
    """

    def agree(
        self, interrupted: bool, time_up: bool, elapsed: float, progress: float
    ) -> tuple[bool, bool, float, float]:
        """(any rank interrupted, rank 0's time is up, rank 0's elapsed, rank 0's progress)."""
        flags = torch.tensor([float(interrupted)], dtype=torch.float64)
        dist.all_reduce(flags, op=dist.ReduceOp.MAX, group=_CONTROL)
        main = torch.tensor([float(time_up), elapsed, progress], dtype=torch.float64)
        dist.broadcast(main, 0, group=_CONTROL)
        return bool(flags[0] > 0), bool(main[0] > 0), float(main[1]), float(main[2])


def is_collective_error(error: BaseException) -> bool:
    """Whether `error` came from a collective (a lost or silent peer), not from this rank's own work."""
    if isinstance(error, getattr(dist, "DistError", ())):
        return True
    return any(word in str(error) for word in ("gloo", "NCCL", "c10d", "Connection closed", "timed out"))


def lost_peer_message(error: BaseException) -> str:
    """One line for a collective that failed because another rank died or hung."""
    return (
        f"rank {_SHARD.rank}: another process of this run stopped or stopped answering "
        f"(waited at most {timeout_seconds():.0f} s; ARTISTRY_DIST_TIMEOUT sets it): "
        f"{_first_words(error)}. "
        "Resume from the last checkpoint with: artistry train --resume RUN"
    )


def _first_words(error: BaseException, limit: int = 160) -> str:
    text = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return text if len(text) <= limit else text[:limit].rsplit(" ", 1)[0] + " ..."


def note(message: str) -> None:
    """Print on rank 0 only."""
    if _SHARD.is_main:
        print(message, file=sys.stderr)


# --- batch norm over the global batch (--sync-bn) -----------------------------------------------
class SyncBatchNorm2d(nn.BatchNorm2d):
    """BatchNorm2d whose training statistics are those of the global batch (all ranks together).

    Its own (not nn.SyncBatchNorm, which runs on GPUs only) so the same code is tested on CPUs
    with gloo: one all-reduce of [sum, sum of squares, count] per layer, differentiable
    (torch.distributed.nn), so gradients flow through the shared statistics as through one
    process's. State-dict keys are BatchNorm2d's.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # [N, C, H, W]
        if not (self.training and _SHARD.active):
            return super().forward(x)
        with warnings.catch_warnings():  # deprecated for torch's functional collectives, whose
            warnings.simplefilter("ignore")  # autograd support is recent (2.9+); this one has it everywhere
            from torch.distributed.nn.functional import all_reduce

        xf = x.float()
        count = torch.full((1,), xf.numel() / xf.shape[1], dtype=torch.float32, device=x.device)
        stats = torch.cat([xf.sum(dim=(0, 2, 3)), xf.square().sum(dim=(0, 2, 3)), count])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            stats = all_reduce(stats)
        c = xf.shape[1]
        total = stats[-1]
        mean = stats[:c] / total
        var = (stats[c : 2 * c] / total - mean.square()).clamp_min(0.0)
        if self.track_running_stats:
            with torch.no_grad():
                self.num_batches_tracked += 1
                m = self.momentum if self.momentum is not None else 1.0 / float(self.num_batches_tracked)
                self.running_mean.lerp_(mean.detach().to(self.running_mean.dtype), m)
                unbiased = var.detach() * total / (total - 1).clamp_min(1.0)
                self.running_var.lerp_(unbiased.to(self.running_var.dtype), m)
        y = (xf - mean.view(1, -1, 1, 1)) * torch.rsqrt(var.view(1, -1, 1, 1) + self.eps)
        if self.affine:
            y = y * self.weight.view(1, -1, 1, 1) + self.bias.view(1, -1, 1, 1)
        return y.to(x.dtype)


def convert_sync_bn(module: nn.Module) -> nn.Module:
    """Replace every BatchNorm2d in `module` by SyncBatchNorm2d, keeping its weights and statistics."""
    for name, child in list(module.named_children()):
        if type(child) is nn.BatchNorm2d:
            sync = SyncBatchNorm2d(
                child.num_features,
                child.eps,
                child.momentum,
                child.affine,
                child.track_running_stats,
                device=child.weight.device if child.affine else None,
            )
            sync.load_state_dict(child.state_dict())
            setattr(module, name, sync)
        else:
            convert_sync_bn(child)
    return module
