#!/bin/sh
# Initialiser statistics: nnc draws initial weights from its own RNG, so
# they cannot match PyTorch bit for bit; instead each model of
# tests/golden/init_cases/ (one per initialiser, layers big enough for
# statistics) is compiled with `nnc --exe`, its initial weights are saved
# after one step of sgd with lr 0 (the driver's --steps is at least 1), and
# every tensor listed for it in tests/golden/init_cases/table.txt is
# checked by `compare --stats` (tests/golden/compare.c): bounds, mean and
# standard deviation of the distribution PyTorch's torch.nn.init formula
# gives for the tensor's fans, within 5 standard errors.  The seed is
# fixed, so a run is deterministic.  Each table row is one test.
#
#   tests/run_init_stats.sh [--verbose] [MODEL ...]
#
# NNC names the compiler (default build/nnc), CC the C compiler for
# compare.c (default cc).  Needs build/libnnrt.a (make all).  Temporary
# files go to build/init_stats/ only; no Python.  The last line is
# "N passed, M failed"; the exit status is non-zero when a test failed.
set -u

root=$(cd "$(dirname "$0")/.." && pwd)
case ${NNC:-} in
"") NNC=$root/build/nnc ;;
/*) ;;
*/*) NNC=$(pwd)/$NNC ;;   # relative to where the script was started
esac
cd "$root" || exit 2
CC=${CC:-cc}
dir=tests/golden/init_cases
table=$dir/table.txt

verbose=0
models=
for arg in "$@"; do
    case $arg in
    --verbose|-v) verbose=1 ;;
    -*) echo "usage: tests/run_init_stats.sh [--verbose] [MODEL ...]" >&2
        exit 2 ;;
    *) models="$models $(basename "${arg%.nn}")" ;;
    esac
done
if [ -z "$models" ]; then
    for f in "$dir"/*.nn; do
        models="$models $(basename "$f" .nn)"
    done
fi

out=build/init_stats
if [ ! -f build/libnnrt.a ] || [ ! -x "$NNC" ]; then
    echo "run_init_stats: needs $NNC and build/libnnrt.a (make all)" >&2
    exit 2
fi
mkdir -p "$out" || exit 2
if ! $CC -std=c99 -O2 -Iruntime -o "$out/compare" tests/golden/compare.c \
        build/libnnrt.a -lz -lm 2>"$out/compare.err"; then
    echo "run_init_stats: cannot build tests/golden/compare.c:" >&2
    cat "$out/compare.err" >&2
    exit 2
fi

pass=0
fail=0

# numel MODEL.nn NAME: the element count of `input NAME` or `target NAME`
numel() {
    sed -n "s/^ *[a-z]* *$2 *: *f32\[\([0-9, ]*\)\].*/\1/p" "$1" |
        head -n 1 | awk -F, '{ n = 1; for (i = 1; i <= NF; i++) n *= $i;
                               print n }'
}

# zeros_csv N FILE: one sample of N zeros
zeros_csv() {
    awk -v n="$1" 'BEGIN { for (i = 0; i < n; i++)
                               printf "%s0", i ? "," : ""; print "" }' >"$2"
}

# expect INIT FAN_IN FAN_OUT ARG: "DIST PARAM" for compare --stats
expect() {
    awk -v init="$1" -v fi="$2" -v fo="$3" -v arg="$4" 'BEGIN {
        if (init == "default")             print "uniform", 1 / sqrt(fi)
        else if (init == "he_normal")      print "normal", sqrt(2 / fi)
        else if (init == "he_uniform")     print "uniform", sqrt(6 / fi)
        else if (init == "xavier_normal")  print "normal", sqrt(2 / (fi + fo))
        else if (init == "xavier_uniform") print "uniform", sqrt(6 / (fi + fo))
        else if (init == "zeros")          print "const", 0
        else if (init == "normal")         print "normal", arg
        else if (init == "uniform")        print "uniform", arg
        else if (init == "const")          print "const", arg
        else                               print "unknown", 0
    }' | awk '{ printf "%s %.9g\n", $1, $2 }'
}

for m in $models; do
    nn=$dir/$m.nn
    d=$out/$m
    rows=$(awk -v m="$m" '$1 == m' "$table")
    if [ ! -f "$nn" ] || [ -z "$rows" ]; then
        echo "FAIL $m: no $nn or no rows for it in $table"
        fail=$((fail + 1))
        continue
    fi
    rm -rf "$d"
    mkdir -p "$d" || exit 2
    zeros_csv "$(numel "$nn" x)" "$d/x.csv"
    zeros_csv "$(numel "$nn" y)" "$d/y.csv"
    st=0
    if ! "$NNC" "$nn" --exe -o "$d/prog" >"$d/log" 2>&1; then
        st=1
        echo "nnc $nn --exe failed" >>"$d/log"
    elif ! "$d/prog" train --data "$d/x.csv" --labels "$d/y.csv" \
            --epochs 1 --steps 1 --batch 1 --no-shuffle \
            --save "$d/w.safetensors" --quiet >>"$d/log" 2>&1; then
        st=1
        echo "prog train --steps 1 failed" >>"$d/log"
    fi
    echo "$rows" | while read -r _ tensor init fan_in fan_out arg; do
        echo "$tensor $init $fan_in $fan_out ${arg:--}"
    done >"$d/rows"
    while read -r tensor init fan_in fan_out arg; do
        if [ $st -ne 0 ]; then
            fail=$((fail + 1))
            echo "FAIL $m $tensor (no weights)"
            sed 's/^/    /' "$d/log" | head -n 20
            continue
        fi
        # shellcheck disable=SC2046 # two words: DIST PARAM
        set -- $(expect "$init" "$fan_in" "$fan_out" "$arg")
        if [ "$1" = unknown ]; then
            fail=$((fail + 1))
            echo "FAIL $m $tensor: unknown initialiser '$init' in $table"
            continue
        fi
        if res=$("$out/compare" --stats "$d/w.safetensors" "$tensor" "$1" \
                "$2" 2>&1); then
            pass=$((pass + 1))
            if [ $verbose -eq 1 ]; then
                echo "ok   $m $tensor $init: ${res#ok   }"
            else
                echo "ok   $m $tensor $init"
            fi
        else
            fail=$((fail + 1))
            echo "FAIL $m $tensor $init ($1 $2)"
            echo "$res" | sed 's/^/    /'
        fi
    done <"$d/rows"
done

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
