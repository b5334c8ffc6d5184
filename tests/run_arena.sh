#!/bin/sh
# The batch-1 inference arena is what the code writes (issue 12, issue 13
# "exact inference memory"): for every example (examples/ and the MLPerf
# Tiny models of examples/tiny/), the --inference --batch 1
# code with the initial weights of NAME_create(1), run by
# tests/arena/measure.c under AddressSanitizer + UBSan on an arena of
# exactly NAME_ARENA_BYTES from the heap (so the arena must still be large
# enough: a byte past it is an error), counts the bytes one forward pass
# leaves untouched.  Fails when NAME_ARENA_BYTES is more than 5% above the
# bytes written, in the vector build of this machine and in the plain
# loops of -DNNC_SCALAR (a Cortex-M's code).  --table prints the numbers.
# NNC names the compiler (default build/nnc).
NNC=${NNC:-build/nnc}
pass=0
fail=0
table=
[ "${1:-}" = --table ] && table=1
tmp=$(mktemp -d)
[ -n "${KEEP:-}" ] && echo "keeping $tmp"
trap '[ -n "${KEEP:-}" ] || rm -rf "$tmp"' EXIT
SAN="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"

bad() { echo "FAIL: $*"; fail=$((fail + 1)); }

[ -n "$table" ] && echo "| example | NAME_ARENA_BYTES | bytes written | arena / written |" && echo "|---|---:|---:|---:|"
for model in examples/*.nn examples/tiny/*.nn; do
    name=$(basename "$model" .nn)
    d="$tmp/$name"
    mkdir -p "$d/inf"
    # The initial weights of NAME_create(1), saved by the training code (as
    # tests/run_gen_c.sh): the values do not change which bytes are written.
    if ! "$NNC" "$model" -o "$d/train" 2>"$d/err"; then
        bad "$name: nnc"
        cat "$d/err"
        continue
    fi
    m=$(basename "$(ls "$d/train"/*.c)" .c)
    printf '#include "%s.h"\nint main(int argc, char **argv)\n{\n    %s *m = %s_create(1);\n    return argc != 2 || !m || %s_save(m, argv[1]) != 0;\n}\n' \
        "$m" "$m" "$m" "$m" >"$d/save.c"
    if ! cc -std=c99 -O0 -I"$d/train" -Iruntime -o "$d/save" "$d/save.c" "$d/train/$m.c" build/libnnrt.a -lz -lm \
        2>"$d/err" || ! "$d/save" "$d/w.safetensors" 2>>"$d/err"; then
        bad "$name: cannot save its initial weights"
        cat "$d/err"
        continue
    fi
    if ! "$NNC" "$model" --inference --weights "$d/w.safetensors" --batch 1 -o "$d/inf" 2>"$d/err"; then
        bad "$name: nnc --inference --batch 1"
        cat "$d/err"
        continue
    fi
    cname=$(basename "$d"/inf/*.c .c)
    # the vector build of this machine, and the plain loops (-DNNC_SCALAR:
    # what a Cortex-M compiles): one NAME_ARENA_BYTES must fit both
    for flags in "" -DNNC_SCALAR; do
        what="$name${flags:+ ($flags)}"
        if ! cc -std=c99 -O1 -g $SAN $flags -DMODEL="$cname" -I"$d/inf" -o "$d/measure" tests/arena/measure.c \
            "$d/inf/$cname.c" -lm 2>"$d/err"; then
            bad "$what: tests/arena/measure.c does not build"
            cat "$d/err"
            continue
        fi
        if ! "$d/measure" >"$d/out" 2>&1; then
            bad "$what: the batch-1 inference code under ASan/UBSan on an arena of NAME_ARENA_BYTES"
            tail -n 30 "$d/out"
            continue
        fi
        set -- $(awk '/^arena:/ { print $2, $4 }' "$d/out")
        bytes=$1 written=$2
        [ -n "$table" ] && awk -v n="$what" -v b="$bytes" -v w="$written" \
            'BEGIN { printf "| %s | %d | %d | %.3f |\n", n, b, w, b / w }'
        if [ "$((bytes * 100))" -gt "$((written * 105))" ]; then
            bad "$what: NAME_ARENA_BYTES is $bytes, but batch-1 inference writes $written (more than 5% unused)"
        else
            pass=$((pass + 1))
        fi
    done
done
echo "run_arena: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
