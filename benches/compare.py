#!/usr/bin/env python3
"""Side-by-side render benchmark: `kubectl kustomize` against `kubectl-dimtensor render --overlay`
on the same generated corpus (benches/corpus/), for each N given.

For each N it writes the corpus, checks that both tools render the same documents (parsed; map
key order ignored, document and list order kept), then runs the two in turn (pairs, so a noisy
machine slows both alike) and reports the median wall time and peak RSS of each, and the ratios.
Wall time is measured around each run, peak RSS by /usr/bin/time (Debian package `time`).

Usage (from the repository root; needs PyYAML, which .ci/run installs into its venv):
    cargo build --release --workspace --bins --examples
    python3 benches/compare.py --kubectl "$DIMTENSOR_KUBECTL" --variants --cluster 100 1 10 100 1000

With --cluster N it also installs N apps (4N+1 objects) into the test API server and times
`kubectl-dimtensor diff NAME` against `kubectl diff --server-side` of the same render, at each
--latency-ms round trip (default 0 and 20) with --write-cpu-ms of server CPU per write (default 8,
what a real v1.24 server spent per dry-run apply), for 0, 1 and 40 changed objects: wall time
(median), requests sent and connections opened (the server counts them; over HTTPS each
connection is a TLS handshake). `--no-render` skips the render tables.

Prints Markdown tables for benches/RESULTS.md. Not run by CI (N=1000 takes minutes in
Kustomize); CI checks the equality part up to N=100 in tests/differential/bench_corpus.rs.
"""

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

try:
    import yaml
except ImportError:
    sys.exit("compare.py needs PyYAML (pip install PyYAML==6.0.3)")


def run(cmd, stdout, ok=(0,)):
    """Runs cmd once; returns (wall seconds, peak RSS in MiB). Exit codes outside `ok` end the script.

    The RSS comes from /usr/bin/time -f %M: Linux carries a process's peak RSS across fork and
    exec, so measured from this (large) Python process it would count Python's own memory.
    """
    with tempfile.NamedTemporaryFile(mode="r") as rss:
        start = time.perf_counter()
        proc = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", rss.name] + cmd, stdout=stdout, stderr=subprocess.PIPE)
        wall = time.perf_counter() - start
        if proc.returncode not in ok:
            sys.exit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr.decode(errors='replace')}")
        kib = int(rss.read().split()[-1])
    return wall, kib / 1024.0


def documents(path):
    with open(path) as f:
        return [d for d in yaml.safe_load_all(f) if d is not None]


def check_equal(kubectl, ours, overlay, work):
    """Renders once with each tool and compares the parsed documents."""
    outputs = {}
    for name, cmd in (("kustomize", [kubectl, "kustomize", overlay]), ("dimtensor", [ours, "render", "--overlay", overlay])):
        path = os.path.join(work, name + ".yaml")
        with open(path, "wb") as out:
            run(cmd, out)
        outputs[name] = path
    theirs, mine = documents(outputs["kustomize"]), documents(outputs["dimtensor"])
    if theirs != mine:
        sys.exit(f"outputs differ for {overlay}: compare {outputs['kustomize']} and {outputs['dimtensor']}")
    return len(mine), os.path.getsize(outputs["dimtensor"])


def timed(cmd, stdout, ok):
    """Wall time of one run, without the /usr/bin/time wrapper (which adds a millisecond)."""
    start = time.perf_counter()
    proc = subprocess.run(cmd, stdout=stdout, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    if proc.returncode not in ok:
        sys.exit(f"{' '.join(cmd)} failed ({proc.returncode})")
    return wall


def measure(cmds, runs, ok=(0,), rss=True):
    """Runs each command in turn, `runs` rounds, alternating which goes first: the median wall
    time, and (`rss`) the peak RSS of two more runs under /usr/bin/time."""
    samples = {name: [] for name in cmds}
    names = list(cmds)
    with open(os.devnull, "wb") as null:
        for i in range(runs):
            for name in names if i % 2 == 0 else reversed(names):
                samples[name].append(timed(cmds[name], null, ok))
        peak = {name: max(run(cmds[name], null, ok)[1] for _ in range(2)) if rss else 0 for name in names}
    return {name: (statistics.median(s), peak[name]) for name, s in samples.items()}


def change_configmaps(work, k):
    """Changes the first k apps' ConfigMaps (one object each), as tests/request_counts.rs does."""
    for i in range(k):
        path = os.path.join(work, "base", f"app{i:04d}-configmap.yaml")
        with open(path) as f:
            text = f.read()
        with open(path, "w") as f:
            f.write(text.replace("DIMTENSOR_UNITS: SI", "DIMTENSOR_UNITS: CGS"))


def stats(url):
    with urllib.request.urlopen(url + "/debug/test-apiserver/stats") as r:
        return json.load(r)


def counted(cmd, url):
    """Runs cmd once; the requests it sent and the connections it opened, from the server's count."""
    before = stats(url)
    with open(os.devnull, "wb") as null:
        subprocess.run(cmd, stdout=null, stderr=subprocess.DEVNULL)
    after = stats(url)
    # The stats request itself is one request and, without keep-alive, one connection.
    return after["requests"] - before["requests"] - 1, after["connections"] - before["connections"] - 1


def cluster_diff(args, n):
    """`diff NAME` of an installed corpus against `kubectl diff --server-side -f` of the same render, on
    the test API server with an injected round trip and a CPU cost per write (dry run or not), for
    0, 1 and 40 changed objects."""
    print(f"\n`diff` of {4 * n + 1} installed objects; test API server burning {args.write_cpu_ms} ms of CPU per write")
    print("\n| round trip | changed | kubectl diff --server-side s | requests | connections "
          "| dimtensor diff s | requests | connections | speed-up | load |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for latency in args.latency_ms:
        with tempfile.TemporaryDirectory(prefix=f"dimtensor-cluster-{n}-") as work:
            subprocess.run([args.corpus, str(n), work], check=True, capture_output=True)
            overlay, kubeconfig = os.path.join(work, "overlay"), os.path.join(work, "kubeconfig")
            server = subprocess.Popen(
                [args.apiserver, "--kubeconfig", kubeconfig, "--namespace", "bench", "--anonymous-user", "admin",
                 "--latency-ms", str(latency), "--write-cpu-ms", str(args.write_cpu_ms)],
                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
            )
            try:
                url = server.stdout.readline().strip()
                common = ["--kubeconfig", kubeconfig, "-n", "bench"]
                subprocess.run(
                    [args.ours, "install", "bench", "--overlay", overlay, "--yes", "--create-namespace"] + common,
                    check=True, capture_output=True,
                )
                for k in (0, 1, 40):
                    change_configmaps(work, k)
                    rendered = os.path.join(work, f"rendered-{k}.yaml")
                    with open(rendered, "wb") as out:
                        run([args.ours, "render", "bench", "--overlay", overlay, "-n", "bench"], out)
                    cmds = {
                        "kubectl": [args.kubectl, "diff", "--server-side", "--force-conflicts",
                                    "--field-manager", "kubectl-dimtensor/bench", "-f", rendered,
                                    "--cache-dir", os.path.join(work, "kcache")] + common,
                        "dimtensor": [args.ours, "diff", "bench", "--overlay", overlay] + common,
                    }
                    load = os.getloadavg()[0]
                    r = measure(cmds, args.runs or 3, ok=(0, 1), rss=False)
                    (kt, _), (ot, _) = r["kubectl"], r["dimtensor"]
                    (kr, kc), (orq, oc) = counted(cmds["kubectl"], url), counted(cmds["dimtensor"], url)
                    print(f"| {latency} ms | {k} | {kt:.3f} | {kr} | {kc} | {ot:.3f} | {orq} | {oc} | {kt / ot:.1f}x "
                          f"| {load:.1f} |", flush=True)
            finally:
                server.terminate()
                server.wait()


def default_runs(n):
    return 3 if n >= 1000 else 5 if n >= 100 else 11


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("sizes", nargs="*", type=int, default=[1, 10, 100, 1000])
    ap.add_argument("--kubectl", default=os.environ.get("DIMTENSOR_KUBECTL", "kubectl"))
    ap.add_argument("--ours", default="target/release/kubectl-dimtensor")
    ap.add_argument("--corpus", default="target/release/examples/corpus")
    ap.add_argument("--runs", type=int, help="rounds per N (default: 11, 5 from N=100, 3 from N=1000)")
    ap.add_argument("--apiserver", default="target/release/test-apiserver")
    ap.add_argument("--variants", action="store_true", help="also time our built-in overlays as whole processes")
    ap.add_argument("--cluster", type=int, metavar="N", help="also time `diff` of N installed apps against kubectl diff")
    ap.add_argument("--latency-ms", type=float, nargs="+", default=[0, 20], help="round trips for --cluster")
    ap.add_argument("--write-cpu-ms", type=float, default=8, help="server CPU per write for --cluster")
    ap.add_argument("--no-render", action="store_true", help="only the --cluster part")
    args = ap.parse_args()

    version = subprocess.run([args.kubectl, "version", "--client"], capture_output=True, text=True).stdout
    print(f"Machine: {platform.machine()}, {os.cpu_count()} cores, {platform.platform()}; load {os.getloadavg()[0]:.2f}")
    print(f"Reference: {' '.join(version.split())}")
    print()
    if args.no_render:
        args.sizes = []
    else:
        print("| N | resources | YAML | kustomize s | kustomize MiB | dimtensor s | dimtensor MiB | speed-up | RSS ratio |")
        print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    ours_times = {}
    for n in args.sizes:
        with tempfile.TemporaryDirectory(prefix=f"dimtensor-corpus-{n}-") as work:
            subprocess.run([args.corpus, str(n), work], check=True, capture_output=True)
            overlay = os.path.join(work, "overlay")
            count, size = check_equal(args.kubectl, args.ours, overlay, work)
            cmds = {"kustomize": [args.kubectl, "kustomize", overlay], "dimtensor": [args.ours, "render", "--overlay", overlay]}
            r = measure(cmds, args.runs or default_runs(n))
        (kt, km), (ot, om) = r["kustomize"], r["dimtensor"]
        ours_times[n] = ot
        print(
            f"| {n} | {count} | {size / 1e6:.2f} MB | {kt:.3f} | {km:.0f} | {ot:.4f} | {om:.1f} "
            f"| {kt / ot:.0f}x | {km / om:.1f}x |",
            flush=True,
        )
    if 100 in ours_times and 1000 in ours_times:
        print(f"\ndimtensor time(N=1000) / time(N=100) = {ours_times[1000] / ours_times[100]:.1f}")
    if args.variants:
        print("\n| built-in overlay | dimtensor s (median of 21) | MiB |")
        print("|---|---:|---:|")
        for overlay in ["(none: chart defaults)", "inference", "training", "batch", "cronjob"]:
            cmd = [args.ours, "render"] + ([] if overlay.startswith("(") else ["--overlay", overlay])
            (t, m) = measure({"x": cmd}, 21)["x"]
            print(f"| {overlay} | {t:.4f} | {m:.1f} |")
    if args.cluster:
        cluster_diff(args, args.cluster)


if __name__ == "__main__":
    main()
