#!/usr/bin/python3
"""The Dask peer of Petrel's benchmarks: prints one JSON object on stdout.

Run with Debian's interpreter, which has python3-dask (see /work/shared/NOTES.md):

    /usr/bin/python3 bench/dask_peer.py overhead --n 10000 --reps 5
    /usr/bin/python3 bench/dask_peer.py build --n 10000 --reps 5
    /usr/bin/python3 bench/dask_peer.py dataframe --rows 1000000 --reps 3
    /usr/bin/python3 bench/dask_peer.py engine --n 2000 --chain 50 --workflows 400 --reps 5

Every figure is the median over `--reps` runs after `--warmup` discarded runs,
with a full garbage collection before each run (as the Node side does).
Progress lines go to stderr.
"""
import argparse
import gc
import json
import statistics
import sys
import time


def inc(x):
    return x + 1


def progress(msg):
    print(f"[dask] {msg}", file=sys.stderr, flush=True)


def measure(label, fn, warmup, reps):
    """Median wall time of fn() in ms, with its samples."""
    samples = []
    for i in range(warmup + reps):
        gc.collect()
        start = time.perf_counter()
        fn()
        ms = (time.perf_counter() - start) * 1000
        if i >= warmup:
            samples.append(ms)
        kind = f"rep {i - warmup + 1}/{reps}" if i >= warmup else f"warm-up {i + 1}/{warmup}"
        progress(f"{label}: {kind} {ms:.1f} ms")
    return {"median_ms": statistics.median(samples), "samples_ms": samples}


def chain_graph(n):
    """x -> inc -> inc ... (n tasks), the same shape as Petrel's chain."""
    dsk = {"x": 0}
    prev = "x"
    for i in range(n):
        key = f"inc-{i}"
        dsk[key] = (inc, prev)
        prev = key
    return dsk, prev


def fanout_graph(n):
    """One source, n parallel incs of it, one sink summing their list: n + 2 tasks."""
    dsk = {"src": (inc, 0)}
    keys = []
    for i in range(n):
        key = f"inc-{i}"
        dsk[key] = (inc, "src")
        keys.append(key)
    dsk["sink"] = (sum, keys)
    return dsk, "sink"


def overhead(args):
    import dask
    import dask.threaded
    import dask.local

    out = {"dask": dask.__version__, "n": args.n}
    dsk, last = chain_graph(args.n)
    result = dask.threaded.get(dsk, last)
    assert result == args.n, result
    out["chain_threaded"] = measure("chain threaded.get", lambda: dask.threaded.get(dsk, last), args.warmup, args.reps)
    out["chain_sync"] = measure("chain get_sync", lambda: dask.local.get_sync(dsk, last), args.warmup, args.reps)

    dsk, last = fanout_graph(args.n)
    result = dask.threaded.get(dsk, last)
    assert result == 2 * args.n, result
    out["fanout_threaded"] = measure("fan-out threaded.get", lambda: dask.threaded.get(dsk, last), args.warmup, args.reps)
    out["fanout_sync"] = measure("fan-out get_sync", lambda: dask.local.get_sync(dsk, last), args.warmup, args.reps)

    if args.distributed_n > 0:
        out["distributed"] = distributed_fanout(args)
    return out


def distributed_fanout(args):
    """Fan-out on an in-process LocalCluster; a smaller n, since each task costs ~1-2 ms there."""
    try:
        import logging
        from distributed import Client, LocalCluster
    except ImportError as e:
        return {"skipped": f"dask.distributed is not installed ({e})"}
    logging.getLogger("distributed").setLevel(logging.ERROR)
    n = args.distributed_n
    progress(f"starting LocalCluster(processes=False) for a {n}-task fan-out")
    cluster = LocalCluster(processes=False, n_workers=1, threads_per_worker=2, dashboard_address=None)
    client = Client(cluster)
    try:
        dsk, last = fanout_graph(n)
        assert client.get(dsk, last) == 2 * n
        res = measure(f"fan-out distributed n={n}", lambda: client.get(dsk, last), args.warmup, max(3, args.reps - 2))
        res["n"] = n
        import distributed
        res["version"] = distributed.__version__
        return res
    finally:
        client.close()
        cluster.close()


def engine(args):
    """The engine suite's peer: dask.distributed on a LocalCluster, timed per shape.

    - fanout: one source, n parallel incs of it, one sink (n + 2 tasks), one client.get
    - chain: x -> inc -> ... (--chain tasks), one client.get: every task waits for the previous one
    - workflows: --workflows independent three-task chains submitted at once with
      client.submit (as a client submits workflows), timed until all are gathered

    --processes runs the workers as processes (--workers of them, 1 thread each: the
    analogue of Petrel's warm worker processes); without it, one in-process worker
    with --workers threads.
    """
    try:
        import logging
        import distributed
        from distributed import Client, LocalCluster
    except ImportError as e:
        return {"skipped": f"dask.distributed is not installed ({e})"}
    import dask

    logging.getLogger("distributed").setLevel(logging.ERROR)
    out = {"dask": dask.__version__, "distributed": distributed.__version__}
    kind = f"processes={args.workers}x1" if args.processes else f"threads=1x{args.workers}"
    out["cluster"] = kind
    progress(f"starting LocalCluster({kind})")
    if args.processes:
        cluster = LocalCluster(processes=True, n_workers=args.workers, threads_per_worker=1, dashboard_address=None)
    else:
        cluster = LocalCluster(processes=False, n_workers=1, threads_per_worker=args.workers, dashboard_address=None)
    client = Client(cluster)
    client.wait_for_workers(args.workers if args.processes else 1)
    try:
        n = args.n
        dsk, last = fanout_graph(n)
        assert client.get(dsk, last) == 2 * n
        out["fanout"] = measure(f"distributed fan-out n={n}", lambda: client.get(dsk, last), args.warmup, args.reps)
        out["fanout"]["n"] = n + 2

        # Keys of their own: the scheduler may still hold the fan-out's "inc-*" results
        # (released asynchronously after client.get), and would hand those back.
        k = args.chain
        dsk = {"hop-x": 0}
        last = "hop-x"
        for i in range(k):
            dsk[f"hop-{i}"] = (inc, last)
            last = f"hop-{i}"
        assert client.get(dsk, last) == k
        out["chain"] = measure(f"distributed chain k={k}", lambda: client.get(dsk, last), args.warmup, args.reps)
        out["chain"]["n"] = k

        w = args.workflows

        def workflows():
            finals = []
            for i in range(w):
                a = client.submit(inc, i, pure=False)
                b = client.submit(inc, a, pure=False)
                finals.append(client.submit(inc, b, pure=False))
            results = client.gather(finals)
            assert results == [i + 3 for i in range(w)], results[:5]

        out["workflows"] = measure(f"distributed {w} three-task chains", workflows, args.warmup, args.reps)
        out["workflows"]["n"] = w
        return out
    finally:
        client.close()
        cluster.close()


def build(args):
    import dask
    from dask import delayed

    n = args.n
    out = {"dask": dask.__version__, "n": n}
    out["dict_chain"] = measure("graph dict (chain)", lambda: chain_graph(n), args.warmup, args.reps)
    out["dict_fanout"] = measure("graph dict (fan-out)", lambda: fanout_graph(n), args.warmup, args.reps)

    dinc = delayed(inc, pure=False)
    dsum = delayed(sum, pure=False)

    def delayed_chain(m):
        h = 0
        for _ in range(m):
            h = dinc(h)
        return h

    def delayed_fanout():
        src = dinc(0)
        return dsum([dinc(src) for _ in range(n)])

    # A dask.delayed chain grows quadratically (every call merges the whole
    # HighLevelGraph so far): 10k nodes take 10+ s, so it is timed at a smaller n.
    m = args.delayed_chain_n
    out["delayed_chain"] = measure(f"dask.delayed chain n={m}", lambda: delayed_chain(m), args.warmup, args.reps)
    out["delayed_chain"]["n"] = m
    out["delayed_fanout"] = measure("dask.delayed fan-out", delayed_fanout, args.warmup, args.reps)
    return out


def dataframe(args):
    """pandas <-> Arrow IPC for the benchmark frame (same columns as bench/data.ts), if pyarrow exists."""
    try:
        import pyarrow as pa
    except ImportError as e:
        return {"skipped": f"pyarrow is not installed ({e}); Debian 12 packages no python3-pyarrow"}
    import numpy as np
    import pandas as pd

    n = args.rows
    i = np.arange(n, dtype=np.int64)
    df = pd.DataFrame({"id": i, "value": i / 4 + 0.1, "name": [f"user_{k}" for k in range(n)], "flag": i % 3 == 0})

    def to_ipc():
        table = pa.Table.from_pandas(df, preserve_index=False)
        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, table.schema) as w:
            w.write_table(table)
        return sink.getvalue()

    data = to_ipc()
    out = {"pyarrow": pa.__version__, "pandas": pd.__version__, "rows": n, "bytes": data.size}
    out["pandas_to_ipc"] = measure("pandas -> arrow IPC", to_ipc, args.warmup, args.reps)
    out["ipc_to_pandas"] = measure(
        "arrow IPC -> pandas", lambda: pa.ipc.open_stream(data).read_all().to_pandas(), args.warmup, args.reps
    )
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("suite", choices=["overhead", "build", "dataframe", "engine", "info"])
    p.add_argument("--rows", type=int, default=1_000_000)
    p.add_argument("--n", type=int, default=10_000)
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--distributed-n", type=int, default=0)
    p.add_argument("--delayed-chain-n", type=int, default=1000)
    p.add_argument("--chain", type=int, default=50, help="engine: tasks in the dependent chain")
    p.add_argument("--workflows", type=int, default=400, help="engine: three-task chains submitted at once")
    p.add_argument("--workers", type=int, default=2, help="engine: worker processes (--processes) or threads")
    p.add_argument("--processes", action="store_true", help="engine: workers as processes")
    args = p.parse_args()
    if args.suite == "overhead":
        out = overhead(args)
    elif args.suite == "build":
        out = build(args)
    elif args.suite == "dataframe":
        out = dataframe(args)
    elif args.suite == "engine":
        out = engine(args)
    else:
        import dask
        out = {"dask": dask.__version__, "python": sys.version.split()[0]}
    out["python"] = sys.version.split()[0]
    json.dump(out, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
