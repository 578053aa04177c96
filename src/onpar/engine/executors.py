"""Where a stage's batches of model calls run: in this process, or on a pool of Ray actors.

The stages form the same batches either way and commit them on the driver, in order, so
the run store (one SQLite file, one writer) and resuming work exactly as without Ray. Only
the call itself — `generate` or `score_options` on one batch — moves to a worker, which
builds the backend from its picklable `ModelSpec` once, so weights load on the worker.
"""

from __future__ import annotations

import os
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TypeVar

from onpar.config.executor import ExecutorConfig
from onpar.models.base import ChatModel
from onpar.models.registry import ModelPool, ModelSpec

P = TypeVar("P")  # one item of a batch sent to the model
R = TypeVar("R")  # one item of the batch's result
T = TypeVar("T")  # what the driver keeps beside a batch to commit it

WORKER_START_TIMEOUT_S = 900.0  # an autoscaling cluster may need minutes to add a GPU node

BatchFn = Callable[[ChatModel, Sequence[P]], list[R]]
"""Runs one batch on a model; must be a module-level function (or a partial of one) so that
Ray can send it to a worker by reference."""


class ExecutorError(RuntimeError):
    """The executor cannot start or a worker failed; committed batches stay in the store."""


class Executor(Protocol):
    """Runs `fn(model, payload)` for a stream of batches and yields results in input order.

    An empty payload is not sent anywhere: its result is `[]`. Results come back in the
    order the jobs were given, so the driver commits batches in the same order as a local run.
    If forming a job raises (the budget refuses the next batch), the batches already sent are
    yielded first, so no answer that was paid for is thrown away.
    """

    def map(
        self, spec: ModelSpec, fn: BatchFn[P, R], jobs: Iterable[tuple[T, Sequence[P]]]
    ) -> Iterator[tuple[T, list[R]]]: ...

    def close(self) -> None: ...


@dataclass
class LocalExecutor:
    """Today's behaviour: one batch at a time, on the run's own `ModelPool`."""

    pool: ModelPool

    def map(
        self, spec: ModelSpec, fn: BatchFn[P, R], jobs: Iterable[tuple[T, Sequence[P]]]
    ) -> Iterator[tuple[T, list[R]]]:
        depth = getattr(self.pool.get(spec), "concurrent_batches", 1)
        if depth > 1:  # API backends: the next batch runs while this one is committed
            yield from _overlapped(self.pool.get(spec), fn, jobs, depth)
            return
        for tag, payload in jobs:  # lazily: the next batch is formed after this one is committed
            yield tag, (fn(self.pool.get(spec), payload) if payload else [])

    def close(self) -> None:
        """The pool belongs to the run, which closes it."""


def _overlapped(
    model: ChatModel, fn: BatchFn[P, R], jobs: Iterable[tuple[T, Sequence[P]]], depth: int
) -> Iterator[tuple[T, list[R]]]:
    """Up to `depth` batches in flight on threads, results in order (like Ray's in-flight queue).

    The backend bounds requests in flight across batches itself; a job that cannot be formed
    (the budget) is raised only after the batches already sent are yielded for commit.
    """
    pending: deque[tuple[T, Future[list[R]] | None]] = deque()
    source = iter(jobs)
    exhausted, stopped = False, None
    with ThreadPoolExecutor(max_workers=depth, thread_name_prefix="onpar-batch") as threads:
        while True:
            while not exhausted and len(pending) < depth:
                try:
                    job = next(source, None)
                except Exception as exc:
                    job, stopped = None, exc
                if job is None:
                    exhausted = True
                else:
                    tag, payload = job
                    pending.append((tag, threads.submit(fn, model, payload) if payload else None))
            if not pending:
                if stopped is not None:
                    raise stopped
                return
            tag, future = pending.popleft()
            yield tag, (future.result() if future is not None else [])


class ModelWorker:
    """A Ray actor's state: its own `ModelPool`, filled on first use of each spec."""

    def __init__(self, base_dir: str | None) -> None:
        self._pool = ModelPool(base_dir=Path(base_dir) if base_dir else None)

    def run(self, spec: ModelSpec, fn: BatchFn[Any, Any], payload: list[Any]) -> tuple[int, list]:
        """The batch's result and this process's id (so the driver can tell who worked)."""
        return os.getpid(), fn(self._pool.get(spec), payload)

    def pid(self) -> int:
        return os.getpid()

    def close(self) -> None:
        self._pool.close()


@dataclass
class _InFlight:
    tag: Any
    ref: Any  # ray.ObjectRef, or None for an empty payload
    worker: int


@dataclass
class RayExecutor:
    """A pool of `num_workers` Ray actors; the driver keeps `in_flight` batches submitted."""

    config: ExecutorConfig
    base_dir: Path | None = None
    batches_by_pid: Counter[int] = field(default_factory=Counter)
    _ray: Any = field(init=False, repr=False)
    _workers: list[Any] = field(init=False, repr=False, default_factory=list)
    _owns_cluster: bool = field(init=False, default=False)
    worker_pids: list[int] = field(init=False, default_factory=list)

    def __post_init__(self) -> None:
        self._ray = _import_ray()
        if not self._ray.is_initialized():
            self._owns_cluster = self.config.address is None
            try:
                self._ray.init(
                    address=self.config.address,
                    include_dashboard=False,
                    log_to_driver=False,
                    configure_logging=False,
                )
            except (ConnectionError, RuntimeError, ValueError) as exc:
                where = self.config.address or "a new local cluster"
                raise ExecutorError(f"executor: cannot start Ray on {where}: {exc}") from exc
        actor = self._ray.remote(ModelWorker).options(
            num_cpus=self.config.num_cpus_per_worker,
            num_gpus=self.config.num_gpus_per_worker,
            max_restarts=1,  # a worker lost mid-batch is restarted and the batch sent again
            max_task_retries=1,
        )
        try:
            if self._owns_cluster:
                self._check_fits(self._ray.cluster_resources())
            base = str(self.base_dir) if self.base_dir else None
            self._workers = [actor.remote(base) for _ in range(self.config.num_workers)]
            self.worker_pids = self._started_pids()
        except BaseException:
            self.close()
            raise

    def _check_fits(self, resources: dict[str, float]) -> None:
        """On a cluster this run started, workers that can never be placed are an error."""
        n = self.config.num_workers
        for name, each in (
            ("CPU", self.config.num_cpus_per_worker),
            ("GPU", self.config.num_gpus_per_worker),
        ):
            if n * each > resources.get(name, 0.0):
                raise ExecutorError(
                    f"executor: {n} workers × {each:g} {name} do not fit the local Ray cluster "
                    f"({resources.get(name, 0.0):g} {name}); lower num_workers or "
                    f"num_{name.lower()}s_per_worker, or give an `address`"
                )

    def _started_pids(self) -> list[int]:
        """Each worker's process id, once all have started (bounded: a cluster may lack room)."""
        refs = [w.pid.remote() for w in self._workers]
        ready, _ = self._ray.wait(refs, num_returns=len(refs), timeout=WORKER_START_TIMEOUT_S)
        if len(ready) < len(refs):
            raise ExecutorError(
                f"executor: only {len(ready)} of {len(refs)} Ray workers started within "
                f"{WORKER_START_TIMEOUT_S:g} s; the cluster has {self._ray.cluster_resources()} "
                f"and each worker asks for {self.config.num_cpus_per_worker:g} CPU and "
                f"{self.config.num_gpus_per_worker:g} GPU"
            )
        return list(self._ray.get(refs))

    def map(
        self, spec: ModelSpec, fn: BatchFn[P, R], jobs: Iterable[tuple[T, Sequence[P]]]
    ) -> Iterator[tuple[T, list[R]]]:
        queue: deque[_InFlight] = deque()
        load = [0] * len(self._workers)  # batches submitted and not yet received, per worker
        source = iter(jobs)
        exhausted = False
        stopped: Exception | None = None  # e.g. the budget refused the next batch
        while True:
            while not exhausted and sum(load) < self.config.in_flight:
                try:
                    job = next(source, None)
                except Exception as exc:  # raised once the batches already sent are committed
                    job, stopped = None, exc
                if job is None:
                    exhausted = True
                else:
                    queue.append(self._submit(spec, fn, job, load))
            if not queue:
                if stopped is not None:
                    raise stopped
                return
            head = queue.popleft()
            if head.ref is None:
                yield head.tag, []
                continue
            load[head.worker] -= 1
            yield head.tag, self._receive(spec, head)

    def _submit(
        self, spec: ModelSpec, fn: BatchFn[P, R], job: tuple[T, Sequence[P]], load: list[int]
    ) -> _InFlight:
        tag, payload = job
        if not payload:
            return _InFlight(tag, None, -1)
        worker = load.index(min(load))  # the least busy actor
        load[worker] += 1
        shared = share_rate_limits(spec, len(self._workers))
        return _InFlight(tag, self._workers[worker].run.remote(shared, fn, list(payload)), worker)

    def _receive(self, spec: ModelSpec, item: _InFlight) -> list:
        try:
            pid, result = self._ray.get(item.ref)
        except self._ray.exceptions.RayError as exc:
            cause = getattr(exc, "cause", None) or exc
            raise ExecutorError(
                f"Ray worker {item.worker} failed on a batch for {_describe(spec)}: "
                f"{type(cause).__name__}: {_first_line(cause)}. Batches already committed "
                "are in the run store; run again to resume."
            ) from exc
        self.batches_by_pid[pid] += 1
        return result

    def close(self) -> None:
        """Stop the actors (freeing their GPUs); shut Ray down only if this run started it."""
        for worker in self._workers:
            self._ray.kill(worker)
        self._workers = []
        if self._owns_cluster:
            self._ray.shutdown()


def make_executor(config: ExecutorConfig, pool: ModelPool, base_dir: Path | None) -> Executor:
    """The executor the run's `executor:` section asks for."""
    if config.kind == "ray":
        return RayExecutor(config, base_dir)
    return LocalExecutor(pool)


def share_rate_limits(spec: ModelSpec, n_workers: int) -> ModelSpec:
    """The spec a worker builds: client-side per-minute limits split evenly between workers.

    Limiters live in each process, so without this N workers would send N times the limit.
    Request keys are computed on the driver from the configured spec, so they do not change.
    """
    limits = ("requests_per_minute", "tokens_per_minute")
    update = {k: v / n_workers for k in limits if (v := getattr(spec, k, None)) is not None}
    return spec.model_copy(update=update) if update and n_workers > 1 else spec


def _import_ray() -> Any:
    try:
        import ray
    except ModuleNotFoundError as exc:
        raise ExecutorError(
            "executor: ray needs the 'ray' package: pip install 'onpar[ray]' "
            "(the same version on every node of the cluster)"
        ) from exc
    return ray


def _describe(spec: ModelSpec) -> str:
    return f"{spec.provider}:{getattr(spec, 'model', None) or '?'}"


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else "(no message)"
