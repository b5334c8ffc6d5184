#!/bin/sh
# make_inputs.sh IMAGES.gz LABELS.gz N: write to stdout a C header with the
# first N images and labels of an IDX file pair (Fashion-MNIST's
# t10k-images-idx3-ubyte.gz and t10k-labels-idx1-ubyte.gz), as main.c
# includes it: INPUTS_N, INPUTS_SIZE (bytes per image), the uint8 pixels
# (main.c divides them by 255, as the training program does) and labels.
#
# make_inputs.sh --csv X.csv Y.csv N: the same from CSV tables of floats
# (examples/data/): the first N rows (all, if fewer) of X as float32
# inputs_f32 (INPUTS_F32 defined), the labels the argmax of Y's row (one-hot
# targets) or, for a single column, the value rounded to an integer (a
# class, or 0/1 for a probability).
set -eu
if [ "${1:-}" = --csv ]; then
    [ $# -eq 4 ] || { echo "usage: $0 --csv X.csv Y.csv N" >&2; exit 2; }
    for f in "$2" "$3"; do
        [ -r "$f" ] || { echo "$0: $f: cannot read" >&2; exit 1; }
    done
    rows=$(grep -c . "$2")
    n=$4
    [ "$n" -ge 1 ] || { echo "$0: N must be at least 1, not $n" >&2; exit 1; }
    [ "$n" -gt "$rows" ] && n=$rows
    size=$(head -n 1 "$2" | awk -F, '{ print NF }')
    [ "$(grep -c . "$3")" -ge "$n" ] || { echo "$0: $3 has fewer rows than $2" >&2; exit 1; }
    echo "/* The first $n rows of $(basename "$2") and their labels (from $(basename "$3")):"
    echo " * written by examples/embedded/make_inputs.sh. */"
    echo "#define INPUTS_F32 1"
    echo "#define INPUTS_N $n"
    echo "#define INPUTS_SIZE $size"
    echo "static const float inputs_f32[INPUTS_N][INPUTS_SIZE] = {"
    head -n "$n" "$2" | awk -F, -v size="$size" '{ if (NF != size) { print "make_inputs.sh: row " NR " has " NF " values, not " size > "/dev/stderr"; exit 1 }
        s = "{"; for (i = 1; i <= NF; i++) s = s (i > 1 ? "," : "") ($i + 0); print s "}," }'
    echo "};"
    echo "static const unsigned char inputs_label[INPUTS_N] = {"
    head -n "$n" "$3" | awk -F, '{ b = 1; for (i = 2; i <= NF; i++) if ($i + 0 > $b + 0) b = i
        printf "%s%d", (NR > 1 ? "," : ""), NF == 1 ? int($1 + 0.5) : b - 1 } END { print "" }'
    echo "};"
    exit 0
fi
[ $# -eq 3 ] || { echo "usage: $0 IMAGES.gz LABELS.gz N | --csv X.csv Y.csv N" >&2; exit 2; }
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
