#!/bin/sh
# bench/ab.sh: this tree's generated code against a baseline commit's,
# side by side in one run (what `make bench-ab BASE=REV` runs).
#
#   bench/ab.sh REV              e.g. bench/ab.sh HEAD~5, bench/ab.sh v1.0
#
# Why: make bench's figures move with the machine (this 2-core VM's peak
# FLOP/s has varied by 1.5x between days), so "no figure more than 5%
# below the previous run's" can only be judged against the previous code
# timed on the same machine at the same time.  This script checks REV out
# into a git worktree, builds its nnc and runtime there, builds every
# bench model with each compiler (each tree with its own bench/harness.c
# and runtime, since the C API may differ between them), and times the
# two builds of each figure alternately: ROUNDS rounds, base first in odd
# rounds and head first in even ones, so that drift and noise fall on both
# alike.  It prints each figure's medians and, as the verdict, the median
# over the rounds of head/base of the two runs made one right after the
# other (above 1: head faster; latency is inverted so that above 1 is
# always better), and marks figures more than 5% worse.  No PyTorch: make bench compares with
# PyTorch; this compares nnc with itself.
#
# Environment: NNC_CFLAGS (default -O3 -march=native), NNC_PLAIN_CFLAGS
# (default -O2), ROUNDS (default 5), BENCH_OUT (default build/bench-ab),
# FASHION_MNIST (default /usr/share/datasets/fashion-mnist),
# AB_MODELS (names among fashion_mlp fashion_lenet wide_mlp; default all),
# OMP_WAIT_POLICY (default passive, as the generated program and
# bench/run.sh run).
# Exits 0 after printing the table (a benchmark, not a test), 2 on usage
# errors, 1 when something fails to build or run.
set -eu

[ $# -eq 1 ] || { echo "usage: bench/ab.sh REV  (a commit to compare this tree with)" >&2; exit 2; }
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
cd "$root"
base_rev=$(git rev-parse --verify --quiet "$1^{commit}") ||
    { echo "bench/ab.sh: $1 is not a commit of this repository" >&2; exit 2; }

NNC_CFLAGS=${NNC_CFLAGS:--O3 -march=native}
PLAIN_CFLAGS=${NNC_PLAIN_CFLAGS:--O2}
ROUNDS=${ROUNDS:-5}
OUT=${BENCH_OUT:-build/bench-ab}
DATA=${FASHION_MNIST:-/usr/share/datasets/fashion-mnist}
CC=${CC:-cc}
MODELS=${AB_MODELS:-fashion_mlp fashion_lenet wide_mlp}
OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}
export OMP_WAIT_POLICY
TRX="$DATA/train-images-idx3-ubyte.gz"
TRY="$DATA/train-labels-idx1-ubyte.gz"
TEX="$DATA/t10k-images-idx3-ubyte.gz"
for f in "$TRX" "$TRY" "$TEX"; do
    [ -r "$f" ] || { echo "bench/ab.sh: missing $f (package dataset-fashion-mnist)" >&2; exit 1; }
done
say() { printf '%s\n' "bench-ab: $*" >&2; }

make -s all >&2
rm -rf "$OUT"
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
git worktree prune
say "building base $(git rev-parse --short "$base_rev")"
git worktree add --detach --force "$OUT/base" "$base_rev" >/dev/null 2>&1
trap 'git worktree remove --force "$OUT/base" 2>/dev/null || true' EXIT
trap 'exit 1' INT TERM HUP
(cd "$OUT/base" && make -s all >/dev/null 2>&1) || { say "the base does not build"; exit 1; }

# model facts: source, training batch, steps, latency calls, b256 batches
# (the same work as bench/run.sh's rows, one timed run per call)
facts() {
    case $1 in
    fashion_mlp) echo "examples/fashion_mlp.nn 64 200 500 20" ;;
    fashion_lenet) echo "examples/fashion_lenet.nn 64 100 300 10" ;;
    wide_mlp) echo "bench/wide_mlp.nn 256 2 40 2" ;;
    *) say "unknown model $1"; exit 2 ;;
    esac
}

# build TREE NAME NN BATCH KIND THREADS CFLAGS: the harness of one figure,
# made by TREE's nnc from TREE's copy of the model
build() {
    d="$OUT/$1/$2.$5.$6"
    omp=""
    [ "$6" -gt 1 ] && omp="-fopenmp"
    mkdir -p "$d"
    (cd "$(tree "$1")" && build/nnc "$3" --batch "$4" --threads "$6" -o "$d" >/dev/null &&
        # shellcheck disable=SC2086 # flags are words on purpose
        $CC -std=c99 $7 $omp -DMODEL="$2" -I"$d" -Iruntime bench/harness.c "$d/$2.c" \
            build/libnnrt.a -lz -lm -o "$d/harness") || { say "$1: building $2 ($5, $6 threads) failed"; exit 1; }
}
tree() { if [ "$1" = base ]; then echo "$OUT/base"; else echo "$root"; fi; }

for m in $MODELS; do
    set -- $(facts "$m")
    say "building $m"
    for side in base head; do
        for t in 1 2; do
            build $side "$m" "$1" "$2" train $t "$NNC_CFLAGS"
            build $side "$m" "$1" "$2" plain $t "$PLAIN_CFLAGS"
            build $side "$m" "$1" 256 infer $t "$NNC_CFLAGS"
        done
    done
done

# run SIDE NAME FIGURE THREADS: one timed run, its figure on stdout
run() {
    set -- "$1" "$2" "$3" "$4" $(facts "$2")
    case $3 in
    train | plain)
        "$OUT/$1/$2.$3.$4/harness" train --data "$TRX" --labels "$TRY" --batch "$6" \
            --steps "$7" --warmup 2 --reps 1 | sed -n 's/^train_samples_per_sec=//p' ;;
    latency)
        "$OUT/$1/$2.infer.$4/harness" latency --data "$TEX" --calls "$8" --reps 1 |
            sed -n 's/^latency_us=//p' ;;
    b256)
        "$OUT/$1/$2.infer.$4/harness" throughput --data "$TEX" --batch 256 --batches "$9" \
            --warmup 1 --reps 1 | sed -n 's/^infer_samples_per_sec=//p' ;;
    esac
}

R="$OUT/runs.txt"
: >"$R"
r=1
while [ "$r" -le "$ROUNDS" ]; do
    say "round $r of $ROUNDS"
    order="base head"
    [ $((r % 2)) -eq 0 ] && order="head base"
    for m in $MODELS; do
        for fig in train plain latency b256; do
            for t in 1 2; do
                for side in $order; do
                    v=$(run $side "$m" $fig $t)
                    [ -n "$v" ] || { say "$side $m $fig $t threads gave no figure"; exit 1; }
                    echo "$m $fig $t $side $v $r" >>"$R"
                done
            done
        done
    done
    r=$((r + 1))
done

# the table: medians per side, and the median over the rounds of head/base
# of the two runs made one after the other (latency inverted); a mark
# below 0.95.  The paired ratio is the verdict: on this machine a figure
# moves by 30% between minutes, far more than between the two runs of a
# pair.
echo "head $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- compiler runtime || echo ' (modified)') against base $(git rev-parse --short "$base_rev"), $ROUNDS rounds"
echo "CFLAGS: $NNC_CFLAGS; plain rows: $PLAIN_CFLAGS; OMP_WAIT_POLICY=$OMP_WAIT_POLICY"
printf '%-14s %-8s %-3s %12s %12s %9s\n' model figure thr "base median" "head median" head/base
awk '
function sort(a, n,   i, j, t) { for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j - 1] > a[j]; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t } }
function median(a, n) { sort(a, n); return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2 }
{ k = $1 " " $2 " " $3; if (!(k in seen)) { seen[k] = 1; keys[++nk] = k }
  if ($4 == "base") { b[k, ++nb[k]] = $5; bv[k, $6] = $5 } else { h[k, ++nh[k]] = $5; hv[k, $6] = $5 }
  if ((k, $6) in bv && (k, $6) in hv) r[k, ++nr[k]] = $2 == "latency" ? bv[k, $6] / hv[k, $6] : hv[k, $6] / bv[k, $6] }
END {
  worse = 0
  for (i = 1; i <= nk; i++) {
    k = keys[i]; split(k, f, " ")
    delete x; for (j = 1; j <= nb[k]; j++) x[j] = b[k, j]; mb = median(x, nb[k])
    delete x; for (j = 1; j <= nh[k]; j++) x[j] = h[k, j]; mh = median(x, nh[k])
    delete x; for (j = 1; j <= nr[k]; j++) x[j] = r[k, j]; ratio = median(x, nr[k])
    mark = ratio < 0.95 ? "  worse" : ""
    if (mark != "") worse++
    printf "%-14s %-8s %-3s %12.1f %12.1f %9.3f%s\n", f[1], f[2], f[3], mb, mh, ratio, mark
  }
  printf "%d figure(s) more than 5%% worse than the base (median of the paired ratios)\n", worse
}' "$R"
