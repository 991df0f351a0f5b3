"""The studio's routes. Work is done by site (what the routes share), runinfo (reading runs),
jobs (training processes), newrun (the New-run form), explore (images) and paths (what files
may be served)."""

from __future__ import annotations

import asyncio
import json
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import quote

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, PlainTextResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from ..errors import ArtistryError
from . import newrun, runinfo
from .explore import ExploreError
from .guard import BodyTooLarge, Guard
from .jobs import log_tail
from .paths import Refused, existing_file
from .site import Studio

HERE = Path(__file__).parent
SORTS = {
    "name": lambda s: s.name,
    "images": lambda s: s.images_seen,
    "updated": lambda s: s.updated,
    "fid": lambda s: (s.fid is None, s.fid or 0),
    "kid": lambda s: (s.kid is None, s.kid or 0),
    "status": lambda s: s.status,
}
STATUSES = ("queued", "training", "stopped", "finished", "failed")


def _json_error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


async def _body(request: Request) -> dict:
    if not request.headers.get("content-type", "").startswith("application/json"):
        raise HTTPException(415, "send JSON (Content-Type: application/json)")
    try:
        data = await request.json()
    except ValueError:
        raise HTTPException(400, "the body is not valid JSON") from None
    if not isinstance(data, dict):
        raise HTTPException(400, "the body must be a JSON object")
    return data


def create_app(
    runs_dir: Path,
    data_roots: list[Path],
    token: str | None = None,
    loopback: bool = True,
    env: dict | None = None,
    background: bool = True,
    device: str = "cpu",
) -> Starlette:
    """The studio as an ASGI app.

    Args:
        runs_dir: the runs folder to show and train into.
        data_roots: folders the data picker (and data previews) may show.
        token: required on every request when given.
        loopback: only accept loopback Host headers (the default binding).
        env: extra environment for training processes.
        background: start the job scheduler thread (tests call `studio.jobs.tick()` themselves).
    """
    studio = Studio(runs_dir, data_roots, env=env, device=device)
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    templates.env.filters["num"] = lambda v, fmt="%.3f": "–" if v is None else fmt % v

    def page(request: Request, name: str, **context) -> Response:
        return templates.TemplateResponse(request, name, {"nav": name, **context})

    # --- pages -------------------------------------------------------------------------------------
    async def runs_page(request: Request):
        q = request.query_params.get("q", "").strip().lower()
        status = request.query_params.get("status", "")
        sort = request.query_params.get("sort", "updated")
        runs = studio.reader.all(studio.jobs.statuses())
        if q:
            runs = [r for r in runs if q in r.name.lower() or q in r.family.lower()]
        if status in STATUSES:
            runs = [r for r in runs if r.status == status]
        key = SORTS.get(sort, SORTS["updated"])
        runs.sort(key=key, reverse=sort in ("images", "updated"))
        queue = [j for j in studio.jobs.jobs() if j.state in ("queued", "starting") and not j.run]
        return page(
            request,
            "runs.html",
            runs=runs,
            q=q,
            status=status,
            sort=sort,
            statuses=STATUSES,
            sorts=list(SORTS),
            queue=queue,
        )

    async def new_page(request: Request):
        return page(
            request, "new.html", roots=[str(r) for r in studio.data_roots], recipes=newrun.RECIPES, sizes=newrun.SIZES
        )

    async def run_page(request: Request):
        run = request.path_params["run"]
        s = studio.summary(run)
        cfg = s.extra.get("cfg") or {}
        return page(request, "run.html", run=s, state=studio.state(run), config_json=json.dumps(cfg, indent=2))

    async def explore_page(request: Request):
        run = request.path_params["run"]
        s = studio.summary(run)
        denoisers = [r.name for r in studio.reader.all({}) if r.model == "dae"]
        return page(request, "explore.html", run=s, denoisers=denoisers, kept=studio.explorer.kept(run), max_n=64)

    async def compare_page(request: Request):
        names = request.query_params.getlist("run")[:8]
        all_runs = studio.reader.all(studio.jobs.statuses())
        chosen = []
        for name in names:
            path = studio.run_path(name)
            evals = runinfo.evaluations(path)
            chosen.append(
                {
                    "name": name,
                    "family": studio.summary(name).family,
                    "samples": [[n, f"/files/runs/{name}/samples/{f}"] for n, f in runinfo.samples(path)],
                    "eval": evals[-1] if evals else None,
                }
            )
        return page(request, "compare.html", all_runs=all_runs, chosen=chosen, names=names)

    # --- runs and jobs -----------------------------------------------------------------------------
    async def api_runs(request: Request):
        runs = studio.reader.all(studio.jobs.statuses())
        return JSONResponse(
            [
                {
                    "name": r.name,
                    "family": r.family,
                    "status": r.status,
                    "images_seen": r.images_seen,
                    "step": r.step,
                    "fid": r.fid,
                    "kid": r.kid,
                    "thumb": r.thumb,
                }
                for r in runs
            ]
        )

    async def api_state(request: Request):
        return JSONResponse(await run_in_threadpool(studio.state, request.path_params["run"]))

    async def api_metrics(request: Request):
        path = studio.run_path(request.path_params["run"])
        offset = _int_param(request, "offset", 0, 0, 1 << 40)
        records, offset = runinfo.read_metrics(path / "metrics.jsonl", offset)
        return JSONResponse({"records": records, "offset": offset})

    async def api_events(request: Request):
        """Server-sent events: `metrics` (new metrics.jsonl records) and `state` (when it changes)."""
        run = request.path_params["run"]
        path = studio.run_path(run)
        offset = _int_param(request, "offset", 0, 0, 1 << 40)
        once = request.query_params.get("once") == "1"

        async def stream():
            nonlocal offset
            last, quiet = None, 0
            while True:
                records, offset = runinfo.read_metrics(path / "metrics.jsonl", offset)
                if records:
                    yield _sse("metrics", {"records": records, "offset": offset})
                try:
                    state = await run_in_threadpool(studio.state, run)
                except HTTPException:  # the run folder went away
                    yield _sse("gone", {"run": run})
                    return
                if state != last:
                    yield _sse("state", state)
                    last, quiet = state, 0
                elif quiet >= 15:
                    yield ": keep-alive\n\n"
                    quiet = 0
                if once:
                    return
                quiet += 1
                await asyncio.sleep(1.0)

        return StreamingResponse(
            stream(), media_type="text/event-stream", headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
        )

    async def api_folders(request: Request):
        root = _int_param(request, "root", 0, 0, max(len(studio.data_roots) - 1, 0))
        if not studio.data_roots:
            raise HTTPException(404, "no data roots")
        try:
            return JSONResponse(newrun.list_folder(studio.data_roots, root, request.query_params.get("path", "")))
        except Refused as e:
            raise HTTPException(e.status, str(e)) from None

    async def api_dry_run(request: Request):
        form = await _body(request)
        try:
            args, name = newrun.train_args(form, studio.data_roots, studio.runs_dir)
        except newrun.FormError as e:
            return _json_error(400, str(e))
        ok, text = await run_in_threadpool(newrun.dry_run, args)
        if not ok:
            return _json_error(400, text)
        return JSONResponse({"config": json.loads(text), "args": args, "name": name})

    async def api_new_job(request: Request):
        form = await _body(request)
        try:
            args, name = newrun.train_args(form, studio.data_roots, studio.runs_dir)
        except newrun.FormError as e:
            return _json_error(400, str(e))
        ok, text = await run_in_threadpool(newrun.dry_run, args)  # refuse bad flags before queueing
        if not ok:
            return _json_error(400, text)
        job = await run_in_threadpool(studio.jobs.submit, "new", args, name)
        return JSONResponse({"job": job.to_dict()}, status_code=201)

    async def api_jobs(request: Request):
        return JSONResponse([j.to_dict() for j in studio.jobs.jobs()])

    async def api_job(request: Request):
        job = studio.jobs.get(request.path_params["job"])
        if job is None:
            raise HTTPException(404, "no such job")
        return JSONResponse({**job.to_dict(), "log": log_tail(job)})

    async def api_stop(request: Request):
        run = request.path_params["run"]
        studio.run_path(run)
        job = studio.jobs.active_job(run)
        if job is None:
            return _json_error(409, f"{run} is not training")
        studio.jobs.stop(job)
        return JSONResponse({"stopping": job.id})

    async def api_resume(request: Request):
        run = request.path_params["run"]
        path = studio.run_path(run)
        form = await _body(request)
        if studio.jobs.active_job(run):
            return _json_error(409, f"{run} is already training or queued")
        if not any((path / "checkpoints").glob("step-*.safetensors")):
            return _json_error(409, f"{run} has no checkpoint to resume from")
        args = ["--resume", str(path)]
        if form.get("budget"):
            kind = form.get("budget_kind", "steps")
            if kind not in newrun.BUDGETS:
                return _json_error(400, "budget_kind: minutes, steps or epochs")
            try:
                amount = float(form["budget"])
            except (TypeError, ValueError):
                return _json_error(400, "budget: a number")
            if not 0 < amount <= 1e7:
                return _json_error(400, "budget: must be positive")
            args += [newrun.BUDGETS[kind], str(int(amount)) if kind == "steps" else f"{amount:g}"]
        job = await run_in_threadpool(studio.jobs.submit, "resume", args, run, run)
        return JSONResponse({"job": job.to_dict()}, status_code=201)

    # --- explore -----------------------------------------------------------------------------------
    async def api_generate(request: Request):
        run = request.path_params["run"]
        studio.run_path(run)
        form = await _body(request)
        seed, n, post = form.get("seed", 0), form.get("n", 8), form.get("post") or ""
        await run_in_threadpool(studio.explorer.generate, run, seed, n, post)  # checks and warms the model
        base = f"/api/runs/{run}/image.png"
        seeds = range(int(seed), int(seed) + int(n))
        p = f"&post={quote(post)}" if post else ""
        return JSONResponse(
            {
                "images": [
                    {"seed": s, "url": f"{base}?seed={s}", "post_url": f"{base}?seed={s}{p}" if post else None}
                    for s in seeds
                ],
                "zip": f"/api/runs/{run}/images.zip?seed={int(seed)}&n={int(n)}{p}",
            }
        )

    async def api_image(request: Request):
        run = request.path_params["run"]
        studio.run_path(run)
        q = request.query_params
        data = await run_in_threadpool(studio.explorer.image, run, q.get("seed", "0"), q.get("post"))
        return Response(data, media_type="image/png", headers={"Cache-Control": "private, max-age=3600"})

    async def api_zip(request: Request):
        run = request.path_params["run"]
        studio.run_path(run)
        q = request.query_params
        data = await run_in_threadpool(
            studio.explorer.zip_bytes, run, q.get("seed", "0"), q.get("n", "8"), q.get("post")
        )
        return Response(
            data,
            media_type="application/zip",
            headers={"Content-Disposition": f'attachment; filename="{run}-seed{q.get("seed", "0")}.zip"'},
        )

    async def api_walk(request: Request):
        run = request.path_params["run"]
        studio.run_path(run)
        q = request.query_params
        data = await run_in_threadpool(
            studio.explorer.walk_frame, run, q.get("a", "0"), q.get("b", "1"), q.get("frames", "16"), q.get("i", "0")
        )
        return Response(data, media_type="image/png", headers={"Cache-Control": "private, max-age=3600"})

    async def api_keep(request: Request):
        run = request.path_params["run"]
        studio.run_path(run)
        form = await _body(request)
        rel = await run_in_threadpool(studio.explorer.keep, run, form.get("seed", 0), form.get("post") or "")
        return JSONResponse({"kept": rel, "url": f"/files/runs/{rel}"}, status_code=201)

    async def api_kept(request: Request):
        run = request.path_params["run"]
        studio.run_path(run)
        return JSONResponse([{"path": p, "url": f"/files/runs/{p}"} for p in studio.explorer.kept(run)])

    # --- files ------------------------------------------------------------------------------------
    async def run_file(request: Request):
        try:
            path = existing_file(studio.runs_dir, request.path_params["path"])
        except Refused as e:
            raise HTTPException(e.status, str(e)) from None
        return FileResponse(path)

    async def data_file(request: Request):
        root = request.path_params["root"]
        if root >= len(studio.data_roots):
            raise HTTPException(404, "no such data root")
        try:
            path = existing_file(studio.data_roots[root], request.path_params["path"])
        except Refused as e:
            raise HTTPException(e.status, str(e)) from None
        if path.suffix.lower() not in newrun.IMAGE_EXT:
            raise HTTPException(403, "only images are served from data folders")
        return FileResponse(path)

    # --- errors -----------------------------------------------------------------------------------
    async def http_error(request: Request, exc: HTTPException):
        if request.url.path.startswith("/api/"):
            return _json_error(exc.status_code, exc.detail)
        return PlainTextResponse(f"{exc.status_code}: {exc.detail}", status_code=exc.status_code)

    async def user_error(request: Request, exc: Exception):
        return _json_error(400, str(exc))

    async def too_large(request: Request, exc: Exception):
        return _json_error(413, "request body too large")

    @asynccontextmanager
    async def lifespan(app):
        if background:
            studio.jobs.start_background()
        yield
        studio.jobs.shutdown()

    run = "{run:str}"
    routes = [
        Route("/", runs_page),
        Route("/new", new_page),
        Route("/compare", compare_page),
        Route(f"/runs/{run}", run_page),
        Route(f"/runs/{run}/explore", explore_page),
        Route("/api/runs", api_runs),
        Route("/api/folders", api_folders),
        Route("/api/dry-run", api_dry_run, methods=["POST"]),
        Route("/api/jobs", api_jobs),
        Route("/api/jobs", api_new_job, methods=["POST"]),
        Route("/api/jobs/{job:str}", api_job),
        Route(f"/api/runs/{run}/state", api_state),
        Route(f"/api/runs/{run}/metrics", api_metrics),
        Route(f"/api/runs/{run}/events", api_events),
        Route(f"/api/runs/{run}/stop", api_stop, methods=["POST"]),
        Route(f"/api/runs/{run}/resume", api_resume, methods=["POST"]),
        Route(f"/api/runs/{run}/generate", api_generate, methods=["POST"]),
        Route(f"/api/runs/{run}/image.png", api_image),
        Route(f"/api/runs/{run}/images.zip", api_zip),
        Route(f"/api/runs/{run}/walk.png", api_walk),
        Route(f"/api/runs/{run}/keep", api_keep, methods=["POST"]),
        Route(f"/api/runs/{run}/kept", api_kept),
        Route("/files/runs/{path:path}", run_file),
        Route("/files/data/{root:int}/{path:path}", data_file),
        Mount("/static", StaticFiles(directory=str(HERE / "static")), name="static"),
    ]
    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        middleware=[Middleware(Guard, token=token, loopback=loopback)],
        exception_handlers={
            HTTPException: http_error,
            ExploreError: user_error,
            ArtistryError: user_error,
            BodyTooLarge: too_large,
        },
    )
    app.state.studio = studio
    return app


def _int_param(request: Request, name: str, default: int, lo: int, hi: int) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    try:
        v = int(raw)
    except ValueError:
        raise HTTPException(400, f"{name}: expected a whole number") from None
    if not lo <= v <= hi:
        raise HTTPException(400, f"{name}: must be from {lo} to {hi}")
    return v


def _sse(event: str, data) -> str:
    return f"event: {event}\ndata: {json.dumps(data)}\n\n"
