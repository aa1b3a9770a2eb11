"""Runs on a Dask cluster: `--scheduler ADDRESS` or `--scheduler local:N`.

Each planned run is one task. The corpus is sent to the workers once (scattered), so
they need neither the data nor a shared filesystem, only this package installed; the
submitting process stays the single writer and stores each record as its task
finishes (`runner._run_claimed`), so a killed client loses only the runs in flight.
A task that raises, or whose worker dies (Dask retries it elsewhere, then gives up
with KilledWorker), comes back as an exception, which the runner records as a failure.

`local:N` starts a LocalCluster of N single-threaded worker processes: the same engine
a Slurm or Kubernetes deployment runs through dask-jobqueue or dask-kubernetes
(docs/clusters.md). Dask is used rather than a hand-written queue because it already
does what a cluster needs: scheduling, worker loss, retries, data transfer.
"""
from __future__ import annotations

import multiprocessing
import re
from concurrent.futures import FIRST_COMPLETED, wait

from relext_bench.errors import UserError

LOCAL = re.compile(r"local:(\d+)")
CONNECT_TIMEOUT = "20s"  # how long to try to reach a scheduler


class Pool:
    """An executor with the one extra the runner needs: wait for the first of some futures."""

    local = True  # runs on this machine's devices (the runner spreads them over its GPUs)

    def __init__(self, executor, slots: int, source):
        self.executor, self.slots = executor, slots
        self.source = source  # what each task gets as its corpus: a spec, or the scattered corpus

    def submit(self, fn, *args):
        return self.executor.submit(fn, *args)

    def wait_first(self, futures) -> set:
        return wait(futures, return_when=FIRST_COMPLETED).done

    def close(self) -> None:
        shutdown = getattr(self.executor, "shutdown", None)
        if shutdown:
            shutdown()

    def abort(self) -> None:
        """Stops now (the experiment was interrupted): queued runs are cancelled and the
        worker processes ended, instead of waiting for the runs in flight, whose records
        nobody would store."""
        shutdown = getattr(self.executor, "shutdown", None)
        if shutdown:
            shutdown(wait=False, cancel_futures=True)
        for child in multiprocessing.active_children():
            child.terminate()


class DaskPool(Pool):
    local = False  # each worker uses its own devices

    def __init__(self, client, cluster, corpus):
        slots = sum(client.nthreads().values())
        if not slots:
            raise UserError(f"--scheduler {client.scheduler.address}: the cluster has no workers")
        super().__init__(client, slots, client.scatter(corpus, broadcast=True))
        self.cluster = cluster

    def submit(self, fn, *args):
        return self.executor.submit(fn, *args, pure=False)  # every run is new, even with equal arguments

    def wait_first(self, futures) -> set:
        from distributed import wait as dask_wait

        return dask_wait(list(futures), return_when="FIRST_COMPLETED").done

    def close(self) -> None:
        self.executor.close()
        if self.cluster is not None:
            self.cluster.close()

    abort = close  # the scheduler cancels a closed client's tasks


def local_workers(scheduler: str) -> int | None:
    """N for `local:N`, None for an address."""
    match = LOCAL.fullmatch(scheduler)
    return int(match.group(1)) if match else None


def connect(scheduler: str, corpus) -> DaskPool:
    """A pool on the cluster `scheduler` names (see the module docstring)."""
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise UserError("--scheduler needs dask.distributed: pip install distributed") from None
    n = local_workers(scheduler)
    if n is not None:
        if n < 1:
            raise UserError(f"--scheduler {scheduler}: a local cluster needs at least 1 worker")
        import dask

        # Dask's nannies give workers MALLOC_TRIM_THRESHOLD_=65536, which makes glibc hand
        # freed memory back at once: training ran 40% slower in such a worker (21 s against
        # 30 s for one synthetic run). Unset here (a restarted worker reads it again);
        # workers of a remote cluster need the same setting (docs/clusters.md).
        dask.config.set({"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None})
        cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None)
        return DaskPool(Client(cluster), cluster, corpus)
    if scheduler.startswith("local"):
        raise UserError(f"--scheduler {scheduler!r}: write local:N (N worker processes) or a scheduler address")
    try:
        client = Client(scheduler, timeout=CONNECT_TIMEOUT)
    except (OSError, TimeoutError, ValueError) as e:
        raise UserError(f"--scheduler {scheduler}: cannot reach the Dask scheduler "
                        f"({type(e).__name__}: {' '.join(str(e).split())})") from None
    return DaskPool(client, None, corpus)
