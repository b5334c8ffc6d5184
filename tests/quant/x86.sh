#!/bin/sh
# tests/quant/x86.sh: the x86 VNNI kernels of the int8 code are the ones
# compiled (docs/quantization.md, "x86"), so that a regression to the plain
# loops fails here rather than only in make bench.  On the C that
# tests/quant/run.py generated (qx86: nnc_x86_conv16, nnc_x86_rows on the
# im2col row and on a dense layer's input; qconv: nnc_x86_window):
#   - gcc and clang -O2 (no -march): warning-free, vpdpbusd and vpermb in
#     the object (the run-time dispatch's copies) and the CPU test
#     (__cpu_model or __cpu_indicator_init);
#   - -march=icelake-server (AVX-512 VNNI and VBMI): vpdpbusd and vpermb,
#     and no CPU test (called directly);
#   - -march=x86-64-v3 (AVX2, no VNNI): warning-free, dispatching;
#   - on a CPU with AVX-512 BW, VL, VNNI and VBMI, the plain build's
#     run-time choice (nnc_isa8) is the VNNI kernels'.
# Needs build/quant from tests/quant/run.py; skipped off x86-64.
set -u
cd "$(dirname "$0")/../.." || exit 2
W=build/quant
fail=0
if [ "$(uname -m)" != x86_64 ]; then
    echo "SKIP: tests/quant/x86.sh: not x86-64"
    exit 0
fi
ok() { echo "ok   $*"; }
bad() { echo "FAIL $*"; fail=1; }
WARN="-std=c99 -Wall -Wextra -pedantic -Werror"
for name in qx86 qconv; do
    c="$W/$name.gen/$name.c"
    [ -f "$c" ] || { bad "$c missing (tests/quant/run.py makes it)"; continue; }
    for cc in gcc clang; do
        command -v $cc >/dev/null 2>&1 || continue
        o="$W/$name.$cc.plain.o"
        if ! $cc $WARN -O2 -I "$W/$name.gen" -c "$c" -o "$o" 2>"$o.err"; then
            bad "$name: $cc -O2 -Werror:"; head -n 5 "$o.err"; continue
        fi
        d=$(objdump -d "$o")
        echo "$d" | grep -q vpdpbusd && echo "$d" | grep -q vpermb &&
            nm "$o" | grep -Eq '__cpu_model|__cpu_indicator_init' &&
            ok "$name: $cc -O2 (no -march): VNNI copies (vpdpbusd, vpermb) chosen at run time" ||
            bad "$name: $cc -O2 (no -march): no vpdpbusd/vpermb or no run-time CPU test"
    done
    o="$W/$name.icl.o"
    if gcc $WARN -O2 -march=icelake-server -I "$W/$name.gen" -c "$c" -o "$o"; then
        d=$(objdump -d "$o")
        echo "$d" | grep -q vpdpbusd && echo "$d" | grep -q vpermb && ! nm "$o" | grep -q __cpu_model &&
            ok "$name: gcc -O2 -march=icelake-server: VNNI kernels called directly" ||
            bad "$name: gcc -O2 -march=icelake-server: not the VNNI kernels, or still a run-time test"
    else
        bad "$name: gcc -march=icelake-server -Werror"
    fi
    gcc $WARN -O2 -march=x86-64-v3 -I "$W/$name.gen" -c "$c" -o "$W/$name.v3.o" &&
        nm "$W/$name.v3.o" | grep -q __cpu_model &&
        ok "$name: gcc -O2 -march=x86-64-v3: warning-free, dispatching" ||
        bad "$name: gcc -O2 -march=x86-64-v3"
done
# the run-time choice on this CPU
if grep -qw avx512_vnni /proc/cpuinfo && grep -qw avx512vbmi /proc/cpuinfo && grep -qw avx512bw /proc/cpuinfo &&
    grep -qw avx512vl /proc/cpuinfo; then
    printf 'int main(void) { return nnc_isa8; }\n' >"$W/isa.c"
    if gcc -std=c99 -O2 -include "$W/qx86.gen/qx86.c" -I "$W/qx86.gen" "$W/isa.c" -o "$W/isa" -lm; then
        "$W/isa"
        r=$?
        [ $r -eq 2 ] && ok "plain -O2 build on this CPU (AVX-512 VNNI and VBMI): the VNNI kernels run (nnc_isa8 = 2)" ||
            bad "plain -O2 build on this CPU: nnc_isa8 = $r, not 2 (the VNNI kernels)"
    else
        bad "the nnc_isa8 probe does not build"
    fi
else
    echo "SKIP: this CPU lacks AVX-512 VNNI or VBMI: the run-time choice is not checked"
fi
exit $fail
