#!/bin/sh
# make_data.sh MODEL ROWS DIR: synthetic data for an examples/tiny model,
# whose real datasets (CIFAR-10, Speech Commands, ToyADMOS, Visual Wake
# Words) Debian does not package: DIR/MODEL_x.csv with ROWS rows of the
# model's input, values uniform in [0, 1) from a fixed linear congruential
# generator (the same files on every machine), and DIR/MODEL_y.csv with
# the targets: a class per row, or for the autoencoder the input itself.
# Enough to train a few steps, run inference and count instructions; not
# to measure accuracy.
set -eu
[ $# -eq 3 ] || { echo "usage: $0 MODEL ROWS DIR" >&2; exit 2; }
model=$1 rows=$2 dir=$3
case $model in
resnet8) size=3072 classes=10 ;;         # [3, 32, 32]
ds_cnn) size=490 classes=12 ;;           # [1, 49, 10]
fc_autoencoder) size=640 classes=0 ;;    # [640], target = input
mobilenet_v1_025) size=27648 classes=2 ;; # [3, 96, 96]
*) echo "$0: no synthetic data for model '$model'" >&2; exit 2 ;;
esac
[ "$rows" -ge 1 ] 2>/dev/null || { echo "$0: ROWS must be a positive integer, not '$rows'" >&2; exit 2; }
mkdir -p "$dir"
# One LCG (Numerical Recipes' 32-bit constants) in awk: exact in doubles,
# since every intermediate stays below 2^53.
awk -v rows="$rows" -v size="$size" -v classes="$classes" \
    -v xf="$dir/${model}_x.csv" -v yf="$dir/${model}_y.csv" 'BEGIN {
    s = 12345
    for (r = 0; r < rows; r++) {
        line = ""
        for (i = 0; i < size; i++) {
            s = (1664525 * s + 1013904223) % 4294967296
            line = line (i ? "," : "") sprintf("%.6f", s / 4294967296)
        }
        print line > xf
        if (classes > 0) {
            s = (1664525 * s + 1013904223) % 4294967296
            print int(s / 4294967296 * classes) > yf
        } else
            print line > yf
    }
}'
