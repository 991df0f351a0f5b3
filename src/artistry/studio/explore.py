"""Making images for the Explore page through the library API the CLI uses:
`artistry.load(run)`, `LoadedRun.latents / images_from_latents`, `latent.slerp` and
`postprocess.Pipeline`. One lock serialises the model work, so many requests at once queue up
instead of fighting over the CPU; loaded runs and recent images are cached."""

from __future__ import annotations

import io
import os
import re
import threading
import zipfile
from collections import OrderedDict
from pathlib import Path

import numpy as np

from .runinfo import RUN_NAME

MAX_N = 64  # images per generate / ZIP request
MAX_FRAMES = 64  # frames in a latent walk
MAX_SEED = 2**31 - 1
MAX_UPSCALE = 4  # keeps a 256 px image under 1024 px
POST_STEPS = ("denoise", "bw", "contour", "upscale")


class ExploreError(ValueError):
    """Bad explore parameters; the message names the parameter."""


def check_int(value, name: str, lo: int, hi: int) -> int:
    try:
        v = int(value)
    except (TypeError, ValueError):
        raise ExploreError(f"{name}: expected a whole number") from None
    if not lo <= v <= hi:
        raise ExploreError(f"{name}: must be from {lo} to {hi}")
    return v


def parse_post(text: str | None, runs_dir: Path) -> list[tuple[str, object]]:
    """`denoise:00003-dae,bw,contour,upscale:2` -> Pipeline steps (a denoiser is a run name)."""
    steps = []
    for part in (text or "").split(","):
        part = part.strip()
        if not part:
            continue
        name, _, value = part.partition(":")
        if name not in POST_STEPS:
            raise ExploreError(f"post: unknown step '{name}' (steps: {', '.join(POST_STEPS)})")
        if name == "denoise":
            if not RUN_NAME.match(value) or not (runs_dir / value / "config.json").is_file():
                raise ExploreError("post: denoise needs the name of a dae run in the runs folder")
            steps.append((name, str(runs_dir / value)))
        elif name == "upscale":
            steps.append((name, check_int(value or 2, "post: upscale", 2, MAX_UPSCALE)))
        else:
            steps.append((name, None))
    if len(steps) > 8:
        raise ExploreError("post: at most 8 steps")
    return steps


def png_bytes(image: np.ndarray) -> bytes:
    from ..io.images import to_pil

    buf = io.BytesIO()
    to_pil(image).save(buf, format="PNG")
    return buf.getvalue()


class Explorer:
    """Generation for the studio. All public methods are safe to call from many threads."""

    def __init__(self, runs_dir: Path, device: str = "cpu", cache_runs: int = 3, cache_images: int = 512):
        self.runs_dir = Path(runs_dir)
        self.device = device
        self._lock = threading.Lock()
        self._runs: OrderedDict = OrderedDict()
        self._images: OrderedDict = OrderedDict()
        self._cache_runs, self._cache_images = cache_runs, cache_images

    # --- loading --------------------------------------------------------------------------------
    def _loaded(self, run: str):
        """The run's newest usable checkpoint, loaded once per checkpoint file."""
        from .. import api
        from ..runs import find_checkpoint

        path = find_checkpoint(self.runs_dir / run)
        key = (run, str(path), os.stat(path).st_mtime_ns)
        hit = self._runs.get(key)
        if hit is None:
            hit = api.load(self.runs_dir / run, device=self.device)
            self._runs[key] = hit
            while len(self._runs) > self._cache_runs:
                self._runs.popitem(last=False)
        self._runs.move_to_end(key)
        return hit

    def _pipeline(self, post: str | None):
        from ..postprocess import Pipeline

        steps = parse_post(post, self.runs_dir)
        return Pipeline(steps, device=self.device) if steps else None

    def _cached(self, key, make) -> bytes:
        with self._lock:
            data = self._images.get(key)
            if data is None:
                data = make()
                self._images[key] = data
                while len(self._images) > self._cache_images:
                    self._images.popitem(last=False)
            self._images.move_to_end(key)
            return data

    # --- images ---------------------------------------------------------------------------------
    def generate(self, run: str, seed: int, n: int, post: str | None = None) -> np.ndarray:
        """uint8 [n, C, H, W] from seeds seed..seed+n-1, post-processed when `post` is given."""
        n = check_int(n, "n", 1, MAX_N)
        seed = check_int(seed, "seed", 0, MAX_SEED - n)
        pipeline = self._pipeline(post)
        with self._lock:
            images = self._loaded(run).generate(n, seed=seed)
            return pipeline(images) if pipeline else images

    def image(self, run: str, seed: int, post: str | None = None) -> bytes:
        seed = check_int(seed, "seed", 0, MAX_SEED)
        parse_post(post, self.runs_dir)  # refuse bad steps before taking the lock
        stamp = self._stamp(run)
        return self._cached(
            ("img", run, stamp, seed, post or ""), lambda: png_bytes(self._generate_locked(run, seed, post))
        )

    def _generate_locked(self, run: str, seed: int, post: str | None) -> np.ndarray:
        pipeline = self._pipeline(post)
        images = self._loaded(run).generate(1, seed=seed)
        return (pipeline(images) if pipeline else images)[0]

    def walk_frame(self, run: str, a: int, b: int, frames: int, i: int) -> bytes:
        """Frame i of `frames` on the spherical path from seed a's latent to seed b's."""
        from ..latent import slerp

        a, b = check_int(a, "a", 0, MAX_SEED), check_int(b, "b", 0, MAX_SEED)
        frames = check_int(frames, "frames", 2, MAX_FRAMES)
        i = check_int(i, "i", 0, frames - 1)

        def make():
            loaded = self._loaded(run)
            za, zb = loaded.latents([a, b]).cpu()
            z = slerp(za, zb, i / (frames - 1))[None]
            return png_bytes(loaded.images_from_latents(z)[0])

        return self._cached(("walk", run, self._stamp(run), a, b, frames, i), make)

    def zip_bytes(self, run: str, seed: int, n: int, post: str | None = None) -> bytes:
        images = self.generate(run, seed, n, post)
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:  # PNGs are already compressed
            for k, img in enumerate(images):
                z.writestr(f"{run}-seed{int(seed) + k:06d}.png", png_bytes(img))
        return buf.getvalue()

    def keep(self, run: str, seed: int, post: str | None = None) -> str:
        """Save one image to RUN/kept/ and return its path relative to the runs folder."""
        data = self.image(run, seed, post)
        tag = re.sub(r"[^A-Za-z0-9]+", "-", post or "").strip("-")
        rel = f"{run}/kept/seed{int(seed):06d}{'-' + tag if tag else ''}.png"
        from ..io.atomic import write_atomic

        path = self.runs_dir / rel
        path.parent.mkdir(exist_ok=True)
        write_atomic(path, lambda f: f.write(data))
        return rel

    def kept(self, run: str) -> list[str]:
        folder = self.runs_dir / run / "kept"
        return sorted(f"{run}/kept/{p.name}" for p in folder.glob("*.png")) if folder.is_dir() else []

    def _stamp(self, run: str):
        from ..runs import find_checkpoint

        path = find_checkpoint(self.runs_dir / run)
        return (str(path), os.stat(path).st_mtime_ns)
