"""`petzoo serve` over loopback beside in-process `petzoo.segment()`, on the same photos, in one run.

    python benchmarks/serve.py [--model M] [--mode mask] [--rounds 3] [--server-workers 2] [--markdown docs/serve.md]

In-process: one caller, ``petzoo.segment(path)`` then the same PNG the server would answer (the mode's
image, encoded). HTTP: a real ``petzoo serve`` subprocess on 127.0.0.1 and 1, 2 and 4 concurrent
clients (threads, httpx, one connection each) POSTing the photo files; the in-process caller and the
single client alternate photo by photo (the client opening a new connection for each), and their
photos/s is photos over the summed latencies. Photos: scikit-image's bundled photos (the ``demo`` extra),
each sent ``--rounds`` times, after a warm-up pass. Reported:
photos/s and p50/p95 latency per photo; the HTTP overhead at one client and the 4-client throughput
against the in-process single caller.
"""
from __future__ import annotations

import argparse
import io
import socket
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from inference import DEMO_PHOTOS  # noqa: E402

import petzoo  # noqa: E402
from petzoo import inference as S  # noqa: E402
from petzoo.profile import describe_device, format_table  # noqa: E402

REPO = Path(__file__).resolve().parent.parent


def photo_paths() -> list:
    import skimage

    return [Path(skimage.__file__).parent / "data" / name for name in DEMO_PHOTOS]


def in_process(paths, model: str, mode: str, rounds: int) -> list:
    latencies = []
    for _ in range(rounds):
        for path in paths:
            start = time.perf_counter()
            mask = S.segment(path, model=model)
            image = {"mask": lambda: S.mask_image(mask), "cutout": lambda: S.cutout(path, mask),
                     "overlay": lambda: S.overlay(path, mask)}[mode]()
            image.save(io.BytesIO(), format="PNG")
            latencies.append(time.perf_counter() - start)
    return latencies


def over_http(url: str, paths, mode: str, model: str, rounds: int, clients: int) -> tuple:
    import httpx

    bodies = [p.read_bytes() for p in paths]
    jobs = [b for _ in range(rounds) for b in bodies]

    def worker(share):
        times = []
        with httpx.Client(timeout=300) as client:
            for body in share:
                start = time.perf_counter()
                res = client.post(f"{url}/v1/segment", params={"mode": mode, "model": model},
                                  content=body, headers={"content-type": "application/octet-stream"})
                res.raise_for_status()
                times.append(time.perf_counter() - start)
        return times

    shares = [jobs[i::clients] for i in range(clients)]
    start = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        latencies = [t for part in pool.map(worker, shares) for t in part]
    return latencies, time.perf_counter() - start


def row(name: str, latencies: list, wall: float) -> dict:
    ms = sorted(t * 1000 for t in latencies)
    return {"path": name, "photos": len(ms), "photos/s": len(ms) / wall, "p50 ms": statistics.median(ms),
            "p95 ms": ms[min(len(ms) - 1, int(round(0.95 * (len(ms) - 1))))]}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default=S.DEFAULT_MODEL, choices=petzoo.list_models())
    p.add_argument("--mode", default="mask", choices=["mask", "cutout", "overlay"])
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--server-workers", type=int, default=2)
    p.add_argument("--markdown", type=Path, default=None)
    args = p.parse_args()
    paths = photo_paths()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen([sys.executable, "-m", "petzoo", "serve", "--port", str(port), "--model", args.model,
                               "--workers", str(args.server_workers), "--log-level", "warning"], cwd=REPO)
    url = f"http://127.0.0.1:{port}"
    try:
        import httpx

        for _ in range(600):
            try:
                if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        else:
            raise SystemExit("server did not become ready")
        in_process(paths, args.model, args.mode, 1)  # warm-up: model loaded, caches hot
        over_http(url, paths, args.mode, args.model, 1, 1)
        # in-process and one HTTP client alternate photo by photo, so that drift in the machine's speed hits both
        # (a new connection per photo); their photos/s is photos over the summed latencies
        local, http = [], []
        for _ in range(args.rounds):
            for path in paths:
                local += in_process([path], args.model, args.mode, 1)
                http += over_http(url, [path], args.mode, args.model, 1, 1)[0]
        rows = [row("in-process segment(), 1 caller", local, sum(local)), row("HTTP, 1 client(s)", http, sum(http))]
        for clients in (2, 4):
            lat, wall = over_http(url, paths, args.mode, args.model, args.rounds, clients)
            rows.append(row(f"HTTP, {clients} client(s)", lat, wall))
    finally:
        server.terminate()
        server.wait(timeout=30)
    base = rows[0]
    overhead = rows[1]["p50 ms"] / base["p50 ms"] - 1
    scale = rows[3]["photos/s"] / base["photos/s"]
    table = format_table(rows, ["path", "photos", "photos/s", "p50 ms", "p95 ms"])
    verdict = (f"HTTP overhead at 1 client: {overhead * 100:+.1f} % (p50; target <= 15 %); "
               f"4 clients: {scale:.2f}x the in-process single caller's photos/s (target >= 1.0x)")
    print(table)
    print(verdict)
    if args.markdown:
        args.markdown.write_text(
            "# `petzoo serve` beside in-process `segment()`\n\n"
            f"Generated by `python benchmarks/serve.py --model {args.model} --mode {args.mode} --rounds {args.rounds} "
            f"--server-workers {args.server_workers} --markdown {args.markdown.as_posix()}` on "
            f"{describe_device(torch.device('cpu'))}; photos: scikit-image's "
            f"{', '.join(DEMO_PHOTOS)}, each {args.rounds} times.\n\n" + __doc__.split("\n\n", 2)[2] + "\n"
            + table + "\n\n" + verdict + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
