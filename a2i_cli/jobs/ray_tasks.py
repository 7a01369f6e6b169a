"""Running a worker over tasks on Ray: stateless tasks, each Ray worker process builds the worker once.

The worker's spec (the model bytes included) is put in Ray's object store once per run and
reaches every node through it: nothing needs a path on a worker node. Tasks, not actors:
when a worker process or a whole node dies, Ray runs its tasks again elsewhere (up to
`max_retries` times), so a run goes on on the nodes that are left. Each result dict gets
the id of the node that made it, for the run's summary.
"""
from __future__ import annotations

import collections
from typing import Iterable, Iterator

from .ray_session import ray_session
from .workers import WorkerDied, WorkerSpec, keep_freed_memory, one_thread

_CACHE: dict[str, object] = {}  # in each Ray worker process: the worker built for the current spec


def run_task(boxed_spec: list, task):
    """The Ray task: build (once per process) the worker of the spec in boxed_spec[0], run it on `task`."""
    import ray

    ref = boxed_spec[0]  # boxed: a bare ObjectRef argument would be fetched again for every task
    key = ref.hex()
    worker = _CACHE.get(key)
    if worker is None:
        one_thread()
        keep_freed_memory()
        worker = ray.get(ref).build()
        one_thread()
        _CACHE.clear()
        _CACHE[key] = worker
    result = worker(task)
    if isinstance(result, dict):
        result["node"] = ray.get_runtime_context().get_node_id()
    return result


def run_on_ray(spec: WorkerSpec, tasks: Iterable, workers: int | None, in_flight: int | None,
               ray_address: str | None, max_retries: int = 3) -> Iterator:
    """Yield the results of `spec`'s worker over `tasks`, in order, at most `in_flight` pending."""
    with ray_session(ray_address, num_cpus=workers) as ray:
        cpus = max(1, int(ray.cluster_resources().get("CPU", 1)))
        n = workers or cpus
        limit = max(in_flight or 4 * n, n)  # a slow node must not leave the others idle behind the oldest task
        spec_ref = ray.put(spec)  # once per run: the model travels through the object store
        remote = ray.remote(num_cpus=1, max_retries=max_retries, scheduling_strategy="SPREAD")(run_task)
        pending: collections.deque = collections.deque()
        try:
            for task in tasks:
                pending.append(remote.remote([spec_ref], task))
                while len(pending) >= limit:
                    yield _get(ray, pending.popleft())
            while pending:
                yield _get(ray, pending.popleft())
        finally:
            for ref in pending:  # stopped early (an error, Ctrl-C): do not leave tasks running
                try:
                    ray.cancel(ref, force=True)
                except Exception:
                    pass


def _get(ray, ref):
    try:
        return ray.get(ref)
    except ray.exceptions.RayTaskError as e:  # the worker raised: re-raise the original error
        raise e.as_instanceof_cause()
    except (ray.exceptions.WorkerCrashedError, ray.exceptions.NodeDiedError, ray.exceptions.ObjectLostError,
            ray.exceptions.RayActorError) as e:
        raise WorkerDied(f"Ray workers died more often than a task may be retried ({type(e).__name__}); "
                         "what was written is kept, rerun to resume", code=3)
