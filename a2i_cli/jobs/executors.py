"""Where work runs, behind one interface: this process, a local process pool, or Ray tasks.

    spec = WorkerSpec(Predictor, {"model": model_bytes, "out": "imgs"})
    for result in run_ordered(spec, tasks, backend="local", workers=2):
        ...                      # results in task order, at most `in_flight` tasks pending

A worker is a class built once per process (local or Ray) with `spec.kwargs` -- the model
loads in `__init__` -- and called once per task: `worker(task) -> result`. Tasks and
results are small dicts of numpy arrays, lists and bytes. The workers:
predictor.Predictor (features -> images) and eval.score.ScoreWorker (image pairs -> scores).

Backends:
  inline  the calling process (tests, tiny inputs): no start-up cost at all.
  local   a fork-started process pool on this machine's cores; a worker that dies raises
          WorkerDied (what was written is kept, a rerun resumes).
  ray     Ray tasks, one per CPU at a time (ray_tasks.py); joins `ray_address` ("auto" or
          host:port) or starts a small private Ray instance (ray_session.py). A task whose
          process or node dies runs again elsewhere (tasks must be idempotent: ours rewrite
          the same files atomically, or return bytes the driver writes).
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
from .ray_tasks import run_on_ray
from .workers import WorkerDied, WorkerSpec, exit_with_parent, keep_freed_memory, local_cores, one_thread


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
    keep_freed_memory()
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


def forks_workers() -> bool:
    """True where local workers are forked: they inherit this process's memory (a built model) unpickled."""
    return "fork" in mp.get_all_start_methods()


def _run_local(spec: WorkerSpec, tasks: Iterable, workers: int, in_flight: int) -> Iterator:
    ctx = mp.get_context("fork" if forks_workers() else "spawn")
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
        if workers > 4 * local_cores():
            raise UserError(f"--workers {workers} is more than 4 per core ({4 * local_cores()} here); each worker holds "
                            "its own copy of the model, so more only use memory")
        return _run_local(spec, tasks, workers, in_flight or 2 * workers)
    if backend == "ray":
        return run_on_ray(spec, tasks, workers, in_flight, ray_address)
    raise UserError(f"unknown execution backend {backend!r}")
