#!/usr/bin/python3
"""torch_bench.py: the benchmark models in PyTorch eager mode, timed as
bench/harness.c times the nnc-generated code.

    torch_bench.py MODE --model NAME --threads T --data X [--labels Y]
                   [--batch B] [--steps S] [--calls C] [--batches K]
                   [--warmup W] [--reps R] [--limit N]

`torch_bench.py env` prints the torch version and the BLAS library it
loaded.  MODE is train, latency or throughput; NAME is fashion_mlp, fashion_lenet or
wide_mlp (the same shapes, loss and optimizer as examples/fashion_mlp.nn,
examples/fashion_lenet.nn and bench/wide_mlp.nn).  Output lines are
`key=value` and `key_runs=v1,v2,...`, as the harness prints them, and
cpu_util (process CPU time over wall time in the timed runs).

  train       R timed runs of S optimizer steps (zero_grad, forward,
              cross_entropy, backward, step) on consecutive real batches of
              B samples, after W untimed warm-up steps: train_samples_per_sec.
  latency     R runs of C single-sample forward calls (eval mode, no_grad),
              each timed; the median call of a run, the median run:
              latency_us.
  throughput  R timed runs of K forward calls on B samples each (eval,
              no_grad): infer_samples_per_sec.

Data: Fashion-MNIST IDX files (optionally .gz), uint8 pixels divided by 255
as nnc's runtime and torchvision's ToTensor do.
"""

import argparse
import gzip
import os
import statistics
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


def load_idx(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        raw = f.read()
    if raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        sys.exit(f"torch_bench: {path}: not a uint8 IDX file")
    rank = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(rank)]
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * rank)
    return data.reshape(dims)


def make_model(name):
    """The model and its optimizer, as the .nn files define them."""
    if name == "fashion_mlp":
        m = nn.Sequential(nn.Linear(784, 256), nn.ReLU(),
                          nn.Linear(256, 128), nn.ReLU(),
                          nn.Linear(128, 10))
        return m, torch.optim.SGD(m.parameters(), lr=0.05, momentum=0.9), [784]
    if name == "wide_mlp":
        m = nn.Sequential(nn.Linear(784, 2048), nn.ReLU(),
                          nn.Linear(2048, 2048), nn.ReLU(),
                          nn.Linear(2048, 10))
        return m, torch.optim.SGD(m.parameters(), lr=0.05, momentum=0.9), [784]
    if name == "fashion_lenet":
        m = nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Flatten(),
                          nn.Linear(400, 120), nn.ReLU(),
                          nn.Linear(120, 84), nn.ReLU(),
                          nn.Linear(84, 10))
        return m, torch.optim.Adam(m.parameters(), lr=0.001), [1, 28, 28]
    sys.exit(f"torch_bench: unknown model '{name}'")


class Util:
    """Process CPU time over wall time across the timed runs (all threads:
    about 1 per busy thread when nothing else competed for the cores)."""

    def __init__(self):
        self.wall = self.cpu = 0.0

    def __enter__(self):
        self.w0, self.c0 = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc):
        self.wall += time.perf_counter() - self.w0
        self.cpu += time.process_time() - self.c0

    def report(self):
        print(f"cpu_util={self.cpu / self.wall if self.wall > 0 else 0:.2f}")


def print_runs(key, runs, fmt):
    print(f"{key}_runs=" + ",".join(f"{r:.6g}" for r in runs))
    print(f"{key}={statistics.median(runs):{fmt}}")


def env():
    """torch_bench.py env: the PyTorch build and the BLAS it loaded."""
    print(f"torch_version={torch.__version__}")
    print(f"numpy_version={np.__version__}")
    print(f"torch_default_threads={torch.get_num_threads()}")
    torch.mm(torch.ones(8, 8), torch.ones(8, 8))  # make sure BLAS is mapped
    libs = set()
    with open("/proc/self/maps") as f:
        for line in f:
            path = line.split()[-1]
            name = path.rsplit("/", 1)[-1]
            if any(k in name for k in ("blas", "mkl", "dnnl", "gomp", "omp.so")):
                libs.add(os.path.realpath(path))
    print("torch_libs=" + ",".join(sorted(libs)))
    caps = [ln.split(":", 1)[1].strip() for ln in torch.__config__.show().splitlines()
            if "CPU capability usage" in ln]
    print(f"torch_cpu_capability={caps[0] if caps else '?'}")


def main():
    ap = argparse.ArgumentParser(usage=__doc__)
    if len(sys.argv) > 1 and sys.argv[1] == "env":
        return env()
    ap.add_argument("mode", choices=["train", "latency", "throughput"])
    ap.add_argument("--model", required=True)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--data", required=True)
    ap.add_argument("--labels")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--calls", type=int, default=1000)
    ap.add_argument("--batches", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=-1)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--limit", type=int, default=0)
    a = ap.parse_args()

    torch.set_num_threads(a.threads)
    util = Util()
    torch.manual_seed(1)
    model, opt, shape = make_model(a.model)

    images = load_idx(a.data)
    n = images.shape[0] if not a.limit else min(a.limit, images.shape[0])
    x = torch.from_numpy(images[:n].astype(np.float32) / 255.0).reshape([n] + shape).contiguous()

    if a.mode == "train":
        if not a.labels:
            sys.exit("torch_bench: train needs --labels")
        y = torch.from_numpy(load_idx(a.labels)[:n].astype(np.int64))
        b = a.batch
        nb = n // b
        xs = [x[i * b:(i + 1) * b] for i in range(nb)]   # views, no copies
        ys = [y[i * b:(i + 1) * b] for i in range(nb)]
        model.train()
        nxt = 0

        def step():
            nonlocal nxt
            opt.zero_grad()
            loss = F.cross_entropy(model(xs[nxt]), ys[nxt])
            loss.backward()
            opt.step()
            nxt = (nxt + 1) % nb
            return loss

        for _ in range(a.warmup if a.warmup >= 0 else 2):
            step()
        runs = []
        loss = None
        for _ in range(a.reps):
            with util:
                t0 = time.perf_counter()
                for _ in range(a.steps):
                    loss = step()
                runs.append(a.steps * b / (time.perf_counter() - t0))
        print_runs("train_samples_per_sec", runs, ".1f")
        print(f"train_last_loss={loss.item():.6f}")
    elif a.mode == "latency":
        model.eval()
        singles = [x[i:i + 1] for i in range(n)]
        nxt = 0
        with torch.no_grad():
            for _ in range(a.warmup if a.warmup >= 0 else 50):
                model(singles[nxt])
                nxt = (nxt + 1) % n
            runs = []
            for _ in range(a.reps):
                t = []
                with util:
                    for _ in range(a.calls):
                        s = singles[nxt]
                        t0 = time.perf_counter()
                        model(s)
                        t.append(time.perf_counter() - t0)
                        nxt = (nxt + 1) % n
                runs.append(1e6 * statistics.median(t))
        print_runs("latency_us", runs, ".3f")
    else:
        model.eval()
        b = a.batch
        nb = n // b
        xs = [x[i * b:(i + 1) * b] for i in range(nb)]
        nxt = 0
        with torch.no_grad():
            for _ in range(a.warmup if a.warmup >= 0 else 2):
                model(xs[nxt])
                nxt = (nxt + 1) % nb
            runs = []
            for _ in range(a.reps):
                with util:
                    t0 = time.perf_counter()
                    for _ in range(a.batches):
                        model(xs[nxt])
                        nxt = (nxt + 1) % nb
                    runs.append(a.batches * b / (time.perf_counter() - t0))
        print_runs("infer_samples_per_sec", runs, ".1f")
    util.report()
    print(f"threads={torch.get_num_threads()}")


if __name__ == "__main__":
    main()
