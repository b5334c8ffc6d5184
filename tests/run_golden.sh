#!/bin/sh
# Golden tests against PyTorch: every case directory tests/golden/CASE/
# (made by tests/golden/gen.py, see there) is compiled with `nnc --exe` at
# -O0 (no fusion) with one and two OpenMP threads (-O0-t2), at -O2, and at
# -O2 with two threads and the generated C built with -O3 -march=native
# (-O2-t2-native: the benchmark's build, whose vectoriser once miscompiled
# a backward kernel).  The C of -O2 is built with cc -O2, the portable
# build (run-time dispatch to this CPU's AVX2 or AVX-512 copies); that of
# the -O0 levels with cc -O2 -DNNC_NO_DISPATCH, the baseline vectors
# (SSE2 on x86-64), so every vector width meets PyTorch and those builds
# take a third of the time.  The program must reproduce
#   predict: out.npy from init.safetensors on x.npy        (rtol 1e-5)
#   train:   after.safetensors after meta.json's steps of
#            batch B, in file order, from init.safetensors  (rtol 1e-4);
#            when meta.json has "epochs", that many whole epochs instead
#            (--epochs E without --steps: the lr schedule steps per epoch)
# judged by tests/golden/compare.c: |a - b| <= rtol * (|b| + rms(b)).
# Each (case, level, predict|train) is one test; a compile failure fails
# both tests of that level.
#
#   tests/run_golden.sh [--verbose] [--target aarch64] [--only CASE]... [CASE ...]
#
# --target aarch64 builds the training program for AArch64 Linux the way a
# user cross-builds it (CC="aarch64-linux-gnu-gcc -static", NNC_CFLAGS=-O2,
# NNC_RUNTIME_LIB naming a runtime built by that compiler; docs/program.md)
# and runs it under qemu-aarch64, at -O2 with one and two threads (-O2 and
# -O2-t2): the arithmetic of the NEON code and of the runtime's file
# readers on another architecture, against the same PyTorch files.  Needs
# aarch64-linux-gnu-gcc, qemu-aarch64 and zlib for arm64 (zlib1g-dev:arm64);
# without them it says so and exits 0 (make test-targets runs it).
#
# --only CASE (repeatable) and bare CASE arguments both select cases; with
# none, every case runs.
# --verbose shows the compiler's and the comparison's output.  NNC names the
# compiler (default build/nnc), CC the C compiler for compare.c (default
# cc).  Needs build/libnnrt.a (make all).  Temporary files go to
# build/golden/ only.  The last line is "N passed, M failed"; the exit status
# is non-zero when a test failed.
set -u

root=$(cd "$(dirname "$0")/.." && pwd)
case ${NNC:-} in
"") NNC=$root/build/nnc ;;
/*) ;;
*/*) NNC=$(pwd)/$NNC ;;   # relative to where the script was started
esac
cd "$root" || exit 2
CC=${CC:-cc}

usage() {
    echo "usage: tests/run_golden.sh [--verbose] [--target aarch64] [--only CASE]... [CASE ...]" >&2
    exit 2
}
verbose=0
cases=
target=host
while [ $# -gt 0 ]; do
    case $1 in
    --verbose|-v) verbose=1 ;;
    --target) [ $# -ge 2 ] || usage; shift; target=$1 ;;
    --only) [ $# -ge 2 ] || usage; shift; cases="$cases ${1%/}" ;;
    --only=*) a=${1#--only=}; cases="$cases ${a%/}" ;;
    -*) usage ;;
    *) cases="$cases ${1%/}" ;;
    esac
    shift
done
if [ -z "$cases" ]; then
    for d in tests/golden/*/; do
        [ -f "$d/model.nn" ] && cases="$cases $(basename "$d")"
    done
fi

out=build/golden
if [ ! -f build/libnnrt.a ] || [ ! -x "$NNC" ]; then
    echo "run_golden: needs $NNC and build/libnnrt.a (make all)" >&2
    exit 2
fi
# the program's compiler, flags, runtime and how it is run, per target
levels="-O0 -O0-t2 -O2 -O2-t2-native"
prog_cc=
rtlib=
run=
case $target in
host) ;;
aarch64)
    for t in aarch64-linux-gnu-gcc qemu-aarch64; do
        command -v $t >/dev/null 2>&1 || { echo "run_golden: no $t: AArch64 golden tests skipped"; exit 0; }
    done
    if ! echo 'int main(void) { return 0; }' | aarch64-linux-gnu-gcc -x c - -static -lz -o /dev/null 2>/dev/null; then
        echo "run_golden: no zlib for aarch64 (zlib1g-dev:arm64): AArch64 golden tests skipped"
        exit 0
    fi
    out=build/golden-aarch64
    # the runtime built by the cross compiler, in its own build directory
    if ! make -s B=build/aarch64 CC=aarch64-linux-gnu-gcc build/aarch64/libnnrt.a >"$out.log" 2>&1; then
        echo "run_golden: cannot build the runtime for aarch64:" >&2
        cat "$out.log" >&2
        exit 2
    fi
    levels="-O2"
    prog_cc="aarch64-linux-gnu-gcc -static"
    rtlib=$root/build/aarch64/libnnrt.a
    run=qemu-aarch64
    ;;
*) echo "run_golden: --target $target: only aarch64 (or the host, without --target)" >&2; exit 2 ;;
esac
mkdir -p "$out" || exit 2
if ! $CC -std=c99 -O2 -Iruntime -o "$out/compare" tests/golden/compare.c \
        build/libnnrt.a -lz -lm 2>"$out/compare.err"; then
    echo "run_golden: cannot build tests/golden/compare.c:" >&2
    cat "$out/compare.err" >&2
    exit 2
fi

pass=0
fail=0

# show FILE: its content with --verbose
show() {
    [ $verbose -eq 1 ] && [ -s "$1" ] && sed 's/^/    /' "$1"
    return 0
}

# meta KEY FILE: an integer field of meta.json
meta() {
    sed -n "s/^ *\"$1\": *\([0-9][0-9]*\).*/\1/p" "$2" | head -n 1
}

# record NAME STATUS LOGFILE: counts a test and reports it
record() {
    if [ "$2" -eq 0 ]; then
        pass=$((pass + 1))
        echo "ok   $1"
        show "$3"
    else
        fail=$((fail + 1))
        echo "FAIL $1"
        if [ $verbose -eq 1 ]; then
            show "$3"
        else  # the failing lines only
            grep -v '^ok ' "$3" | sed 's/^/    /' | head -n 20
        fi
    fi
}

for c in $cases; do
    g=tests/golden/$c
    if [ ! -f "$g/model.nn" ]; then
        echo "FAIL $c: no $g/model.nn"
        fail=$((fail + 1))
        continue
    fi
    batch=$(meta batch "$g/meta.json")
    steps=$(meta steps "$g/meta.json")
    epochs=$(meta epochs "$g/meta.json")
    if [ -n "$epochs" ]; then
        length="--epochs $epochs"
    else
        length="--steps $steps"
    fi
    for opt in $levels; do
        d=$out/$c$opt
        flags=$opt
        # -O2 without -march: the portable build (nnc --exe's own default
        # is -O3 -march=native, which the last variant tests); at -O0 its
        # baseline vectors alone (the script's header)
        cflags=${NNC_CFLAGS:--O2}
        case $opt in
        -O0) [ -z "${NNC_CFLAGS:-}" ] && cflags="-O2 -DNNC_NO_DISPATCH" ;;
        -O0-t2)
            flags="-O0 --threads 2"
            [ -z "${NNC_CFLAGS:-}" ] && cflags="-O2 -DNNC_NO_DISPATCH"
            ;;
        -O2-t2) flags="-O2 --threads 2" ;;
        -O2-t2-native)
            flags="-O2 --threads 2"
            cflags="-O3 -march=native"
            ;;
        esac
        rm -rf "$d"
        mkdir -p "$d" || exit 2
        # shellcheck disable=SC2086 # $flags may be two options
        if [ -n "$prog_cc" ]; then
            CC=$prog_cc NNC_RUNTIME_LIB=$rtlib NNC_CFLAGS=$cflags "$NNC" "$g/model.nn" --exe $flags \
                -o "$d/prog" >"$d/compile.log" 2>&1
        else
            NNC_CFLAGS=$cflags "$NNC" "$g/model.nn" --exe $flags -o "$d/prog" >"$d/compile.log" 2>&1
        fi
        st=$?
        if [ $st -ne 0 ]; then
            echo "nnc $g/model.nn --exe $flags exited with status $st" >>"$d/compile.log"
            record "$c $opt predict (compile)" 1 "$d/compile.log"
            record "$c $opt train (compile)" 1 "$d/compile.log"
            continue
        fi

        # predict: the forward output from the initial weights
        log=$d/predict.log
        # shellcheck disable=SC2086 # $run is empty or one word
        if $run "$d/prog" predict --weights "$g/init.safetensors" --data "$g/x.npy" \
                --output "$d/out.npy" >"$log" 2>&1; then
            "$out/compare" --rtol 1e-5 "$g/out.npy" "$d/out.npy" >>"$log" 2>&1
            st=$?
        else
            st=$?
            echo "prog predict exited with status $st" >>"$log"
        fi
        record "$c $opt predict" $st "$log"

        # train: the parameters after the steps (or epochs)
        log=$d/train.log
        # shellcheck disable=SC2086 # $length is two words
        if $run "$d/prog" train --init "$g/init.safetensors" --data "$g/x.npy" \
                --labels "$g/y.npy" $length --batch "$batch" \
                --no-shuffle --save "$d/after.safetensors" --quiet \
                >"$log" 2>&1; then
            "$out/compare" --rtol 1e-4 "$g/after.safetensors" \
                "$d/after.safetensors" >>"$log" 2>&1
            st=$?
        else
            st=$?
            echo "prog train exited with status $st" >>"$log"
        fi
        record "$c $opt train" $st "$log"
    done
done

[ "$target" = host ] || echo "target $target:"
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
