#!/bin/sh
# make_inputs.sh IMAGES.gz LABELS.gz N: write to stdout a C header with the
# first N images and labels of an IDX file pair (Fashion-MNIST's
# t10k-images-idx3-ubyte.gz and t10k-labels-idx1-ubyte.gz), as main.c
# includes it: INPUTS_N, INPUTS_SIZE (bytes per image), the uint8 pixels
# (main.c divides them by 255, as the training program does) and labels.
set -eu
[ $# -eq 3 ] || { echo "usage: $0 IMAGES.gz LABELS.gz N" >&2; exit 2; }
img=$1
lab=$2
n=$3
for f in "$img" "$lab"; do
    [ -r "$f" ] || { echo "$0: $f: cannot read (Debian: apt-get install dataset-fashion-mnist)" >&2; exit 1; }
done
# The IDX header: magic (2051 images, 2049 labels), counts, then rows, cols.
hdr=$(gzip -dc "$img" | head -c 16 | od -An -v -tu1 | tr -s ' \n' ' ')
set -- $hdr
[ "$3" -eq 8 ] && [ "$4" -eq 3 ] || { echo "$0: $img: not an IDX file of uint8 images" >&2; exit 1; }
count=$(( ($5 << 24) | ($6 << 16) | ($7 << 8) | $8 ))
size=$(( (($9 << 24) | (${10} << 16) | (${11} << 8) | ${12}) * ((${13} << 24) | (${14} << 16) | (${15} << 8) | ${16}) ))
[ "$n" -ge 1 ] && [ "$n" -le "$count" ] || { echo "$0: $img has $count images, not $n" >&2; exit 1; }
echo "/* The first $n images of $(basename "$img") and their labels: written by"
echo " * examples/embedded/make_inputs.sh. */"
echo "#define INPUTS_N $n"
echo "#define INPUTS_SIZE $size"
echo "static const unsigned char inputs_u8[INPUTS_N][INPUTS_SIZE] = {"
gzip -dc "$img" | tail -c +17 | head -c $((n * size)) | od -An -v -tu1 |
    awk -v size="$size" '{ for (i = 1; i <= NF; i++) { if (k % size == 0) printf "{"; printf "%s", $i; k++;
                           if (k % size == 0) printf "},\n"; else printf "," } }'
echo "};"
echo "static const unsigned char inputs_label[INPUTS_N] = {"
gzip -dc "$lab" | tail -c +9 | head -c "$n" | od -An -v -tu1 | tr -s ' \n' ',' | sed 's/^,//; s/,$//'
echo "};"
