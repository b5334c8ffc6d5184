#!/bin/sh
# bench/run.sh: nnc against PyTorch eager on Fashion-MNIST, side by side.
#
#   bench/run.sh            (what `make bench` runs; about 5-10 minutes)
#   BENCH_QUICK=1 bench/run.sh    one short run of everything (a smoke test)
#   BENCH_ONLY=int8 bench/run.sh  only the int8 rows (about 1 minute)
#
# Builds nnc, generates and compiles three models (examples/fashion_mlp.nn,
# examples/fashion_lenet.nn, bench/wide_mlp.nn), times them through the
# generated C API (bench/harness.c) and times the same models in PyTorch
# (bench/torch_bench.py), then prints one table of ratios against the
# targets (bench/report.py).  Everything is a median of 3 timed runs after
# warm-up, each run a fixed amount of work.  A benchmark, not a test: exits
# 0 when targets are missed, non-zero only when something fails to run.
#
# Training is also timed with the generated code built with plain
# NNC_PLAIN_CFLAGS (no -march: SSE2 and run-time dispatch to the CPU's
# AVX-512 or AVX2 copies of the hot functions), reported as a ratio to the
# NNC_CFLAGS build (target: at least 0.5).
#
# int8 (issue 14, docs/quantization.md): fashion_mlp and fashion_lenet are
# trained briefly, calibrated and compiled twice with the same weights,
# `--inference --batch 1` (float32) and `--inference --quantize int8`;
# bench/int8_pair.c times the two at batch 1 in one process, alternating
# call by call, built with NNC_CFLAGS and again with NNC_PLAIN_CFLAGS;
# reported as int8 / float32 latency (target: at most 1).
#
# Environment:
#   NNC_CFLAGS     flags for the generated code and the harness
#                  (default: -O3 -march=native)
#   NNC_PLAIN_CFLAGS  flags of the plain rows (default: -O2)
#   BENCH_OUT      where builds and results go (default: build/bench)
#   FASHION_MNIST  the dataset directory (default:
#                  /usr/share/datasets/fashion-mnist)
#   PYTHON         the Python with torch (default: /usr/bin/python3)
#   OMP_WAIT_POLICY  of nnc's runs (default: passive, as the generated
#                  program sets it; PyTorch's runs get the environment's)
#   BENCH_ONLY     int8: the machine's description and the int8 rows only
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
cd "$root"

NNC_CFLAGS=${NNC_CFLAGS:--O3 -march=native}
export NNC_CFLAGS
PLAIN_CFLAGS=${NNC_PLAIN_CFLAGS:--O2}
OUT=${BENCH_OUT:-build/bench}
[ "${BENCH_ONLY:-}" = int8 ] && OUT=${BENCH_OUT:-build/bench-int8}
DATA=${FASHION_MNIST:-/usr/share/datasets/fashion-mnist}
PY=${PYTHON:-/usr/bin/python3}
CC=${CC:-cc}
QUICK=${BENCH_QUICK:-0}
ONLY=${BENCH_ONLY:-}
case "$ONLY" in
"" | int8) ;;
*) printf 'bench: BENCH_ONLY=%s: only int8 is known\n' "$ONLY" >&2; exit 2 ;;
esac
REPS=3
[ "$QUICK" = 1 ] && REPS=1
# nnc's OpenMP threads wait as the generated program's do (runtime/driver.c
# sets passive unless the user chose): with libgomp's default, a waiting
# thread spins, and on this shared 2-core machine lenet's 2-thread training
# ran at 260-480 samples/s against 4,300-15,000 passive, paired runs under
# a load average of 7
WAIT=${OMP_WAIT_POLICY:-passive}

say() { printf '%s\n' "bench: $*" >&2; }

# ---- dependencies: the build, the dataset, python3-torch ------------------
# The toolchain through the project's script; torch, numpy and the dataset
# here, the same way (apt-get through sudo when not root, only if missing).
if [ -f scripts/install-deps.sh ]; then
    sh scripts/install-deps.sh build
fi
missing=""
# OpenBLAS, as the issue's PyTorch baseline had: without it Debian's torch runs
# nn.Linear on the reference BLAS, an unfairly slow opponent.
for p in python3-torch python3-numpy libopenblas0-pthread dataset-fashion-mnist; do
    [ "$p" = dataset-fashion-mnist ] && [ -r "$DATA/train-images-idx3-ubyte.gz" ] && continue
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    say "installing$missing"
    export DEBIAN_FRONTEND=noninteractive
    $sudo apt-get update -qq
    # shellcheck disable=SC2086
    $sudo apt-get install -y -qq --no-install-recommends $missing
fi
for f in train-images-idx3-ubyte.gz train-labels-idx1-ubyte.gz t10k-images-idx3-ubyte.gz; do
    [ -r "$DATA/$f" ] || { say "missing $DATA/$f (package dataset-fashion-mnist)"; exit 1; }
done
"$PY" -c 'import torch, numpy' || { say "$PY cannot import torch and numpy"; exit 1; }

make -s all >&2

rm -rf "$OUT"
mkdir -p "$OUT"
R="$OUT/results.txt"
: >"$R"
put() { printf '%s=%s\n' "$1" "$2" >>"$R"; }
# value of KEY in a key=value output file
get() { sed -n "s/^$1=//p" "$2" | tail -n 1; }
now_ns() { date +%s%N; }

# ---- the machine ------------------------------------------------------------
put cpu "$(lscpu | sed -n 's/^Model name: *//p' | head -n 1)"
put cores "$(nproc)"
put cc "$($CC --version | head -n 1)"
put nnc_cflags "$NNC_CFLAGS"
put plain_cflags "$PLAIN_CFLAGS"
put omp_wait_policy "$WAIT"
# which nnc: the commit, and whether the compiler sources differ from it
put nnc_commit "$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
if git diff --quiet HEAD -- compiler runtime grammar 2>/dev/null; then
    put nnc_tree clean
else
    put nnc_tree "compiler/runtime sources modified since that commit"
fi
put load_before "$(cut -d' ' -f1-3 /proc/loadavg)"
"$PY" bench/torch_bench.py env >"$OUT/torch_env.txt"
cat "$OUT/torch_env.txt" >>"$R"
put python "$("$PY" --version 2>&1)"
put reps "$REPS"

# ---- peak: an FMA loop on 1 and 2 threads -----------------------------------
# (not with BENCH_ONLY=int8: nor the compile times, nor the float models)
if [ "$ONLY" != int8 ]; then
    say "measuring peak FLOP/s"
    # shellcheck disable=SC2086
    $CC -std=c99 -O2 $NNC_CFLAGS -pthread bench/peak.c -o "$OUT/peak"
    for t in 1 2; do
        "$OUT/peak" "$t" >"$OUT/peak$t.txt"
        put "peak.$t" "$(get peak_gflops "$OUT/peak$t.txt")"
        put "peak_isa.$t" "$(get peak_isa "$OUT/peak$t.txt")"
        put "peak_avx2.$t" "$(get peak_gflops_avx2 "$OUT/peak$t.txt")"
        put "peak_wall.$t" "$(get peak_gflops_avx512_wall "$OUT/peak$t.txt")"
    done

    # ---- compile time: median of 5 runs of nnc per example -----------------------
    say "timing nnc on each example"
    tmp="$OUT/compile"
    mkdir -p "$tmp"
    for nn in examples/*.nn bench/wide_mlp.nn; do
        [ -f "$nn" ] || continue
        ts=""
        i=0
        while [ $i -lt 6 ]; do # one untimed warm-up run, then 5
            t0=$(now_ns)
            build/nnc "$nn" -o "$tmp" >/dev/null
            t1=$(now_ns)
            [ $i -gt 0 ] && ts="$ts $(( (t1 - t0) / 1000 ))"
            i=$((i + 1))
        done
        # shellcheck disable=SC2086 # $ts is a list of numbers, split on purpose
        med=$(printf '%s\n' $ts | sort -n | sed -n 3p)
        put "compile_ms.$(basename "$nn" .nn)" "$(awk "BEGIN { printf \"%.1f\", $med / 1000 }")"
    done
fi

# ---- the models ---------------------------------------------------------------
# name  source  train-batch  train-steps  warm-up  latency-calls  b256-batches
# (training runs of at least about 0.2 s for nnc at 2 threads: runs of 50
# and 30 steps, about 30 ms, varied by several percent on this machine)
models="fashion_mlp:examples/fashion_mlp.nn:64:200:5:500:20
fashion_lenet:examples/fashion_lenet.nn:64:100:5:300:10
wide_mlp:bench/wide_mlp.nn:256:2:1:40:2"
if [ "$QUICK" = 1 ]; then
    models="fashion_mlp:examples/fashion_mlp.nn:64:10:1:50:2
fashion_lenet:examples/fashion_lenet.nn:64:5:1:50:2
wide_mlp:bench/wide_mlp.nn:256:1:1:5:1"
fi
[ "$ONLY" = int8 ] && models=""

TRX="$DATA/train-images-idx3-ubyte.gz"
TRY="$DATA/train-labels-idx1-ubyte.gz"
TEX="$DATA/t10k-images-idx3-ubyte.gz"

# build NAME NN BATCH VARIANT THREADS [CFLAGS]: generated code for max batch
# BATCH and THREADS threads (nnc --threads, OpenMP) + harness, compiled with
# CFLAGS (default: NNC_CFLAGS)
build() {
    d="$OUT/$1.$4.$5"
    omp=""
    [ "$5" -gt 1 ] && omp="-fopenmp"
    build/nnc "$2" --batch "$3" --threads "$5" -o "$d"
    # shellcheck disable=SC2086
    $CC -std=c99 ${6:-$NNC_CFLAGS} $omp -DMODEL="$1" -I"$d" -Iruntime bench/harness.c "$d/$1.c" \
        build/libnnrt.a -lz -lm -o "$OUT/harness_$1.$4.$5"
}

# record KEYPREFIX OUTFILE METRIC: the median and the CPU utilisation
record() {
    v=$(get "$3" "$2")
    [ -n "$v" ] || { say "no $3 in $2:"; cat "$2" >&2; exit 1; }
    put "$1" "$v"
    put "$1.util" "$(get cpu_util "$2")"
}

echo "$models" | while IFS=: read -r name nn batch steps warm calls batches; do
    [ -n "$name" ] || continue
    say "building $name"
    for t in 1 2; do
        build "$name" "$nn" "$batch" train "$t"
        build "$name" "$nn" "$batch" plain "$t" "$PLAIN_CFLAGS"
        build "$name" "$nn" 256 infer "$t"
    done
    # the training program: nnc's own build of the example, and its FLOPs
    build/nnc "$nn" --batch "$batch" --exe -o "$OUT/$name"
    "$OUT/$name" info >"$OUT/$name.info"
    put "flops.$name" "$(sed -n 's/^forward FLOPs per sample: *//p' "$OUT/$name.info")"

    say "$name: training, batch $batch, $steps steps x $REPS"
    o="$OUT/$name"
    # the NNC_CFLAGS build and the plain one, one after the other
    for t in 1 2; do
        OMP_WAIT_POLICY="$WAIT" "$OUT/harness_$name.train.$t" train --data "$TRX" --labels "$TRY" --batch "$batch" \
            --steps "$steps" --warmup "$warm" --reps "$REPS" >"$o.nnc$t.train.txt"
        record "nnc.$name.train.$t" "$o.nnc$t.train.txt" train_samples_per_sec
        OMP_WAIT_POLICY="$WAIT" "$OUT/harness_$name.plain.$t" train --data "$TRX" --labels "$TRY" --batch "$batch" \
            --steps "$steps" --warmup "$warm" --reps "$REPS" >"$o.plain$t.train.txt"
        record "plain.$name.train.$t" "$o.plain$t.train.txt" train_samples_per_sec
    done
    for t in 1 2; do
        OPENBLAS_NUM_THREADS="$t" OMP_NUM_THREADS="$t" "$PY" bench/torch_bench.py train --model "$name" --threads "$t" --data "$TRX" --labels "$TRY" \
            --batch "$batch" --steps "$steps" --warmup "$warm" --reps "$REPS" >"$o.torch$t.train.txt"
        record "torch.$name.train.$t" "$o.torch$t.train.txt" train_samples_per_sec
    done

    say "$name: latency at batch 1, $calls calls x $REPS"
    for t in 1 2; do
        OMP_WAIT_POLICY="$WAIT" "$OUT/harness_$name.infer.$t" latency --data "$TEX" --calls "$calls" --reps "$REPS" >"$o.nnc$t.latency.txt"
        record "nnc.$name.latency.$t" "$o.nnc$t.latency.txt" latency_us
    done
    for t in 1 2; do
        OPENBLAS_NUM_THREADS="$t" OMP_NUM_THREADS="$t" "$PY" bench/torch_bench.py latency --model "$name" --threads "$t" --data "$TEX" \
            --calls "$calls" --reps "$REPS" >"$o.torch$t.latency.txt"
        record "torch.$name.latency.$t" "$o.torch$t.latency.txt" latency_us
    done

    say "$name: inference at batch 256, $batches batches x $REPS"
    for t in 1 2; do
        OMP_WAIT_POLICY="$WAIT" "$OUT/harness_$name.infer.$t" throughput --data "$TEX" --batch 256 --batches "$batches" \
            --warmup 1 --reps "$REPS" >"$o.nnc$t.throughput.txt"
        record "nnc.$name.throughput.$t" "$o.nnc$t.throughput.txt" infer_samples_per_sec
    done
    for t in 1 2; do
        OPENBLAS_NUM_THREADS="$t" OMP_NUM_THREADS="$t" "$PY" bench/torch_bench.py throughput --model "$name" --threads "$t" --data "$TEX" \
            --batch 256 --batches "$batches" --warmup 1 --reps "$REPS" >"$o.torch$t.throughput.txt"
        record "torch.$name.throughput.$t" "$o.torch$t.throughput.txt" infer_samples_per_sec
    done
done

# ---- int8 against float32 at batch 1 (issue 14's x86 row) --------------------
# name  source  training-steps  calls per run
# The weights: trained briefly (tests/quant/accuracy.sh's steps) and
# calibrated on 1,000 training images, as tests/quant/accuracy.sh does;
# the float32 code is --inference --batch 1 of the same weights (the
# fastest float build for one sample: no GEMM, no pack).  Both builds go
# into one program (bench/int8_pair.c) that alternates them call by call.
qmodels="fashion_mlp:examples/fashion_mlp.nn:600:500
fashion_lenet:examples/fashion_lenet.nn:900:300"
[ "$QUICK" = 1 ] && qmodels="fashion_mlp:examples/fashion_mlp.nn:20:50
fashion_lenet:examples/fashion_lenet.nn:20:50"
echo "$qmodels" | while IFS=: read -r name nn steps calls; do
    q="$OUT/int8.$name"
    mkdir -p "$q"
    say "$name: int8 weights ($steps training steps, calibrated on 1,000 images)"
    build/nnc "$nn" --exe -o "$q/prog"
    "$q/prog" train --data "$TRX" --labels "$TRY" --steps "$steps" --save "$q/w.safetensors" --quiet >/dev/null
    "$q/prog" calibrate --weights "$q/w.safetensors" --data "$TRX" --samples 1000 --output "$q/q.safetensors" \
        --quiet >/dev/null
    build/nnc "$nn" --inference --batch 1 --weights "$q/w.safetensors" -o "$q/f32"
    build/nnc "$nn" --inference --weights "$q/q.safetensors" --quantize int8 -o "$q/int8"
    nout=$(sed -n "s/^#define ${name}_OUTPUT_SIZE \([0-9]*\).*/\1/p" "$q/int8/$name.h")
    for kind in native plain; do
        fl=$NNC_CFLAGS
        [ $kind = plain ] && fl=$PLAIN_CFLAGS
        for side in f32 int8; do
            p=$side
            [ $side = int8 ] && p=i8
            # shellcheck disable=SC2086
            $CC -std=c99 $fl -D"${name}_arena_bytes=${p}_arena_bytes" -D"${name}_init=${p}_init" \
                -D"${name}_forward=${p}_forward" -c "$q/$side/$name.c" -o "$q/$side.$kind.o"
        done
        # shellcheck disable=SC2086
        $CC -std=c99 $fl -DOUTPUT_SIZE="$nout" -Iruntime bench/int8_pair.c "$q/f32.$kind.o" "$q/int8.$kind.o" \
            build/libnnrt.a -lz -lm -o "$q/pair.$kind"
        say "$name: int8 and float32 latency at batch 1 ($kind flags), $calls calls each x $REPS"
        "$q/pair.$kind" --data "$TEX" --calls "$calls" --reps "$REPS" >"$q/pair.$kind.txt"
        for k in f32_latency_us int8_latency_us int8_over_f32 agree; do
            v=$(get $k "$q/pair.$kind.txt")
            [ -n "$v" ] || { say "no $k in $q/pair.$kind.txt"; exit 1; }
            put "int8.$name.$kind.$k" "$v"
        done
    done
done

put load_after "$(cut -d' ' -f1-3 /proc/loadavg)"

# ---- the table ------------------------------------------------------------------
"$PY" bench/report.py "$R" --markdown "$OUT/results.md"
say "raw results in $R, the table as Markdown in $OUT/results.md"
exit 0
