"""Times Jupyter kernels the way a notebook user meets them, through jupyter_client.

Usage: kernel_peer.py KERNEL_NAME [--cells N] [--reps N]. Prints one JSON object:
start (s), start to the first cell's result (s), trivial cell (ms, median), a cell
defining a 20-line function (ms, median), and RSS growth per declaring cell over N
cells (MB). Language is chosen from the
kernelspec: TypeScript for petrel and tslab, Python for python3.
"""
import json, statistics, sys, time

from jupyter_client.manager import start_new_kernel


def rss_mb(km):
    pid = km.provisioner.process.pid
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def run(kc, code):
    started = time.perf_counter()
    reply = kc.execute_interactive(code, timeout=120, output_hook=lambda m: None)
    elapsed = (time.perf_counter() - started) * 1000
    if reply["content"]["status"] != "ok":
        raise RuntimeError(f"cell failed: {reply['content']}")
    return elapsed


def function_cell(lang, i):
    if lang == "python":
        body = "\n".join(f"    acc += x * {k}" for k in range(18))
        return f"def f{i}(x):\n    acc = 0\n{body}\n    return acc"
    body = "\n".join(f"  acc += x * {k};" for k in range(18))
    return f"function f{i}(x: number): number {{\n  let acc = 0;\n{body}\n  return acc;\n}}"


def main():
    name = sys.argv[1]
    cells = int(sys.argv[sys.argv.index("--cells") + 1]) if "--cells" in sys.argv else 300
    reps = int(sys.argv[sys.argv.index("--reps") + 1]) if "--reps" in sys.argv else 30
    lang = "python" if name.startswith("python") else "typescript"
    starts = []
    first_cells = []
    for _ in range(3):
        t0 = time.perf_counter()
        km, kc = start_new_kernel(kernel_name=name, startup_timeout=120)
        starts.append(time.perf_counter() - t0)
        # What a user who runs a cell right away waits for: a kernel that answers
        # kernel_info early and loads its compiler afterwards pays for it here.
        run(kc, "1 + 1")
        first_cells.append(time.perf_counter() - t0)
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    km, kc = start_new_kernel(kernel_name=name, startup_timeout=120)
    try:
        run(kc, "1 + 1")
        run(kc, function_cell(lang, 0))
        trivial = [run(kc, "1 + 1") for _ in range(reps)]
        functions = [run(kc, function_cell(lang, i + 1)) for i in range(reps)]
        before = rss_mb(km)
        for i in range(cells):
            decl = f"x{i} = {i}" if lang == "python" else f"const x{i} = {i};"
            run(kc, decl)
        after = rss_mb(km)
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    print(json.dumps({
        "start_s": statistics.median(starts),
        "first_cell_s": statistics.median(first_cells),
        "trivial_ms": statistics.median(trivial),
        "function_ms": statistics.median(functions),
        "rss_mb_per_cell": (after - before) / cells,
        "cells": cells,
    }))


if __name__ == "__main__":
    main()
