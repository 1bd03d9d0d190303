"""Running the heavy work on a Dask cluster: joblib's Dask backend under ``--scheduler``.

Descriptor extraction (chunks of images) and grid-search fits already go through joblib; inside
:func:`compute_on` joblib hands them to Dask's workers instead of local processes. What is computed
does not change, only where. Dask retries the tasks of a worker that dies, so a lost worker costs
time, not results.
"""

from __future__ import annotations

import contextlib

from .errors import ClusterError

ENV_VAR = "FER_CLASSIC_SCHEDULER"
CONNECT_TIMEOUT = "8s"  # the error must come within 10 s

_current: dict | None = None



def current_cluster() -> dict | None:
    """The cluster computing right now (scheduler address and worker count), or None when local."""
    return dict(_current) if _current else None


@contextlib.contextmanager
def compute_on(scheduler: str | None):
    """Route joblib's parallel work to the Dask scheduler at ``scheduler`` (``tcp://host:8786``), or to
    a new ``LocalCluster`` of N worker processes for ``local:N``; do nothing for None."""
    global _current
    if not scheduler:
        yield None
        return
    try:
        import joblib
        from distributed import Client, LocalCluster
    except ImportError:
        raise ClusterError("--scheduler needs Dask: pip install 'fer-classic[dask]'") from None
    cluster = None
    try:
        if scheduler.startswith("local:"):
            try:
                n_workers = int(scheduler.split(":", 1)[1])
            except ValueError:
                raise ClusterError(f"{scheduler!r}: write local:N with N the number of workers") from None
            cluster = LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True,
                                   dashboard_address=None)
            client = Client(cluster)
        else:
            client = Client(scheduler, timeout=CONNECT_TIMEOUT)
    except OSError as exc:
        if cluster is not None:
            cluster.close()
        raise ClusterError(f"no Dask scheduler answered at {scheduler} within {CONNECT_TIMEOUT} ({exc})") from None
    try:
        _current = {"scheduler": scheduler if cluster is None else f"LocalCluster({scheduler})",
                    "address": client.scheduler.address, "workers": len(client.scheduler_info()["workers"])}
        with joblib.parallel_config(backend="dask"):
            yield current_cluster()
    finally:
        _current = None
        client.close()
        if cluster is not None:
            cluster.close()
