#!/bin/sh
# Batchnorm folding in inference code (compiler/passes/fold_batchnorm.c) against
# PyTorch's eval mode, on the cases of tests/fold/ (made by
# tests/fold/gen.py: conv2d -> batchnorm -> relu, dense -> batchnorm as the
# output, a grouped conv2d without a bias -> batchnorm; non-trivial running
# statistics; and three that must not fold, "keeps the batchnorm" in their
# model.nn: the layer's output read by an add too, a relu in between, a
# negative running variance that would make the folded weights NaN).
# For each case:
#   - nnc --inference --weights gives PyTorch's eval-mode outputs within
#     the golden tolerance (tests/golden/compare.c, rtol 1e-5), folded and
#     with --disable fold_batchnorm, and the two agree with each other;
#   - the folded code has no batchnorm kernel (--emit kernels, the .c) and
#     fewer weight bytes (its static const arrays) than the unfolded code;
#     a case that keeps it gives the same .c either way;
#   - --emit ir shows no batchnorm; training code keeps it.
#   tests/run_fold.sh      NNC names the compiler (default build/nnc); needs
#                          build/libnnrt.a (make all); CC the C compiler
NNC=${NNC:-build/nnc}
CC=${CC:-cc}
pass=0
fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
ok() { pass=$((pass + 1)); }
bad() { echo "FAIL: $*"; fail=$((fail + 1)); }

if ! $CC -std=c99 -O2 -Iruntime -o "$tmp/compare" tests/golden/compare.c build/libnnrt.a -lz -lm 2>"$tmp/err"; then
    echo "run_fold: cannot build tests/golden/compare.c (make all first):" >&2
    cat "$tmp/err" >&2
    exit 2
fi

# weight_bytes FILE.c: bytes of the static const weight arrays
weight_bytes() {
    sed -n 's/^static const real [A-Za-z0-9_]*\[\([0-9]*\)\] NNC_WEIGHTS = .*/\1/p' "$1" |
        awk '{ s += $1 * 4 } END { print s + 0 }'
}

for g in tests/fold/*/; do
    g=${g%/}
    c=$(basename "$g")
    d=$tmp/$c
    mkdir -p "$d/fold" "$d/nofold"
    if ! "$NNC" "$g/model.nn" --inference --weights "$g/w.safetensors" -o "$d/fold" 2>"$d/err" ||
        ! "$NNC" "$g/model.nn" --inference --weights "$g/w.safetensors" --disable fold_batchnorm \
            -o "$d/nofold" 2>>"$d/err"; then
        bad "$c: nnc --inference"
        cat "$d/err"
        continue
    fi
    nan=$(grep -c '^# .*outputs NaN' "$g/model.nn")
    for v in fold nofold; do
        cat >"$d/$v/main.c" <<EOC
#include <stdio.h>
#include "$c.h"
#include "nnrt.h"
static unsigned char arena[${c}_ARENA_BYTES] __attribute__((aligned(${c}_ARENA_ALIGN)));
static float out[64 * ${c}_OUTPUT_SIZE];
int main(int argc, char **argv)
{
    NnrtErr err;
    NnrtArray xa;
    float *x;
    if (argc != 3 || nnrt_load_array(argv[1], &xa, &err) || nnrt_array_to_f32(&xa, &x, &err)) {
        fprintf(stderr, "%s\\n", argc == 3 ? err.msg : "usage: run X.npy OUT.npy");
        return 1;
    }
    $c *m = ${c}_init(arena, sizeof arena);
    int n = (int)xa.dims[0];
    if (!m || n > 64)
        return 1;
    ${c}_forward(m, n, x, out);
    int64_t dims[2] = {n, ${c}_OUTPUT_SIZE};
    if (nnrt_save_npy(argv[2], out, 2, dims, &err)) {
        fprintf(stderr, "%s\\n", err.msg);
        return 1;
    }
    return 0;
}
EOC
        if $CC -std=c99 -O2 -I"$d/$v" -Iruntime -o "$d/$v/run" "$d/$v/main.c" "$d/$v/$c.c" build/libnnrt.a \
            -lz -lm 2>"$d/err" && "$d/$v/run" "$g/x.npy" "$d/$v/out.npy" 2>"$d/err"; then
            if [ "$nan" -gt 0 ] || "$tmp/compare" --rtol 1e-5 "$g/out.npy" "$d/$v/out.npy" >"$d/cmp" 2>&1; then ok; else
                bad "$c ($v): the outputs are not PyTorch's eval mode within rtol 1e-5"
                cat "$d/cmp"
            fi
        else
            bad "$c ($v): build or run"
            cat "$d/err"
        fi
    done
    if [ "$nan" -eq 0 ] && [ -f "$d/fold/out.npy" ] && [ -f "$d/nofold/out.npy" ]; then
        if "$tmp/compare" --rtol 1e-5 "$d/nofold/out.npy" "$d/fold/out.npy" >"$d/cmp" 2>&1; then ok; else
            bad "$c: folded and --disable fold_batchnorm outputs differ by more than rounding"
            cat "$d/cmp"
        fi
    fi
    "$NNC" "$g/model.nn" --inference --weights "$g/w.safetensors" --emit kernels >"$d/k.fold" 2>&1
    "$NNC" "$g/model.nn" --inference --weights "$g/w.safetensors" --disable fold_batchnorm --emit kernels \
        >"$d/k.nofold" 2>&1
    wf=$(weight_bytes "$d/fold/$c.c")
    wn=$(weight_bytes "$d/nofold/$c.c")
    if grep -q '^# keeps the batchnorm' "$g/model.nn"; then
        # Not foldable: the same code either way.
        grep -v '^ \* Command:' "$d/fold/$c.c" >"$d/fold.c"
        grep -v '^ \* Command:' "$d/nofold/$c.c" >"$d/nofold.c"
        if grep -q batchnorm "$d/k.fold" && cmp -s "$d/fold.c" "$d/nofold.c"; then ok; else
            bad "$c: a batchnorm that must stay was folded"
            cat "$d/k.fold"
        fi
        continue
    fi
    # No batchnorm kernel once folded; one with --disable fold_batchnorm.
    if ! grep -q batchnorm "$d/k.fold" && ! grep -q batchnorm "$d/fold/$c.c" && grep -q batchnorm "$d/k.nofold"; then
        ok
    else
        bad "$c: the folded code still has a batchnorm kernel (or the unfolded one has none)"
        cat "$d/k.fold"
    fi
    if [ "$wf" -gt 0 ] && [ "$wf" -lt "$wn" ]; then ok; else
        bad "$c: weight bytes folded $wf, not fewer than unfolded $wn"
    fi
    "$NNC" "$g/model.nn" --inference --weights "$g/w.safetensors" --emit ir >"$d/ir" 2>&1
    "$NNC" "$g/model.nn" --emit ir >"$d/ir.train" 2>&1
    if ! grep -q 'batchnorm(' "$d/ir" && grep -q 'batchnorm(' "$d/ir.train"; then ok; else
        bad "$c: --emit ir of the inference code still has a batchnorm, or training code lost it"
        cat "$d/ir"
    fi
done
# The layer without a bias got one, under PyTorch's name for it.
if grep -q 'param logits.0.bias : f32\[4\]' "$tmp/conv_nobias_bn/ir" 2>/dev/null &&
    grep -q 'bias=true' "$tmp/conv_nobias_bn/ir"; then ok; else
    bad "conv_nobias_bn: the folded conv2d has no bias parameter logits.0.bias"
fi
# fold_batchnorm is an optional pass: in --help, and -O0 does not fold.
if "$NNC" --help | grep -q '^  fold_batchnorm  *opt'; then ok; else bad "nnc --help does not list fold_batchnorm as optional"; fi
g=tests/fold/dense_bn
"$NNC" "$g/model.nn" --inference --weights "$g/w.safetensors" -O0 --emit kernels >"$tmp/k0" 2>&1
if grep -q batchnorm "$tmp/k0"; then ok; else bad "-O0 folded a batchnorm"; fi

echo "run_fold: $pass passed, $fail failed"
[ $fail -eq 0 ]
