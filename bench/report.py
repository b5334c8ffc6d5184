#!/usr/bin/python3
"""report.py: the table bench/run.sh prints, from its results file.

    report.py RESULTS.txt [--markdown OUT.md]

RESULTS.txt holds key=value lines (see bench/run.sh).  Prints a plain-text
table to stdout (and the same tables as Markdown to OUT.md): each metric
with nnc, PyTorch, the ratio, the target and whether it is met; then
GFLOP/s and the fraction of the measured peak; then the generated code
built with plain flags (PLAIN_CFLAGS, -O2 and no -march) against the
NNC_CFLAGS build; then int8 against float32 inference at batch 1 (the
same weights, the same flags, timed side by side: bench/int8_pair.c); then
the targets missed.
"""

import sys

MODELS = ["fashion_mlp", "fashion_lenet", "wide_mlp"]
TRAIN_TARGET = {"fashion_mlp": 1.5, "fashion_lenet": 3.0, "wide_mlp": 1.1}
LATENCY_TARGET = {"fashion_mlp": 8.0, "fashion_lenet": 15.0}
THROUGHPUT_TARGET = 1.5
SCALING_TARGET = {"fashion_lenet": 1.7, "wide_mlp": 1.7}
COMPILE_TARGET_MS = 50.0
PLAIN_TARGET = 0.5  # plain -O2 training / the -O3 -march=native build's
INT8_TARGET = 1.0  # int8 / float32 latency at batch 1, at most (issue 14)
INT8_MODELS = ["fashion_mlp", "fashion_lenet"]
DISTURBED = 0.85  # cpu_util below this on a 1-thread run: it was preempted
NO_THREADS = "n/a"


def load(path):
    r = {}
    with open(path) as f:
        for line in f:
            line = line.rstrip("\n")
            if "=" in line:
                k, v = line.split("=", 1)
                r[k] = v
    return r


def num(r, key):
    v = r.get(key)
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


def fmt_rate(v):
    return "-" if v is None else f"{v:,.0f}"


def fmt_us(v):
    return "-" if v is None else f"{v:,.1f}"


def fmt_x(v):
    return "-" if v is None else f"{v:.2f}x"


def main():
    args = sys.argv[1:]
    md_path = None
    if "--markdown" in args:
        i = args.index("--markdown")
        md_path = args[i + 1]
        del args[i:i + 2]
    if len(args) != 1:
        sys.exit(__doc__)
    r = load(args[0])

    rows = []     # metric, nnc, torch, ratio, target, met
    missed = []
    met_count = 0
    disturbed = False

    def mark(side, model, what, t, text):
        nonlocal disturbed
        u = num(r, f"{side}.{model}.{what}.{t}.util")
        if t == 1 and u is not None and u < DISTURBED:
            disturbed = True
            return text + "*"
        return text

    def cpu_ratio(model, what, t):
        """For 1-thread samples/s: the ratio of samples per CPU second
        (rate / cpu_util), which preemption by other load does not skew."""
        if t != 1:
            return "-"
        n, p = num(r, f"nnc.{model}.{what}.1"), num(r, f"torch.{model}.{what}.1")
        un, up = num(r, f"nnc.{model}.{what}.1.util"), num(r, f"torch.{model}.{what}.1.util")
        if not (n and p and un and up):
            return "-"
        return fmt_x((n / un) / (p / up))

    def verdict(metric, ratio, target, cmp=">="):
        nonlocal met_count
        if target is None:
            return "-", "-"
        tgt = f"{cmp} {target:g}x" if cmp == ">=" else f"< {target:g} ms"
        if ratio is None:
            missed.append(f"{metric}: not measured (n/a)")
            return tgt, "MISSED (n/a)"
        ok = ratio >= target if cmp == ">=" else ratio < target
        if ok:
            met_count += 1
            return tgt, "yes"
        missed.append(f"{metric}: {fmt_x(ratio) if cmp == '>=' else f'{ratio:.1f} ms'}"
                      f" against {tgt}")
        return tgt, "MISSED"

    for m in MODELS:
        if num(r, f"nnc.{m}.train.1") is None:
            continue
        for t in (1, 2):
            n = num(r, f"nnc.{m}.train.{t}")
            p = num(r, f"torch.{m}.train.{t}")
            ratio = n / p if n and p else None
            metric = f"{m} training samples/s, {t} thread{'s' if t > 1 else ''}"
            tgt, ok = verdict(metric, ratio, TRAIN_TARGET[m])
            rows.append([metric, mark("nnc", m, "train", t, fmt_rate(n)) if n else NO_THREADS,
                         mark("torch", m, "train", t, fmt_rate(p)), fmt_x(ratio) if ratio else NO_THREADS,
                         cpu_ratio(m, "train", t), tgt, ok])
        for t in (1, 2):
            n = num(r, f"nnc.{m}.latency.{t}")
            p = num(r, f"torch.{m}.latency.{t}")
            ratio = p / n if n and p else None
            metric = f"{m} latency batch 1 (us), {t} thread{'s' if t > 1 else ''}"
            tgt, ok = verdict(metric, ratio, LATENCY_TARGET.get(m))
            rows.append([metric, mark("nnc", m, "latency", t, fmt_us(n)) if n else NO_THREADS,
                         mark("torch", m, "latency", t, fmt_us(p)), fmt_x(ratio) if ratio else NO_THREADS,
                         "-", tgt, ok])
        for t in (1, 2):
            n = num(r, f"nnc.{m}.throughput.{t}")
            p = num(r, f"torch.{m}.throughput.{t}")
            ratio = n / p if n and p else None
            metric = f"{m} inference samples/s batch 256, {t} thread{'s' if t > 1 else ''}"
            tgt, ok = verdict(metric, ratio, THROUGHPUT_TARGET)
            rows.append([metric, mark("nnc", m, "throughput", t, fmt_rate(n)) if n else NO_THREADS,
                         mark("torch", m, "throughput", t, fmt_rate(p)), fmt_x(ratio) if ratio else NO_THREADS,
                         cpu_ratio(m, "throughput", t), tgt, ok])
        if m in SCALING_TARGET:
            n1, n2 = num(r, f"nnc.{m}.train.1"), num(r, f"nnc.{m}.train.2")
            p1, p2 = num(r, f"torch.{m}.train.1"), num(r, f"torch.{m}.train.2")
            metric = f"{m} training, 2 threads / 1 thread"
            s = n2 / n1 if n1 and n2 else None
            tgt, ok = verdict(metric, s, SCALING_TARGET[m])
            rows.append([metric, fmt_x(s) if s else NO_THREADS,
                         fmt_x(p2 / p1) if p1 and p2 else "-", "-", "-", tgt, ok])

    for k in sorted(k for k in r if k.startswith("compile_ms.")):
        ms = num(r, k)
        metric = f"nnc compile time, {k.split('.', 1)[1]}.nn (ms)"
        tgt, ok = verdict(metric, ms, COMPILE_TARGET_MS, cmp="<")
        rows.append([metric, f"{ms:.1f}", "-", "-", "-", tgt, ok])

    head = ["metric", "nnc", "PyTorch", "ratio", "CPU-time ratio", "target", "met?"]

    # The generated code built with plain flags against NNC_CFLAGS.
    native_fl, plain_fl = r.get("nnc_cflags", "?"), r.get("plain_cflags", "?")
    prows = []
    for m in MODELS:
        for t in (1, 2):
            n, q = num(r, f"nnc.{m}.train.{t}"), num(r, f"plain.{m}.train.{t}")
            if n is None or q is None:
                continue
            ratio = q / n if n else None
            un, uq = num(r, f"nnc.{m}.train.{t}.util"), num(r, f"plain.{m}.train.{t}.util")
            cpu = fmt_x((q / uq) / (n / un)) if t == 1 and un and uq else "-"
            metric = f"{m} training samples/s, {t} thread{'s' if t > 1 else ''}: {plain_fl} / {native_fl}"
            tgt, ok = verdict(metric, ratio, PLAIN_TARGET)
            prows.append([f"{m} training samples/s, {t} thread{'s' if t > 1 else ''}",
                          mark("nnc", m, "train", t, fmt_rate(n)), mark("plain", m, "train", t, fmt_rate(q)),
                          fmt_x(ratio), cpu, tgt, ok])
    phead = ["generated code", native_fl, plain_fl, "ratio", "CPU-time ratio", "target", "met?"]

    # int8 against float32, batch-1 latency, each flag set (issue 14).
    qrows = []
    for m in INT8_MODELS:
        for kind, fl in (("native", native_fl), ("plain", plain_fl)):
            f, q = num(r, f"int8.{m}.{kind}.f32_latency_us"), num(r, f"int8.{m}.{kind}.int8_latency_us")
            ratio = num(r, f"int8.{m}.{kind}.int8_over_f32")
            if f is None or q is None:
                continue
            metric = f"{m} batch-1 latency, {fl}: int8 / float32"
            tgt = f"<= {INT8_TARGET:g}x"
            if ratio is not None and ratio <= INT8_TARGET:
                met_count += 1
                ok = "yes"
            else:
                ok = "MISSED"
                missed.append(f"{metric}: {fmt_x(ratio)} against {tgt}")
            agree = num(r, f"int8.{m}.{kind}.agree")
            qrows.append([f"{m} latency batch 1 (us), {fl}", fmt_us(f), fmt_us(q), fmt_x(ratio),
                          "-" if agree is None else f"{agree:.3f}", tgt, ok])
    qhead = ["inference, 1 thread", "float32", "int8", "int8/float32", "same class", "target", "met?"]

    # GFLOP/s: training counts 3x the forward FLOPs per sample.
    # peak.T: the FMA loop on T threads, FLOPs over each thread's CPU time
    # (other load on the machine does not lower it).
    peak1 = num(r, "peak.1")
    peak2 = num(r, "peak.2") or (2 * peak1 if peak1 else None)
    frows = []
    for m in MODELS:
        f = num(r, f"flops.{m}")
        if f is None:
            continue
        for what, mult, label in (("train", 3.0, "training"), ("throughput", 1.0, "inference b256")):
            cells = [f"{m} {label}"]
            for side, t in (("nnc", 1), ("torch", 1), ("nnc", 2), ("torch", 2)):
                v = num(r, f"{side}.{m}.{what}.{t}")
                peak = peak1 if t == 1 else peak2
                if v is None:
                    cells.append(NO_THREADS)
                    continue
                g = v * f * mult / 1e9
                pct = f" ({100 * g / peak:.1f}%)" if peak else ""
                cells.append(f"{g:.2f}{pct}")
            frows.append(cells)
    fhead = ["GFLOP/s (% of peak)", "nnc 1 thread", "PyTorch 1 thread", "nnc 2 threads", "PyTorch 2 threads"]

    total = met_count + len(missed)
    blas = [x for x in r.get("torch_libs", "").split(",") if "blas" in x or "mkl" in x]
    kind = "?"
    if blas:
        b = blas[0]
        kind = ("OpenBLAS" if "openblas" in b else "MKL" if "mkl" in b
                else "BLIS" if "blis" in b
                else "the netlib reference BLAS (untuned)" if "/blas/" in b else b)
    notes = [] if "peak.1" not in r else [
        f"peak (FMA loop, {r.get('peak_isa.1', '?')}): {r.get('peak.1', '?')} GFLOP/s on 1 thread, "
        f"{r.get('peak.2', '?')} on 2 (256-bit FMA: {r.get('peak_avx2.1', '?')} / "
        f"{r.get('peak_avx2.2', '?')}); % of peak is against the thread count's figure"
    ] + [
        "ratio: nnc/PyTorch for samples/s, PyTorch/nnc (the speed-up) for latency; higher is better for nnc",
        "CPU-time ratio: the same from samples per CPU second (1 thread), a check on the wall-clock "
        "ratio when other load preempted a run; the targets are judged on the wall-clock ratio",
        f"PyTorch's dense layers call the system libblas.so.3, here {kind}"
        f"{' (' + blas[0] + ')' if blas else ''}; its convolutions use oneDNN; PyTorch runs with "
        "torch.set_num_threads(T) and OPENBLAS_NUM_THREADS = OMP_NUM_THREADS = T",
        "nnc's 2-thread figures: nnc --threads 2, compiled with -fopenmp; results equal 1 thread's bit for bit; "
        f"OMP_WAIT_POLICY={r.get('omp_wait_policy', 'unset')} (the generated program's default: passive)",
        f"generated code and harness compiled with {r.get('nnc_cflags', '?')}, and in the plain rows with "
        f"{r.get('plain_cflags', '?')} (no -march: SSE2 code whose GEMM, dotsum() and direct-convolution "
        "tiles dispatch at run time to AVX-512 or AVX2 + FMA copies)",
        "int8/float32: the median over the runs of each run's int8 median call over its float32 median "
        "call, the two builds alternating call by call in one process (bench/int8_pair.c); float32 is "
        "the --inference --batch 1 code of the same trained weights; same class: the fraction of calls "
        "whose two outputs pick the same class",
        "training GFLOP/s = samples/s x 3 x forward FLOPs per sample (from PROG info)",
        f"medians of {r.get('reps', '3')} timed runs after warm-up; load average "
        f"{r.get('load_before', '?')} before, {r.get('load_after', '?')} after",
    ]
    if disturbed:
        notes.append(f"* a 1-thread run whose CPU time was under {DISTURBED:.0%} of its wall time: "
                     "the process was preempted (other load on the machine)")

    def text_table(hd, rs):
        w = [max(len(str(x[i])) for x in [hd] + rs) for i in range(len(hd))]
        out = ["  ".join(str(c).ljust(w[i]) if i == 0 else str(c).rjust(w[i])
                         for i, c in enumerate(x)) for x in [hd] + rs]
        out.insert(1, "  ".join("-" * n for n in w))
        return "\n".join(out)

    def md_table(hd, rs):
        out = ["| " + " | ".join(hd) + " |",
               "|" + "|".join("---" if i == 0 else "---:" for i in range(len(hd))) + "|"]
        out += ["| " + " | ".join(str(c).replace("*", "\\*") for c in x) + " |" for x in rs]
        return "\n".join(out)

    summary = f"targets met: {met_count} of {total}"
    print()
    title = (f"nnc {r.get('nnc_commit', '?')} ({r.get('nnc_tree', '?')}) vs PyTorch "
             f"{r.get('torch_version', '?')} eager on {r.get('cpu', '?')} ({r.get('cores', '?')} cores); "
             f"generated code: {r.get('nnc_cflags', '?')}")
    print(title)
    print()
    if rows:  # (BENCH_ONLY=int8: only the int8 table)
        print(text_table(head, rows))
        print()
    if frows:
        print(text_table(fhead, frows))
        print()
    if prows:
        print(text_table(phead, prows))
        print()
    if qrows:
        print(text_table(qhead, qrows))
        print()
    for n in notes:
        print("  " + n)
    print()
    print(summary)
    for x in missed:
        print("  MISSED  " + x)

    if md_path:
        with open(md_path, "w") as f:
            f.write(title + "\n\n")
            if rows:
                f.write(md_table(head, rows) + "\n\n")
            if frows:
                f.write(md_table(fhead, frows) + "\n\n")
            if prows:
                f.write(md_table(phead, prows) + "\n\n")
            if qrows:
                f.write(md_table(qhead, qrows) + "\n\n")
            for n in notes:
                f.write("- " + n.replace("*", "\\*") + "\n")
            f.write(f"\n{summary}\n\n")
            for x in missed:
                f.write(f"- MISSED: {x}\n")


if __name__ == "__main__":
    main()
