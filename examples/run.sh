#!/bin/sh
# Build, train and try one example:   sh examples/run.sh NAME [TRAIN OPTIONS...]
#
#   NAME           an examples/NAME.nn: xor, perceptron_xor, or a fashion_* model
#   TRAIN OPTIONS  passed on to `PROG train` (e.g. --epochs 1, --steps 500,
#                  --seed 3); later options override the ones given here
#
# Builds nnc if needed (make -C the repository root), compiles the model with
# `nnc --exe` into build/examples/NAME, and trains it:
#   xor, perceptron_xor  on examples/data/xor_{x,y}.csv, then prints the
#                        prediction for each of the four inputs;
#   fashion_*            on Fashion-MNIST ($FMNIST, default
#                        /usr/share/datasets/fashion-mnist), with the test set
#                        evaluated after every epoch.
# The weights are saved to build/examples/NAME.safetensors. Exits non-zero if
# a step fails, or if xor does not learn XOR (all four outputs on the right
# side of 0.5). NNC_CFLAGS chooses the C flags (default -O3 -march=native).
set -u

usage() {
    echo "usage: sh examples/run.sh NAME [TRAIN OPTIONS...]" >&2
    printf 'examples:' >&2
    for f in "$root"/examples/*.nn; do printf ' %s' "$(basename "$f" .nn)" >&2; done
    echo >&2
    exit 2
}

die() {
    echo "run.sh: $*" >&2
    exit 1
}

root=$(cd "$(dirname "$0")/.." && pwd) || exit 1
[ $# -ge 1 ] || usage
name=$1
shift
case "$name" in
    *.nn) name=$(basename "$name" .nn) ;;
esac
model=$root/examples/$name.nn
[ -f "$model" ] || { echo "run.sh: no example named '$name'" >&2; usage; }

out=$root/build/examples
prog=$out/$name
weights=$out/$name.safetensors
FMNIST=${FMNIST:-/usr/share/datasets/fashion-mnist}
NNC_CFLAGS=${NNC_CFLAGS:--O3 -march=native}
export NNC_CFLAGS

# Which data the example trains on (checked before anything is built).
case "$name" in
    xor | perceptron_xor) kind=xor ;;
    fashion_*)
        kind=fashion
        for f in train-images-idx3-ubyte.gz train-labels-idx1-ubyte.gz \
                 t10k-images-idx3-ubyte.gz t10k-labels-idx1-ubyte.gz; do
            [ -r "$FMNIST/$f" ] || die "Fashion-MNIST file $FMNIST/$f not found; install the" \
                "dataset-fashion-mnist package (make demo does) or set FMNIST to its directory"
        done ;;
    *) die "no data is known for example '$name' (expected xor, perceptron_xor or fashion_*)" ;;
esac

now() { date +%s.%N 2>/dev/null || date +%s; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

echo "== building nnc"
make -s -C "$root" all || die "building nnc failed"
mkdir -p "$out" || die "cannot create $out"

echo "== compiling examples/$name.nn into build/examples/$name (NNC_CFLAGS=$NNC_CFLAGS)"
"$root/build/nnc" "$model" --exe -o "$prog" || die "nnc failed on examples/$name.nn"
"$prog" info || die "$prog info failed"

if [ "$kind" = fashion ]; then
    echo "== training on Fashion-MNIST ($FMNIST)"
    t0=$(now)
    "$prog" train --data "$FMNIST/train-images-idx3-ubyte.gz" --labels "$FMNIST/train-labels-idx1-ubyte.gz" \
        --test-data "$FMNIST/t10k-images-idx3-ubyte.gz" --test-labels "$FMNIST/t10k-labels-idx1-ubyte.gz" \
        --save "$weights" "$@" || die "training failed"
    echo "wall time: $(since "$t0") s (training and the test evaluations)"
    echo "weights: build/examples/$name.safetensors"
    exit 0
fi

# XOR: full-batch gradient descent on the four samples; show the loss every
# 500 epochs (and the first and last) rather than one line per epoch.
data=$root/examples/data
log=$out/$name.log
echo "== training on the four XOR samples (examples/data/xor_x.csv, xor_y.csv)"
t0=$(now)
"$prog" train --data "$data/xor_x.csv" --labels "$data/xor_y.csv" --save "$weights" "$@" >"$log" ||
    { cat "$log"; die "training failed"; }
secs=$(since "$t0")
awk '/^epoch / { split($2, e, "/"); last = $0; if (e[1] == 1 || e[1] % 500 == 0) { print; shown = $0 } }
     !/^epoch / { if (last != shown) { print last; shown = last } print }' "$log"
echo "wall time: $secs s"

echo "== predictions (build/examples/$name.pred.npy)"
"$prog" predict --weights "$weights" --data "$data/xor_x.csv" --output "$out/$name.pred.npy" ||
    die "predict failed"
# An .npy file (version 1) is a 10-byte preamble whose last two bytes are the
# header length (little-endian), the header, then the float32 values.
# shellcheck disable=SC2046 # the two byte values, split into $1 and $2
set -- $(od -A n -v -t u1 -j 8 -N 2 "$out/$name.pred.npy")
[ $# -eq 2 ] || die "cannot read $out/$name.pred.npy"
skip=$((10 + $1 + 256 * $2))
od -A n -v -t f4 -j "$skip" "$out/$name.pred.npy" | tr -s ' \t' '\n' | grep . >"$out/$name.pred.txt"
paste -d , "$data/xor_x.csv" "$data/xor_y.csv" "$out/$name.pred.txt" | awk -F , -v name="$name" '
    BEGIN { print "  x1 x2   target   output   class (output > 0.5)" }
    { c = ($4 > 0.5) ? 1 : 0; ok += (c == $3); n++
      printf "  %2d %2d   %6d   %.4f   %d %s\n", $1, $2, $3, $4, c, (c == $3) ? "right" : "WRONG" }
    END { printf "%d of %d right\n", ok, n
          if (n != 4) exit 1
          if (name == "xor" && ok != 4) { print "xor has not learnt XOR"; exit 1 } }' ||
    die "the predictions are not what the example expects"
