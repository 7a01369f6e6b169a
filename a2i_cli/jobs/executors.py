"""Where work runs, behind one interface: this process, a local process pool, or Ray actors.

    spec = WorkerSpec(Predictor, {"ckpt": "best.pt", "out": "imgs"})
    for result in run_ordered(spec, tasks, backend="local", workers=2):
        ...                      # results in task order, at most `in_flight` tasks pending

A worker is a class built once per process (or Ray actor) with `spec.kwargs` -- the model
loads in `__init__` -- and called once per task: `worker(task) -> result`. Tasks and
results are small dicts of numpy arrays / lists, so only features and file names cross
process boundaries; the images are written by the workers themselves. The workers:
predictor.Predictor (features -> image files) and eval.score.ScoreWorker (file pairs -> scores).

Backends:
  inline  the calling process (tests, tiny inputs): no start-up cost at all.
  local   a fork-started process pool on this machine's cores; a worker that dies raises
          WorkerDied (what was written is kept, a rerun resumes).
  ray     Ray actors, one per CPU; joins `ray_address` ("auto" or host:port) or starts a
          small private Ray instance (see ray_session.py). Actors restart and retry the
          task when their process dies (tasks must be idempotent: ours rewrite the same
          files atomically).
  auto    ray when an address is given or RAY_ADDRESS is set, inline for tiny inputs,
          local otherwise.
"""
from __future__ import annotations

import collections
import multiprocessing as mp
import os
import signal
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Iterable, Iterator

from ..core.config import Backend, choice
from ..core.errors import UserError
from .ray_session import ray_session
from .workers import WorkerDied, WorkerSpec, exit_with_parent, local_cores, one_thread


def choose_backend(backend: str, n_items: int | None, ray_address: str | None, small: int = 256) -> str:
    """auto -> ray with an address (or RAY_ADDRESS), inline for <= `small` items, else local.

    "inline" (this process) is accepted too, for library callers and tests.
    """
    if backend == "inline":
        return backend
    backend = choice(Backend, backend, "--backend")
    if backend == "ray" or ray_address or (backend == "auto" and os.environ.get("RAY_ADDRESS")):
        if backend == "local":
            return "local"
        return "ray"
    if backend == "auto" and n_items is not None and n_items <= small:
        return "inline"
    return "local"


# ---------------------------------------------------------------- inline / local

_SPEC: WorkerSpec | None = None  # set in each pool process
_WORKER = None  # built on the first task, so an error there reaches the caller as itself


def _init_pool_worker(spec: WorkerSpec, parent: int) -> None:
    global _SPEC
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    exit_with_parent(parent)  # no orphans: a worker never outlives the run that started it
    one_thread()
    _SPEC = spec


def _call_pool_worker(task):
    global _WORKER
    if _WORKER is None:
        one_thread()
        _WORKER = _SPEC.build()
        one_thread()
    return _WORKER(task)


def _run_inline(spec: WorkerSpec, tasks: Iterable) -> Iterator:
    worker = spec.build()
    for task in tasks:
        yield worker(task)


def _run_local(spec: WorkerSpec, tasks: Iterable, workers: int, in_flight: int) -> Iterator:
    ctx = mp.get_context("fork" if "fork" in mp.get_all_start_methods() else "spawn")
    pending: collections.deque = collections.deque()
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_init_pool_worker,
                             initargs=(spec, os.getpid())) as pool:
        try:
            for task in tasks:
                pending.append(pool.submit(_call_pool_worker, task))
                while len(pending) >= in_flight:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        except BrokenProcessPool:
            raise WorkerDied("a worker process died (out of memory or killed); what was written is kept, "
                             "rerun the same command to resume", code=3)
        finally:
            for f in pending:
                f.cancel()


# ---------------------------------------------------------------- ray


class _RayWorker:
    """The actor body: builds the worker once, then runs tasks."""

    def __init__(self, spec: WorkerSpec):
        one_thread()
        self.worker = spec.build()
        one_thread()

    def run(self, task):
        return self.worker(task)


def _run_ray(spec: WorkerSpec, tasks: Iterable, workers: int | None, in_flight: int, ray_address: str | None,
             max_retries: int = 3) -> Iterator:
    with ray_session(ray_address, num_cpus=workers) as ray:
        n = workers or max(1, int(ray.available_resources().get("CPU", 1)))
        actor_cls = ray.remote(num_cpus=1, max_restarts=max_retries, max_task_retries=max_retries)(_RayWorker)
        actors = [actor_cls.remote(spec) for _ in range(n)]
        pending: collections.deque = collections.deque()
        try:
            for i, task in enumerate(tasks):
                pending.append(actors[i % n].run.remote(task))
                while len(pending) >= max(in_flight, n):
                    yield _ray_get(ray, pending.popleft())
            while pending:
                yield _ray_get(ray, pending.popleft())
        finally:
            for a in actors:
                ray.kill(a)


def _ray_get(ray, ref):
    try:
        return ray.get(ref)
    except ray.exceptions.RayTaskError as e:  # the worker raised: re-raise the original error
        raise e.as_instanceof_cause()
    except ray.exceptions.RayActorError as e:
        raise WorkerDied(f"a Ray worker died more often than it may be restarted ({type(e).__name__}); "
                         "what was written is kept, rerun to resume", code=3)


# ---------------------------------------------------------------- the one entry point


def run_ordered(spec: WorkerSpec, tasks: Iterable, backend: str = "local", workers: int | None = None,
                in_flight: int | None = None, ray_address: str | None = None) -> Iterator[Any]:
    """Run `spec`'s worker over `tasks`; yield the results in task order.

    backend: inline | local | ray (resolve "auto" first with choose_backend). At most
    `in_flight` tasks are submitted and not yet yielded (default 2 per worker), so memory
    stays flat however long `tasks` is.
    """
    if backend == "inline":
        return _run_inline(spec, tasks)
    if backend == "local":
        workers = workers or local_cores()
        return _run_local(spec, tasks, workers, in_flight or 2 * workers)
    if backend == "ray":
        return _run_ray(spec, tasks, workers, in_flight or 2 * (workers or local_cores()), ray_address)
    raise UserError(f"unknown execution backend {backend!r}")
