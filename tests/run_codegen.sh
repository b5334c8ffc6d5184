#!/bin/sh
# Generated code, for every example model and tests/cases/*.nn that trains:
#   - nnc's output is deterministic (two runs, identical bytes);
#   - it compiles without a warning under gcc and clang with
#     -std=c99 -Wall -Wextra -pedantic -Werror, with and without
#     -march=native, and under the cross compilers aarch64-linux-gnu-gcc
#     and arm-none-eabi-gcc (Cortex-M4) when they are installed;
#   - no GCC vector operation is wider than the target's registers
#     (-Wvector-operation-performance: plain x86-64, -march=native, AArch64,
#     Cortex-M4), and the GEMM uses the target's fused multiply-add (fmla on
#     AArch64, vfma.f32 on the Cortex-M4);
#   - the training program, built with AddressSanitizer and UBSan, trains
#     a few steps on random data, saves, reloads and predicts, cleanly;
#   - the --inference build with those weights compiles warning-free and
#     calls no allocator (nm shows no malloc, calloc, realloc or free);
#   - two threads, -march=native, -DNNC_SCALAR and --disable
#     fuse_elementwise give the same results (bits or rounding, as below);
#     so do plain -O2 (run-time dispatch) and -march=native, every dispatch
#     level (the baseline by -DNNC_NO_DISPATCH, AVX2 by -DNNC_ISA_MAX=1) and
#     its plain loops, and, under qemu-aarch64,
#     the AArch64 NEON and plain builds of the --inference code;
#   - for every --target but the host, every example's --inference code
#     holds only what the target uses (no run-time dispatch; no vector
#     types on cortex-m* and generic; AVX-512 only on x86-64-v4), compiles
#     without a warning under gcc and clang (and the cross compiler of
#     its core), and gives the host build's labels and outputs within
#     1e-5; its arena is no larger than the host's, and on cortex-m* and
#     generic it declares no GEMM pack (at batch 8, and in training code);
#     fashion_lenet's training code for each target compiles warning-free
#     and trains to the host program's predictions within 1e-5.
# NNC names the compiler (default build/nnc).
NNC=${NNC:-build/nnc}
pass=0
fail=0
tmp=$(mktemp -d)
[ -n "${KEEP:-}" ] && echo "keeping $tmp"
trap '[ -n "${KEEP:-}" ] || rm -rf "$tmp"' EXIT
RT=runtime
SAN="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"

check() { # name, command...
    what=$1
    shift
    if "$@" >"$tmp/out" 2>&1; then
        pass=$((pass + 1))
    else
        echo "FAIL: $what"
        tail -n 30 "$tmp/out"
        fail=$((fail + 1))
    fi
}

# Random data shaped for a model: x [N, numel] in [0, 1), labels or targets.
make_data() { # prog, dir[, rows (default 20)]
    "$1" info >"$2/info" || return 1
    rows=${3:-20}
    in=$(awk '/^input/ { for (i = 1; i < NF; i++) if ($(i + 1) == "values") { print $i; exit } }' "$2/info")
    tgt=$(awk '/^target/ {print $2; exit}' "$2/info")
    awk -v n="$rows" -v k="$in" 'BEGIN { srand(7); for (i = 0; i < n; i++) { s = ""; for (j = 0; j < k; j++) s = s (j ? "," : "") sprintf("%.4f", rand()); print s } }' >"$2/x.csv"
    case "$tgt" in
    class*)
        K=$(echo "$tgt" | tr -dc '0-9')
        awk -v n="$rows" -v k="$K" 'BEGIN { srand(3); for (i = 0; i < n; i++) print int(rand() * k) }' >"$2/y.csv" ;;
    *)
        t=$(awk '/^target/ { for (i = 1; i < NF; i++) if ($(i + 1) == "values") { print $i; exit } }' "$2/info")
        awk -v n="$rows" -v k="$t" 'BEGIN { srand(5); for (i = 0; i < n; i++) { s = ""; for (j = 0; j < k; j++) s = s (j ? "," : "") sprintf("%.4f", rand()); print s } }' >"$2/y.csv" ;;
    esac
}

# Cross compilers and qemu: checked when installed, skipped with a word.
A64=$(command -v aarch64-linux-gnu-gcc || true)
M4=$(command -v arm-none-eabi-gcc || true)
QEMU_A64=$(command -v qemu-aarch64 || true)
[ -n "$A64" ] || echo "run_codegen: no aarch64-linux-gnu-gcc: AArch64 checks skipped"
[ -n "$M4" ] || echo "run_codegen: no arm-none-eabi-gcc: Cortex-M4 checks skipped"
[ -n "$A64" ] && [ -z "$QEMU_A64" ] && echo "run_codegen: no qemu-aarch64: AArch64 runs skipped"
M4FLAGS="-mcpu=cortex-m4 -mfloat-abi=hard -mfpu=fpv4-sp-d16"
VWARN="-std=c99 -Wall -Wextra -pedantic -Werror -Wvector-operation-performance"
# x86-64 with AVX2 and FMA, or AVX-512: run-time dispatch then picks the copy
# that -march=native compiles (other CPUs: see docs/performance.md)
X86_FMA=""
if [ "$(uname -m)" = x86_64 ] && grep -qw fma /proc/cpuinfo 2>/dev/null &&
    grep -Eqw 'avx2|avx512f' /proc/cpuinfo; then
    X86_FMA=1
fi

# the judge of "agree to rounding" (tests/golden/compare.c)
if ! ${CC:-cc} -std=c99 -O2 -I"$RT" -o "$tmp/compare" tests/golden/compare.c build/libnnrt.a -lz -lm; then
    echo "run_codegen: cannot build tests/golden/compare.c" >&2
    exit 1
fi

for model in examples/*.nn tests/cases/*.nn; do
    [ -f "$model" ] || continue
    name=$(basename "$model" .nn)
    d="$tmp/$name"
    mkdir -p "$d/a" "$d/b"
    if ! "$NNC" "$model" -o "$d/a" 2>"$d/err"; then
        if grep -q "not implemented yet" "$d/err"; then
            continue    # operators later issues add; --check covers them
        fi
        echo "FAIL: $model: nnc failed"
        cat "$d/err"
        fail=$((fail + 1))
        continue
    fi
    mv "$d/a" "$d/first"
    mkdir -p "$d/a"
    "$NNC" "$model" -o "$d/a" 2>/dev/null
    check "$model: deterministic output" diff -r "$d/first" "$d/a"
    c=$(ls "$d/a"/*.c)
    for cc in gcc clang; do
        check "$model: $cc -Werror" $cc -std=c99 -Wall -Wextra -pedantic -Werror -I"$RT" -c "$c" -o "$d/$cc.o"
    done
    check "$model: clang -march=native -Werror" clang -std=c99 -Wall -Wextra -pedantic -Werror -O2 -march=native \
        -I"$RT" -c "$c" -o "$d/clang.native.o"
    # gcc -O2 with and without -march=native, -Werror, and vectors as wide
    # as the target's registers: none lowered piece by piece.
    check "$model: gcc -O2 -Werror: no vector wider than SSE2's" gcc $VWARN -O2 -I"$RT" -c "$c" -o "$d/vw.o"
    check "$model: gcc -O2 -march=native -Werror: no vector wider than the machine's" gcc $VWARN -O2 -march=native \
        -I"$RT" -c "$c" -o "$d/vwn.o"
    if [ -n "$A64" ]; then
        check "$model: aarch64-linux-gnu-gcc -O2 -Werror" "$A64" $VWARN -O2 -I"$RT" -c "$c" -o "$d/a64.o"
        check "$model: aarch64-linux-gnu-gcc -O2 -DNNC_SCALAR -Werror" "$A64" $VWARN -O2 -DNNC_SCALAR -I"$RT" \
            -c "$c" -o "$d/a64s.o"
        if grep -q "gemm_panel" "$c"; then
            check "$model: AArch64 GEMM uses fmla" sh -c "aarch64-linux-gnu-objdump -d '$d/a64.o' | grep -q fmla"
            check "$model: AArch64 plain GEMM uses fmadd" sh -c "aarch64-linux-gnu-objdump -d '$d/a64s.o' | grep -q fmadd"
        fi
    fi
    if [ -n "$M4" ]; then
        check "$model: arm-none-eabi-gcc (Cortex-M4) -Werror" "$M4" $M4FLAGS $VWARN -O2 -I"$RT" -c "$c" -o "$d/m4.o"
        if grep -q "gemm_panel" "$c"; then
            check "$model: Cortex-M4 GEMM uses vfma.f32" sh -c "arm-none-eabi-objdump -d '$d/m4.o' | grep -q 'vfma.f32'"
        fi
    fi
    grep -q "_train_step" "$d/a"/*.h || continue
    if ! CC=clang NNC_CFLAGS="-O1 -g $SAN" "$NNC" "$model" --exe --batch 8 -o "$d/prog" >"$d/err" 2>&1; then
        echo "FAIL: $model: --exe with sanitizers"
        cat "$d/err"
        fail=$((fail + 1))
        continue
    fi
    make_data "$d/prog" "$d"
    check "$model: train under ASan/UBSan" "$d/prog" train --data "$d/x.csv" --labels "$d/y.csv" --batch 8 \
        --epochs 2 --save "$d/w.safetensors" --quiet
    check "$model: eval under ASan/UBSan" "$d/prog" eval --weights "$d/w.safetensors" --data "$d/x.csv" --labels "$d/y.csv"
    check "$model: predict under ASan/UBSan" "$d/prog" predict --weights "$d/w.safetensors" --data "$d/x.csv" \
        --output "$d/out.npy"
    # Two threads train to the same bits as one (gcc: libgomp comes with it).
    if CC=gcc NNC_CFLAGS="-O2" "$NNC" "$model" --exe --batch 8 --threads 2 -o "$d/t2" 2>"$d/err" &&
        CC=gcc NNC_CFLAGS="-O2" "$NNC" "$model" --exe --batch 8 -o "$d/t1" 2>>"$d/err"; then
        "$d/t1" train --data "$d/x.csv" --labels "$d/y.csv" --batch 8 --epochs 2 --no-shuffle \
            --save "$d/w1.safetensors" --quiet >/dev/null 2>&1
        "$d/t2" train --data "$d/x.csv" --labels "$d/y.csv" --batch 8 --epochs 2 --no-shuffle \
            --save "$d/w2.safetensors" --quiet >/dev/null 2>&1
        check "$model: two threads train to the same weights as one" cmp "$d/w1.safetensors" "$d/w2.safetensors"
    else
        echo "FAIL: $model: --threads 2 build"; cat "$d/err"; fail=$((fail + 1))
    fi
    # Element-wise fusion changes no bit: a fused kernel evaluates the
    # statements of the kernels it replaces, in the same order.
    if CC=gcc NNC_CFLAGS="-O2" "$NNC" "$model" --exe --batch 8 --disable fuse_elementwise -o "$d/unfused" 2>"$d/err"; then
        "$d/unfused" train --data "$d/x.csv" --labels "$d/y.csv" --batch 8 --epochs 2 --no-shuffle \
            --save "$d/wu.safetensors" --quiet >/dev/null 2>&1
        check "$model: --disable fuse_elementwise trains to the same weights" cmp "$d/w1.safetensors" "$d/wu.safetensors"
    else
        echo "FAIL: $model: --disable fuse_elementwise build"; cat "$d/err"; fail=$((fail + 1))
    fi
    # The widest vectors of this machine (-march=native: 16 lanes and fused
    # multiply-add with AVX-512) agree with the portable loops built for
    # the same machine bit for bit, and with the default build to rounding.
    if NNC_CFLAGS="-O2 -march=native" "$NNC" "$model" --exe --batch 8 -o "$d/native" 2>"$d/err" &&
        NNC_CFLAGS="-O2 -march=native -DNNC_SCALAR" "$NNC" "$model" --exe --batch 8 -o "$d/native_scalar" 2>>"$d/err"; then
        "$d/native" predict --weights "$d/w.safetensors" --data "$d/x.csv" --output "$d/out_native.npy" >/dev/null 2>&1
        "$d/native_scalar" predict --weights "$d/w.safetensors" --data "$d/x.csv" --output "$d/out_native_scalar.npy" \
            >/dev/null 2>&1
        check "$model: -march=native vector and scalar kernels give identical outputs" \
            cmp "$d/out_native.npy" "$d/out_native_scalar.npy"
        check "$model: -march=native and default builds agree to rounding" \
            "$tmp/compare" --rtol 1e-5 "$d/out.npy" "$d/out_native.npy"
    else
        echo "FAIL: $model: -march=native build"; cat "$d/err"; fail=$((fail + 1))
    fi
    # The vector kernels and the portable loops (-DNNC_SCALAR) agree bit for bit.
    if NNC_CFLAGS="-O2 -DNNC_SCALAR" "$NNC" "$model" --exe --batch 8 -o "$d/scalar" 2>"$d/err"; then
        "$d/scalar" predict --weights "$d/w.safetensors" --data "$d/x.csv" --output "$d/out_scalar.npy" >/dev/null 2>&1
        check "$model: vector and scalar kernels give identical outputs" cmp "$d/out.npy" "$d/out_scalar.npy"
    else
        echo "FAIL: $model: -DNNC_SCALAR build"; cat "$d/err"; fail=$((fail + 1))
    fi
    # Plain -O2 on x86-64 dispatches at run time to the copy of the hot
    # functions for this CPU: the same bits as -march=native.
    if [ -n "$X86_FMA" ]; then
        "$d/t1" predict --weights "$d/w.safetensors" --data "$d/x.csv" --output "$d/out_o2.npy" >/dev/null 2>&1
        check "$model: plain -O2 (run-time dispatch) and -march=native give identical outputs" \
            cmp "$d/out_o2.npy" "$d/out_native.npy"
    fi
    # Each dispatch level (0 SSE2, 1 AVX2 + FMA) and the plain loops built
    # for it agree bit for bit (level 2 is the default build above).  Level
    # 0 is the baseline copy, which -DNNC_NO_DISPATCH builds alone (a third
    # of the compile time).
    for lvl in 0 1; do
        isa="-DNNC_ISA_MAX=$lvl"
        [ $lvl = 0 ] && isa=-DNNC_NO_DISPATCH
        if CC=gcc NNC_CFLAGS="-O2 $isa" "$NNC" "$model" --exe --batch 8 -o "$d/isa$lvl" 2>"$d/err" &&
            CC=gcc NNC_CFLAGS="-O2 $isa -DNNC_SCALAR" "$NNC" "$model" --exe --batch 8 \
                -o "$d/isa${lvl}s" 2>>"$d/err"; then
            "$d/isa$lvl" predict --weights "$d/w.safetensors" --data "$d/x.csv" --output "$d/out_isa$lvl.npy" \
                >/dev/null 2>&1
            "$d/isa${lvl}s" predict --weights "$d/w.safetensors" --data "$d/x.csv" --output "$d/out_isa${lvl}s.npy" \
                >/dev/null 2>&1
            check "$model: dispatch level $lvl: vector and scalar kernels give identical outputs" \
                cmp "$d/out_isa$lvl.npy" "$d/out_isa${lvl}s.npy"
            check "$model: dispatch level $lvl and the default build agree to rounding" \
                "$tmp/compare" --rtol 1e-5 "$d/out.npy" "$d/out_isa$lvl.npy"
        else
            echo "FAIL: $model: -DNNC_ISA_MAX=$lvl build"; cat "$d/err"; fail=$((fail + 1))
        fi
    done
    mkdir -p "$d/inf"
    if "$NNC" "$model" --inference --weights "$d/w.safetensors" -o "$d/inf" 2>"$d/err"; then
        ic=$(ls "$d/inf"/*.c)
        for cc in gcc clang; do
            check "$model: --inference $cc -Werror" $cc -std=c99 -Wall -Wextra -pedantic -Werror -c "$ic" -o "$d/inf/$cc.o"
        done
        if nm "$d/inf/gcc.o" | grep -Eq ' U (malloc|calloc|realloc|free)$'; then
            echo "FAIL: $model: --inference code calls the allocator"
            fail=$((fail + 1))
        else
            pass=$((pass + 1))
        fi
        # It runs from a static arena and agrees with the training program.
        mname=$(basename "$ic" .c)
        cat >"$d/inf/main.c" <<EOC
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "$mname.h"
#include "nnrt.h"
static unsigned char arena[${mname}_ARENA_BYTES] __attribute__((aligned(${mname}_ARENA_ALIGN)));
int main(void)
{
    NnrtErr err;
    NnrtArray xa, ya;
    float *x, *want;
    if (nnrt_load_array("$d/x.csv", &xa, &err) || nnrt_array_to_f32(&xa, &x, &err) ||
        nnrt_load_array("$d/out.npy", &ya, &err) || nnrt_array_to_f32(&ya, &want, &err)) {
        fprintf(stderr, "%s\\n", err.msg);
        return 1;
    }
    $mname *m = ${mname}_init(arena, sizeof arena);
    if (!m || ${mname}_arena_bytes() != sizeof arena)
        return 1;
    int n = (int)xa.dims[0];
    size_t k = (size_t)(nnrt_array_numel(&ya) / n);
    static float out[1 << 20];
    if ((size_t)n * k > sizeof out / sizeof out[0])
        return 1;
    ${mname}_forward(m, n, x, out);
    for (size_t i = 0; i < (size_t)n * k; i++)
        if (!(fabsf(out[i] - want[i]) <= 1e-5f * (1.0f + fabsf(want[i])))) {
            fprintf(stderr, "element %zu: %g, the training program says %g\\n", i, out[i], want[i]);
            return 1;
        }
    /* One sample at a time (the few-sample kernels) gives the batch's
     * bits: the same order of every sum. */
    static float one[1 << 16];
    size_t in = (size_t)(nnrt_array_numel(&xa) / n);
    for (int s = 0; s < n && k <= sizeof one / sizeof one[0]; s++) {
        ${mname}_forward(m, 1, x + (size_t)s * in, one);
        for (size_t j = 0; j < k; j++)
            if (memcmp(&one[j], &out[(size_t)s * k + j], sizeof one[j])) {
                fprintf(stderr, "sample %d alone: %g, in the batch: %g\\n", s, one[j], out[(size_t)s * k + j]);
                return 1;
            }
    }
    return 0;
}
EOC
        check "$model: --inference code runs from a static arena and matches predict" sh -c \
            "cc -std=c99 -O1 -I'$d/inf' -I'$RT' -o '$d/inf/run' '$d/inf/main.c' '$ic' build/libnnrt.a -lz -lm && '$d/inf/run'"
        # The same file built for AArch64 (NEON vectors and fmla; the plain
        # loops with fmadd) and run under qemu-aarch64: the two give the
        # same bits, and agree with x86-64 to rounding.
        if [ -n "$A64" ] && [ -n "$QEMU_A64" ] && [ "$(grep -c '_INPUT_.*_SIZE' "$d/inf/$mname.h")" -eq 1 ]; then
            awk 'BEGIN { printf "static const float xin[] = {" }
                 { n = split($0, v, ","); for (i = 1; i <= n; i++) printf "%s%sf", (c++ ? ", " : ""), v[i] }
                 END { print "};" }' "$d/x.csv" >"$d/inf/xin.h"
            cat >"$d/inf/xmain.c" <<EOC
#include <stdio.h>
#include "$mname.h"
#include "xin.h"
static unsigned char arena[${mname}_ARENA_BYTES] __attribute__((aligned(${mname}_ARENA_ALIGN)));
static float out[20 * ${mname}_OUTPUT_SIZE];
int main(void)
{
    $mname *m = ${mname}_init(arena, sizeof arena);
    if (!m)
        return 1;
    ${mname}_forward(m, 20, xin, out);
    for (int i = 0; i < 20 * ${mname}_OUTPUT_SIZE; i++)
        printf("%a %.9g\\n", out[i], out[i]);
    return 0;
}
EOC
            if "$A64" -std=c99 -O2 -static -I"$d/inf" -o "$d/inf/a64" "$d/inf/xmain.c" "$ic" -lm 2>"$d/err" &&
                "$A64" -std=c99 -O2 -static -DNNC_SCALAR -I"$d/inf" -o "$d/inf/a64s" "$d/inf/xmain.c" "$ic" -lm \
                    2>>"$d/err" &&
                cc -std=c99 -O2 -I"$d/inf" -o "$d/inf/x86" "$d/inf/xmain.c" "$ic" -lm 2>>"$d/err"; then
                "$QEMU_A64" "$d/inf/a64" >"$d/inf/a64.txt"
                "$QEMU_A64" "$d/inf/a64s" >"$d/inf/a64s.txt"
                "$d/inf/x86" >"$d/inf/x86.txt"
                check "$model: AArch64 NEON and plain --inference code give identical outputs (qemu)" \
                    cmp "$d/inf/a64.txt" "$d/inf/a64s.txt"
                check "$model: AArch64 and x86-64 --inference outputs agree to rounding" \
                    awk 'NR == FNR { w[FNR] = $2; next }
                         { d = $2 - w[FNR]; if (d < 0) d = -d; a = w[FNR] < 0 ? -w[FNR] : w[FNR]
                           if (!(d <= 1e-5 * (1 + a))) { print "line " FNR ": " $2 " against " w[FNR]; bad = 1 } }
                         END { if (FNR == 0) bad = 1; exit bad }' "$d/inf/x86.txt" "$d/inf/a64.txt"
            else
                echo "FAIL: $model: AArch64 --inference build"; cat "$d/err"; fail=$((fail + 1))
            fi
        fi
    else
        echo "FAIL: $model: --inference"
        cat "$d/err"
        fail=$((fail + 1))
    fi
done
# ---- batch invariance ---------------------------------------------------------
# A sample's outputs are the same bits whatever the batch it comes in, its
# place in that batch and the thread count: the training program's predict
# (batches of 64, then the rest) on the rows in order and reversed, at 1 and
# 2 threads, and the --inference code (--batch 64 at 1 and 2 threads, and
# --batch 1; --disable fold_batchnorm, since folding rounds the weights
# differently on purpose) called on the whole batch, on shifted and reversed batches of
# several sizes and on each sample alone.  Built twice: for this machine's
# widest vectors, as `make bench` builds them, and with plain -O2 (the
# README's build: SSE2 with run-time dispatch, where the GEMM's AVX copies
# fuse their multiply-adds and the few-sample path must too).
cat >"$tmp/bi_main.c" <<'EOC'
#include <stdio.h>
#include <string.h>
#include MODEL_H
#include "nnrt.h"
#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define FWD CAT(MODEL, _forward)
static unsigned char arena[CAT(MODEL, _ARENA_BYTES)] __attribute__((aligned(CAT(MODEL, _ARENA_ALIGN))));
static float out[1 << 16];
/* argv: x.csv, predict's output on x in order, and on x reversed */
int main(int argc, char **argv)
{
    NnrtErr err;
    NnrtArray xa, ya, ra;
    float *x, *y, *yr;
    if (argc != 4 || nnrt_load_array(argv[1], &xa, &err) || nnrt_array_to_f32(&xa, &x, &err) ||
        nnrt_load_array(argv[2], &ya, &err) || nnrt_array_to_f32(&ya, &y, &err) ||
        nnrt_load_array(argv[3], &ra, &err) || nnrt_array_to_f32(&ra, &yr, &err)) {
        fprintf(stderr, "%s\n", argc == 4 ? err.msg : "usage: x y yr");
        return 2;
    }
    int N = (int)xa.dims[0], bad = 0;
    size_t in = (size_t)(nnrt_array_numel(&xa) / N), k = (size_t)(nnrt_array_numel(&ya) / N);
    if ((size_t)MAX_B * k > sizeof out / sizeof out[0])
        return 2;
    /* predict, rows reversed, against predict in order */
    for (int s = 0; s < N; s++)
        if (memcmp(yr + (size_t)(N - 1 - s) * k, y + (size_t)s * k, k * sizeof *y)) {
            fprintf(stderr, "predict: sample %d differs at position %d of the reversed rows\n", s, N - 1 - s);
            bad++;
        }
    MODEL *m = CAT(MODEL, _init)(arena, sizeof arena);
    if (!m)
        return 2;
    int mb = MAX_B, sizes[] = {1, 2, 5, 7, 8, 9, 13, 63, 64};
    for (size_t t = 0; t < sizeof sizes / sizeof sizes[0]; t++) {
        int b = sizes[t];
        if (b > mb)
            continue;
        /* every sample in batches of b, from offset 0 and from offset b / 2 + 1 */
        for (int off = 0; off < 2; off++) {
            int s0 = off ? (b / 2 + 1) % N : 0;
            for (int done = 0; done < N;) {
                int s = (s0 + done) % N, nb = b < N - s ? b : N - s;
                if (nb > N - done)
                    nb = N - done;
                FWD(m, nb, x + (size_t)s * in, out);
                for (int j = 0; j < nb; j++)
                    if (memcmp(out + (size_t)j * k, y + (size_t)(s + j) * k, k * sizeof *y) && bad++ < 5)
                        fprintf(stderr, "sample %d at position %d of a batch of %d: %.9g, predict says %.9g\n", s + j,
                                j, nb, out[(size_t)j * k], y[(size_t)(s + j) * k]);
                done += nb;
            }
        }
    }
    return bad != 0;
}
EOC
for NC in "-O2 -march=native" "-O2"; do
for model in examples/*.nn; do
    name=$(basename "$model" .nn)
    d="$tmp/bi_$name$(echo "$NC" | tr -dc 'a-z0-9')"
    mkdir -p "$d"
    if ! NNC_CFLAGS="$NC" "$NNC" "$model" --exe --batch 64 -o "$d/p1" 2>"$d/err" ||
        ! CC=gcc NNC_CFLAGS="$NC" "$NNC" "$model" --exe --batch 64 --threads 2 -o "$d/p2" 2>>"$d/err"; then
        echo "FAIL: $model: batch invariance builds"; cat "$d/err"; fail=$((fail + 1)); continue
    fi
    make_data "$d/p1" "$d" 65
    sed '1!G;h;$!d' "$d/x.csv" >"$d/xr.csv"
    "$d/p1" train --data "$d/x.csv" --labels "$d/y.csv" --batch 64 --steps 1 --save "$d/w.st" --quiet >/dev/null 2>&1
    for t in 1 2; do
        "$d/p$t" predict --weights "$d/w.st" --data "$d/x.csv" --output "$d/o$t.npy" >/dev/null 2>&1
        "$d/p$t" predict --weights "$d/w.st" --data "$d/xr.csv" --output "$d/o${t}r.npy" >/dev/null 2>&1
    done
    check "$model ($NC): predict gives the same bits at 2 threads as at 1" cmp "$d/o1.npy" "$d/o2.npy"
    check "$model ($NC): predict on reversed rows gives the same bits at 2 threads as at 1" cmp "$d/o1r.npy" "$d/o2r.npy"
    for v in b64.t1 b64.t2 b1.t1; do
        b=${v%%.t*}; b=${b#b}; t=${v##*.t}
        mkdir -p "$d/$v"
        # Without batchnorm folding, which rescales the weights (rounding
        # differs from predict's; tests/run_fold.sh tests it).
        if ! "$NNC" "$model" --inference --weights "$d/w.st" --batch "$b" --threads "$t" --disable fold_batchnorm \
            -o "$d/$v" 2>"$d/err"; then
            echo "FAIL: $model: --inference --batch $b --threads $t"; cat "$d/err"; fail=$((fail + 1)); continue
        fi
        ic=$(ls "$d/$v"/*.c)
        mname=$(basename "$ic" .c)
        omp=""
        [ "$t" -gt 1 ] && omp="-fopenmp"
        check "$model ($NC): --inference --batch $b --threads $t: every sample the same bits as predict's, any batch and place" \
            sh -c "gcc -std=c99 $NC $omp -DMODEL=$mname -DMODEL_H='\"$mname.h\"' -DMAX_B=$b \
                -I'$d/$v' -I'$RT' -o '$d/$v/run' '$tmp/bi_main.c' '$ic' build/libnnrt.a -lz -lm &&
                '$d/$v/run' '$d/x.csv' '$d/o1.npy' '$d/o1r.npy'"
    done
done
done

# ---- --target T -------------------------------------------------------------------
# The weights and random rows of the first part (examples train on them).
TARGETS="x86-64 x86-64-v3 x86-64-v4 aarch64 cortex-m0 cortex-m4 cortex-m7 generic"
cat >"$tmp/tgt_main.c" <<'EOC'
#include <stdio.h>
#include MODEL_H
#include "nnrt.h"
#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
static unsigned char arena[CAT(MODEL, _ARENA_BYTES)] __attribute__((aligned(CAT(MODEL, _ARENA_ALIGN))));
static float out[1 << 16];
/* argv: x.csv; prints every output of forward on all its rows, a line each */
int main(int argc, char **argv)
{
    NnrtErr err;
    NnrtArray xa;
    float *x;
    if (argc != 2 || nnrt_load_array(argv[1], &xa, &err) || nnrt_array_to_f32(&xa, &x, &err))
        return 2;
    int n = (int)xa.dims[0];
    MODEL *m = CAT(MODEL, _init)(arena, sizeof arena);
    if (!m || (size_t)n * CAT(MODEL, _OUTPUT_SIZE) > sizeof out / sizeof out[0])
        return 2;
    CAT(MODEL, _forward)(m, n, x, out);
    for (int i = 0; i < n * CAT(MODEL, _OUTPUT_SIZE); i++)
        printf("%d %.9g\n", i / CAT(MODEL, _OUTPUT_SIZE), out[i]);
    return 0;
}
EOC
# same_outputs HOST TARGET: every output within 1e-5 (relative to 1 + |x|)
# of the host's, and each row's largest output (its label) at the same place
same_outputs() {
    awk 'NR == FNR { w[FNR] = $2; r[FNR] = $1; next }
         { d = $2 - w[FNR]; if (d < 0) d = -d; a = w[FNR] < 0 ? -w[FNR] : w[FNR]
           if (!(d <= 1e-5 * (1 + a))) { print "output " FNR ": " $2 ", the host says " w[FNR]; bad = 1 }
           if (!($1 in hb) || w[FNR] > hb[$1]) { hb[$1] = w[FNR]; hl[$1] = FNR }
           if (!($1 in tb) || $2 > tb[$1]) { tb[$1] = $2; tl[$1] = FNR } }
         END { if (FNR == 0) bad = 1
               for (s in hl) if (hl[s] != tl[s]) { print "row " s ": label at " tl[s] ", the host says " hl[s]; bad = 1 }
               exit bad }' "$1" "$2"
}
for model in examples/*.nn; do
    name=$(basename "$model" .nn)
    d="$tmp/$name"
    w="$d/w.safetensors"
    if [ ! -f "$w" ] || [ ! -f "$d/x.csv" ]; then
        echo "FAIL: $model: no weights from the first part"; fail=$((fail + 1)); continue
    fi
    mkdir -p "$d/tgt-host"
    if ! "$NNC" "$model" --inference --batch 8 --weights "$w" -o "$d/tgt-host" 2>"$d/err"; then
        echo "FAIL: $model: --inference --batch 8"; cat "$d/err"; fail=$((fail + 1)); continue
    fi
    hc=$(ls "$d/tgt-host"/*.c)
    mname=$(basename "$hc" .c)
    host_arena=$(sed -n "s/^#define ${mname}_ARENA_BYTES \([0-9]*\)ul$/\1/p" "$d/tgt-host/$mname.h")
    build_run() { # dir: build the driver around dir's code with gcc -O2 -Werror and run it on x.csv
        gcc -std=c99 -Wall -Wextra -pedantic -Werror -O2 -DMODEL="$mname" -DMODEL_H="\"$mname.h\"" -I"$1" \
            -I"$RT" -o "$1/run" "$tmp/tgt_main.c" "$1/$mname.c" build/libnnrt.a -lz -lm &&
            "$1/run" "$d/x.csv" >"$1/out.txt"
    }
    check "$model: --inference --batch 8 (host) runs" build_run "$d/tgt-host"
    for t in $TARGETS; do
        o="$d/tgt-$t"
        mkdir -p "$o"
        if ! "$NNC" "$model" --inference --batch 8 --target $t --weights "$w" -o "$o" 2>"$d/err"; then
            echo "FAIL: $model: --inference --target $t"; cat "$d/err"; fail=$((fail + 1)); continue
        fi
        c="$o/$mname.c"
        # only what the target uses
        case $t in
        cortex-m* | generic) notwant='vector_size|NNC_VECTOR|NNC_LANES|_mm|__m[0-9]|__AVX|arm_neon|nnc_isa|pragma GCC target' ;;
        x86-64-v4) notwant='nnc_isa|defined\(NNC_DISPATCH|def NNC_DISPATCH|pragma GCC target|arm_neon' ;;
        aarch64) notwant='nnc_isa|defined\(NNC_DISPATCH|def NNC_DISPATCH|pragma GCC target|_mm|__AVX' ;;
        *) notwant='nnc_isa|defined\(NNC_DISPATCH|def NNC_DISPATCH|pragma GCC target|_mm512|__m512|arm_neon' ;;
        esac
        check "$model: --target $t: no code the target does not use" sh -c "! grep -En '$notwant' '$c'"
        # clang on the two kinds of file (plain loops: generic; vectors:
        # x86-64-v4), gcc on all (build_run below: gcc -O2 -Werror): CI's
        # 30 minutes
        case $t in generic | x86-64-v4) ccs="gcc clang" ;; *) ccs=gcc ;; esac
        for cc in $ccs; do
            [ $cc = clang ] &&
                check "$model: --target $t: $cc -Werror" $cc -std=c99 -Wall -Wextra -pedantic -Werror -O2 -c "$c" \
                    -o "$o/$cc.o"
            # -march=native enables vector code only where the file has some:
            # the x86 targets' (the plain-loop targets' is the plain build's)
            case $t in x86-64*)
                check "$model: --target $t: $cc -march=native -Werror" $cc -std=c99 -Wall -Wextra -pedantic \
                    -Werror -O2 -march=native -c "$c" -o "$o/$cc.n.o" ;;
            esac
        done
        case $t in
        cortex-m*)
            [ -n "$M4" ] && check "$model: --target $t: arm-none-eabi-gcc -Werror" "$M4" \
                -mcpu=$t -mthumb $([ $t = cortex-m0 ] && echo -mfloat-abi=soft || echo -mfloat-abi=hard -mfpu=auto) \
                $VWARN -Os -c "$c" -o "$o/arm.o" ;;
        aarch64)
            [ -n "$A64" ] && check "$model: --target aarch64: aarch64-linux-gnu-gcc -Werror" "$A64" $VWARN -O2 -c "$c" \
                -o "$o/a64.o" ;;
        esac
        if build_run "$o" 2>"$d/err"; then
            pass=$((pass + 1)) # gcc -O2 -Werror builds it, and it runs
            check "$model: --target $t: the host's labels and outputs within 1e-5" \
                same_outputs "$d/tgt-host/out.txt" "$o/out.txt"
        else
            echo "FAIL: $model: --target $t: gcc -O2 -Werror build, or run"; cat "$d/err"; fail=$((fail + 1))
        fi
        a=$(sed -n "s/^#define ${mname}_ARENA_BYTES \([0-9]*\)ul$/\1/p" "$o/$mname.h")
        check "$model: --target $t: arena $a bytes, the host's $host_arena" test "$a" -le "$host_arena"
        case $t in
        cortex-m* | generic)
            for mode in "--inference --weights $w" ""; do
                check "$model: --target $t ${mode:+--inference }--batch 8: no GEMM pack" sh -c \
                    "'$NNC' '$model' $mode --batch 8 --target $t --emit memory >'$o/mem.txt' && ! grep -w pack '$o/mem.txt'"
            done ;;
        esac
    done
done
# One training model for each target: fashion_lenet's training code
# compiles warning-free and trains (3 steps) to the host's predictions.
# cortex-m0's file is generic's and cortex-m7's cortex-m4's, but for the
# command line in its header (the same row of plain loops, with and without
# fused multiply-add): those two are left out (CI's 30 minutes).
TRAIN_TARGETS="x86-64 x86-64-v3 x86-64-v4 aarch64 cortex-m4 generic"
d="$tmp/fashion_lenet"
if CC=gcc NNC_CFLAGS=-O2 "$NNC" examples/fashion_lenet.nn --exe --batch 8 -o "$d/th" 2>"$d/err" &&
    "$d/th" train --data "$d/x.csv" --labels "$d/y.csv" --batch 8 --steps 3 --no-shuffle --seed 1 \
        --save "$d/th.st" --quiet >/dev/null 2>&1 &&
    "$d/th" predict --weights "$d/th.st" --data "$d/x.csv" --output "$d/th.npy" >/dev/null 2>&1; then
    for t in $TRAIN_TARGETS; do
        mkdir -p "$d/train-$t"
        if "$NNC" examples/fashion_lenet.nn --batch 8 --target $t -o "$d/train-$t" 2>"$d/err"; then
            for cc in gcc clang; do
                check "fashion_lenet training code --target $t: $cc -Werror" $cc -std=c99 -Wall -Wextra -pedantic \
                    -Werror -O2 -I"$RT" -c "$d/train-$t/fashion_lenet.c" -o "$d/train-$t/$cc.o"
            done
        else
            echo "FAIL: fashion_lenet --target $t"; cat "$d/err"; fail=$((fail + 1))
        fi
        if CC=gcc NNC_CFLAGS=-O2 "$NNC" examples/fashion_lenet.nn --exe --batch 8 --target $t -o "$d/t-$t" 2>"$d/err" &&
            "$d/t-$t" train --data "$d/x.csv" --labels "$d/y.csv" --batch 8 --steps 3 --no-shuffle --seed 1 \
                --save "$d/t-$t.st" --quiet >/dev/null 2>&1 &&
            "$d/t-$t" predict --weights "$d/t-$t.st" --data "$d/x.csv" --output "$d/t-$t.npy" >/dev/null 2>&1; then
            check "fashion_lenet --target $t: trains to the host's predictions within 1e-5" \
                "$tmp/compare" --rtol 1e-5 "$d/th.npy" "$d/t-$t.npy"
        else
            echo "FAIL: fashion_lenet --target $t: training program"; cat "$d/err"; fail=$((fail + 1))
        fi
    done
else
    echo "FAIL: fashion_lenet: the host's training program"; cat "$d/err"; fail=$((fail + 1))
fi

# ---- plain -O2: the loops of the parallel regions are vectorised ---------------
# GCC at -O2 vectorises no loop that needs a run-time alias check or a
# scalar epilogue, and an OpenMP parallel region's body reads its pointers
# from a struct, without their restrict: in the plain build (run-time
# dispatch) lenet's pooling and its backward stayed scalar at two threads
# and took 3 to 6 times the CPU time they took at one, the plain build
# half the native one (docs/performance.md).  The prelude gives GCC the
# cheap cost model there.  Every parallel region (an NNC_PARALLEL_FOR and
# its loop) of a kernel that pools must hold a loop that
# gcc -O2 -fopenmp -fopt-info-vec-optimized reports vectorised (in the
# models with relu: digits123_cnn's sigmoid calls expf, which GCC does not
# vectorise without -ffast-math, at -O3 -march=native either).
if [ "$(uname -m)" = x86_64 ]; then
    for model in examples/fashion_lenet.nn tests/cases/conv_pool_only.nn; do
        name=$(basename "$model" .nn)
        d="$tmp/vecpar_$name"
        mkdir -p "$d"
        if ! "$NNC" "$model" --batch 64 --threads 2 -o "$d" 2>"$d/err" ||
            ! gcc -std=c99 -O2 -fopenmp -fopt-info-vec-optimized="$d/vec.txt" -I"$RT" -c "$d"/*.c -o "$d/o.o" \
                2>>"$d/err"; then
            echo "FAIL: $model: plain -O2 --threads 2 build"; cat "$d/err"; fail=$((fail + 1)); continue
        fi
        check "$model: plain -O2 --threads 2: every pooling kernel's parallel region has a vectorised loop" \
            awk -v V="$d/vec.txt" '
            BEGIN { while ((getline l < V) > 0) { split(l, a, ":"); vec[a[2]]++ } }
            /^static void k[0-9]+_/ { name = $3; sub(/\(.*/, "", name) }
            /^ *NNC_PARALLEL_FOR$/ { if (name ~ /maxpool/) { from = NR; end = "" } next }
            from && end == "" { match($0, /^ */); end = substr($0, 1, RLENGTH) "}"; next }
            from && $0 == end {
                n = 0; for (i = from; i <= NR; i++) n += vec[i]
                print name ": " n " loop(s) vectorised in the parallel region at line " from
                regions++; if (n == 0) bad++; from = 0 }
            END { if (!regions) print "no parallel region in a pooling kernel"; exit !regions || bad }' "$d"/*.c
    done
fi

# ---- long sums and large planes (tests/big) -----------------------------------
# A dense layer of 2^24 inputs: one sample alone (the few-sample path) and in
# a batch of 8 (the GEMM) give the same bits, vector and -DNNC_SCALAR alike,
# within PyTorch's error of a float64 reference (big_dense_main.c).  Max
# pooling on a plane of 4098 x 4098 > 2^24 elements routes the gradient to
# where each maximum was (int32 positions), one SGD step against float64.
# About 0.8 GB and 0.25 GB, a few seconds each.
for big in big_dense big_pool; do
    d="$tmp/$big"
    mkdir -p "$d/src"
    if ! "$NNC" tests/big/$big.nn --batch $([ $big = big_dense ] && echo 8 || echo 1) -o "$d/src" 2>"$d/err"; then
        echo "FAIL: tests/big/$big.nn: nnc failed"; cat "$d/err"; fail=$((fail + 1)); continue
    fi
    for v in vector scalar; do
        f=""
        [ $v = scalar ] && f="-DNNC_SCALAR"
        [ $big = big_pool ] && [ $v = scalar ] && continue
        check "tests/big/$big.nn ($v)" sh -c "gcc -std=c99 -O2 -march=native $f -I'$d/src' -I'$RT' -o '$d/run_$v' \
            tests/big/${big}_main.c '$d/src/$big.c' build/libnnrt.a -lz -lm &&
            '$d/run_$v' '$d/a.st' '$d/b.st' >'$d/out_$v.txt'"
    done
    [ $big = big_dense ] && check "tests/big/$big.nn: vector and scalar kernels give the same bits" \
        cmp "$d/out_vector.txt" "$d/out_scalar.txt"
done

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
