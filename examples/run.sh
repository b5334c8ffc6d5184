#!/bin/sh
# Build, train and try one example:   sh examples/run.sh NAME [TRAIN OPTIONS...]
#
#   NAME           an examples/NAME.nn: xor, perceptron_xor, digits01,
#                  digits123_cnn, or a fashion_* model
#   TRAIN OPTIONS  passed on to `PROG train` (e.g. --epochs 1, --steps 500,
#                  --seed 3); later options override the ones given here
#
# Builds nnc if needed (make -C the repository root), compiles the model with
# `nnc --exe` into build/examples/NAME, and trains it:
#   xor, perceptron_xor  on examples/data/xor_{x,y}.csv, then prints the
#                        prediction for each of the four inputs;
#   digits01,            on examples/data/digits01_* or digits123_* (made by
#   digits123_cnn        examples/data/make_digits.sh), with the test set
#                        evaluated after every epoch; then prints the weights
#                        learned, how many training images the network
#                        recognises, and each test image with the outputs
#                        and whether the highest one is the right digit;
#   fashion_*            on Fashion-MNIST ($FMNIST, default
#                        /usr/share/datasets/fashion-mnist), with the test set
#                        evaluated after every epoch.
# The weights are saved to build/examples/NAME.safetensors. Exits non-zero if
# a step fails, if xor does not learn XOR (all four outputs on the right
# side of 0.5), or if a digits example does not recognise every training
# image. NNC_CFLAGS chooses the C flags (default -O3 -march=native); NNC
# names the compiler to use instead of building build/nnc (the tests set
# it), EXAMPLES_OUT the directory instead of build/examples.
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

out=${EXAMPLES_OUT:-$root/build/examples}
prog=$out/$name
weights=$out/$name.safetensors
FMNIST=${FMNIST:-/usr/share/datasets/fashion-mnist}
NNC_CFLAGS=${NNC_CFLAGS:--O3 -march=native}
export NNC_CFLAGS

# Which data the example trains on (checked before anything is built).
case "$name" in
    xor | perceptron_xor) kind=xor ;;
    digits01 | digits123_cnn) kind=digits ;;
    fashion_*)
        kind=fashion
        for f in train-images-idx3-ubyte.gz train-labels-idx1-ubyte.gz \
                 t10k-images-idx3-ubyte.gz t10k-labels-idx1-ubyte.gz; do
            [ -r "$FMNIST/$f" ] || die "Fashion-MNIST file $FMNIST/$f not found; install the" \
                "dataset-fashion-mnist package (make demo does) or set FMNIST to its directory"
        done ;;
    *) die "no data is known for example '$name' (expected xor, perceptron_xor, digits01, digits123_cnn or fashion_*)" ;;
esac

now() { date +%s.%N 2>/dev/null || date +%s; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

if [ -z "${NNC:-}" ]; then
    echo "== building nnc"
    make -s -C "$root" all || die "building nnc failed"
    NNC=$root/build/nnc
fi
mkdir -p "$out" || die "cannot create $out"

echo "== compiling examples/$name.nn into $prog (NNC_CFLAGS=$NNC_CFLAGS)"
"$NNC" "$model" --exe -o "$prog" || die "nnc failed on examples/$name.nn"
"$prog" info || die "$prog info failed"

if [ "$kind" = fashion ]; then
    echo "== training on Fashion-MNIST ($FMNIST)"
    t0=$(now)
    "$prog" train --data "$FMNIST/train-images-idx3-ubyte.gz" --labels "$FMNIST/train-labels-idx1-ubyte.gz" \
        --test-data "$FMNIST/t10k-images-idx3-ubyte.gz" --test-labels "$FMNIST/t10k-labels-idx1-ubyte.gz" \
        --save "$weights" "$@" || die "training failed"
    echo "wall time: $(since "$t0") s (training and the test evaluations)"
    echo "weights: $weights"
    exit 0
fi

# Reads the float32 values of an .npy file (version 1: a 10-byte preamble
# whose last two bytes are the header length, little-endian, the header,
# then the values), one per line.
npy_values() { # FILE
    # shellcheck disable=SC2046 # the two byte values, split into $1 and $2
    set -- "$1" $(od -A n -v -t u1 -j 8 -N 2 "$1")
    [ $# -eq 3 ] || return 1
    od -A n -v -t f4 -j $((10 + $2 + 256 * $3)) "$1" | tr -s ' \t' '\n' | grep .
}

# Prints every tensor of a safetensors file the program saved: an 8-byte
# little-endian header length, a JSON header naming each tensor with its
# dtype (F32 here), shape and byte range, then the data. Rows are the last
# dimension; a blank line separates the matrices of a rank-3 or rank-4
# tensor (a convolution's filters).
dump_weights() { # FILE
    hlen=$(od -A n -t u8 -N 8 "$1" | tr -d ' ') || return 1
    dd if="$1" bs=1 skip=8 count="$hlen" 2>/dev/null | awk '{
        s = $0
        while (match(s, /"[^"]+":\{[^}]*\}/)) {
            e = substr(s, RSTART, RLENGTH); s = substr(s, RSTART + RLENGTH)
            if (e ~ /^"__metadata__"/) continue
            name = e; sub(/^"/, "", name); sub(/".*/, "", name)
            shape = e; sub(/.*"shape":\[/, "", shape); sub(/\].*/, "", shape)
            off = e; sub(/.*"data_offsets":\[/, "", off); sub(/\].*/, "", off)
            split(off, o, ",")
            print name, shape, o[1], o[2]
        }
    }' | while read -r tensor shape begin end; do
        echo "$tensor [$shape]"
        od -A n -v -t f4 -j $((8 + hlen + begin)) -N $((end - begin)) "$1" | tr -s ' \t' '\n' | grep . |
            awk -v shape="$shape" '
                BEGIN { n = split(shape, d, ","); cols = d[n]; mat = (n >= 3) ? d[n - 1] * d[n] : 0 }
                { printf "%s%8.3f", (NR - 1) % cols ? " " : "  ", $1
                  if (NR % cols == 0) printf "\n"
                  if (mat && NR % mat == 0) printf "\n" }
                END { if (NR % cols) printf "\n" }'
    done
}

# Predicts the images DATA_x.csv, compares the highest output with the
# one-hot targets DATA_y.csv and prints "SET: R of N right"; with --show,
# also draws each image (# black, . white) with the outputs and the answer.
classify() { # SET DATA [--show]
    "$prog" predict --weights "$weights" --data "$2_x.csv" --output "$out/$name.$1.pred.npy" >/dev/null ||
        die "predict failed on $2_x.csv"
    npy_values "$out/$name.$1.pred.npy" >"$out/$name.$1.pred.txt" || die "cannot read $out/$name.$1.pred.npy"
    awk -v set="$1" -v show="${3:-}" -v k="$classes" -v w="$width" -v names="$digits" -F , '
        FILENAME ~ /pred.txt$/ { pred[int((FNR - 1) / k), (FNR - 1) % k] = $1; next }
        FILENAME ~ /_y.csv$/ { for (j = 1; j <= k; j++) if ($j == 1) target[FNR - 1] = j - 1; next }
        { img[FNR - 1] = $0; n = FNR }
        END {
            split(names, dname, " ")
            for (i = 0; i < n; i++) {
                best = 0
                for (j = 1; j < k; j++) if (pred[i, j] > pred[i, best]) best = j
                ok += (best == target[i])
                if (show == "") continue
                np = split(img[i], px, ",")
                printf "  test image %d, a %s:\n", i + 1, dname[target[i] + 1]
                for (r = 0; r < np / w; r++) {
                    printf "    "
                    for (c = 1; c <= w; c++) printf "%s", (px[r * w + c] == 1) ? "#" : "."
                    if (r == 0) {
                        printf "    outputs"
                        for (j = 0; j < k; j++) printf " %s:%.3f", dname[j + 1], pred[i, j]
                    }
                    if (r == 1) printf "    says %s, %s", dname[best + 1], (best == target[i]) ? "right" : "WRONG"
                    printf "\n"
                }
            }
            printf "%s: %d of %d right\n", set, ok, n
        }' "$out/$name.$1.pred.txt" "$2_y.csv" "$2_x.csv"
}

if [ "$kind" = digits ]; then
    case "$name" in
        digits01) data=$root/examples/data/digits01 classes=2 width=3 digits="0 1" ;;
        *) data=$root/examples/data/digits123 classes=3 width=6 digits="1 2 3" ;;
    esac
    log=$out/$name.log
    echo "== training on examples/data/$(basename "$data")_train_{x,y}.csv" \
        "(test set: $(basename "$data")_test_{x,y}.csv)"
    t0=$(now)
    "$prog" train --data "${data}_train_x.csv" --labels "${data}_train_y.csv" \
        --test-data "${data}_test_x.csv" --test-labels "${data}_test_y.csv" \
        --save "$weights" "$@" >"$log" || { cat "$log"; die "training failed"; }
    secs=$(since "$t0")
    # Every 100th epoch (and the first and last) rather than one line each.
    awk '/^epoch / { split($2, e, "/"); last = $0; if (e[1] == 1 || e[1] % 100 == 0) { print; shown = $0 } }
         !/^epoch / { if (last != shown) { print last; shown = last } print }' "$log"
    echo "wall time: $secs s (training, the test evaluations and a save every epoch)"
    echo "== the weights learned ($weights)"
    dump_weights "$weights" || die "cannot read $weights"
    echo "== the training images and the test images (highest output wins)"
    train=$(classify training "${data}_train") || exit 1
    echo "$train"
    classify test "${data}_test" --show || exit 1
    case "$train" in
        "training: "*" of "*" right")
            # shellcheck disable=SC2086 # the words of the line, split into $1 ... $5
            set -- $train
            [ "$2" = "$4" ] || die "$name does not recognise all its training images" ;;
        *) die "cannot count the training images recognised" ;;
    esac
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

echo "== predictions ($out/$name.pred.npy)"
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
