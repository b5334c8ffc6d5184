#!/usr/bin/env bash
# tests/fuzz/run.sh: build the libFuzzer target for the nnc front end and run it.
#
#   tests/fuzz/run.sh [SECONDS] [extra libFuzzer flags...]
#
# SECONDS defaults to 60.  Everything is built under build/fuzz/ (the Flex
# and Bison sources are regenerated there, so the normal build/ is never
# touched):
#
#   build/fuzz/fuzz_front     the fuzzer (clang, ASan + UBSan + libFuzzer)
#   build/fuzz/corpus/        the working corpus; kept between runs and
#                             re-seeded each run from examples/*.nn,
#                             tests/errors/*.nn and tests/fuzz/seeds/*.nn
#   build/fuzz/artifacts/     crash-*, leak-*, timeout-*, oom-* reproducers
#   build/fuzz/fuzz.log       the fuzzer's output of the last run
#
# The corpus only grows; to shrink it to the inputs that matter:
#   mkdir build/fuzz/c2 && build/fuzz/fuzz_front -merge=1 build/fuzz/c2 build/fuzz/corpus
#   && rm -r build/fuzz/corpus && mv build/fuzz/c2 build/fuzz/corpus
#
# Exit status: 0 when the run found nothing; 1 when it found a crash, leak,
# timeout or out-of-memory (the reproducer's path is printed; replay it
# with `build/fuzz/fuzz_front FILE`); 2 when the fuzzer could not be built.
#
# Environment:
#   FUZZ_CC=clang-14     the compiler (default: clang, else clang-NN)
#   FUZZ_JOBS=N          run N fuzzing processes in parallel (-fork=N); add
#                        the flag -ignore_crashes=1 to go on after a crash
#                        and collect every reproducer
#   FUZZ_MINIMIZE=0      do not minimise crash reproducers (default: the first
#                        five, 30 s each, into FILE.min)
#   FUZZ_REBUILD=1       rebuild even when the binary looks up to date
#   FUZZ_MAX_LEN=N       largest input tried, in bytes (default 65536; smaller
#                        inputs run faster)
#
# Needs clang with libFuzzer (Debian 12: clang, libclang-rt-14-dev), flex
# and bison.
set -u

# All of it is one function, read before it runs: bash reads a script as it
# goes, so a script edited (or updated by git) during a run would go wrong.
main() {
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
cd "$root" || exit 2

seconds=${1:-60}
[ $# -gt 0 ] && shift
case $seconds in
    '' | *[!0-9]*) echo "run.sh: SECONDS must be a whole number, not '$seconds'" >&2; exit 2 ;;
esac

out=build/fuzz
bin=$out/fuzz_front
corpus=$out/corpus
artifacts=$out/artifacts
log=$out/fuzz.log
dict=tests/fuzz/nn.dict
mkdir -p "$out" "$corpus" "$artifacts" || exit 2

die() { echo "run.sh: $*" >&2; exit 2; }

# ---- tools -------------------------------------------------------------
cc=${FUZZ_CC:-}
if [ -z "$cc" ]; then
    for c in clang clang-19 clang-18 clang-17 clang-16 clang-15 clang-14; do
        if command -v "$c" >/dev/null 2>&1; then cc=$c; break; fi
    done
fi
[ -n "$cc" ] || die "clang not found (Debian: apt-get install clang libclang-rt-14-dev)"
command -v flex >/dev/null 2>&1 || die "flex not found (apt-get install flex)"
command -v bison >/dev/null 2>&1 || die "bison not found (apt-get install bison)"

san="-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined"
cflags="$san -g -O1 -fno-omit-frame-pointer -std=c99"

# Can this clang link a libFuzzer target at all?  (On Debian the runtime is
# a separate package, libclang-rt-NN-dev.)
probe=$out/probe
cat > "$probe.c" <<'EOF'
#include <stddef.h>
#include <stdint.h>
int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);
int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { (void)d; (void)n; return 0; }
EOF
if ! "$cc" $san -o "$probe" "$probe.c" >"$probe.err" 2>&1; then
    cat "$probe.err" >&2
    ver=$("$cc" -dumpversion 2>/dev/null | cut -d. -f1)
    die "$cc cannot build a libFuzzer target; on Debian install libclang-rt-${ver:-NN}-dev"
fi

# ---- build ---------------------------------------------------------------
srcs=
for s in compiler/*/*.c; do [ "$s" = compiler/driver/main.c ] || srcs="$srcs $s"; done
incs=
for d in compiler/*/; do [ "$d" = compiler/emit/helpers/ ] || incs="$incs -I${d%/}"; done
stale=1
if [ "${FUZZ_REBUILD:-0}" != 1 ] && [ -x "$bin" ] &&
   [ -z "$(find compiler grammar scripts/embed_c.c tests/fuzz/fuzz_front.c tests/fuzz/run.sh -newer "$bin" -print -quit)" ]; then
    stale=0
fi
if [ $stale = 1 ]; then
    echo "run.sh: building $bin with $cc ($("$cc" -dumpversion))"
    rm -f "$bin"
    # The same commands as the Makefile, into build/fuzz/.
    bison -Wall --header="$out/parser.h" -o "$out/parser.c" grammar/parser.y || die "bison failed"
    flex --header-file="$out/lexer.h" -o "$out/lexer.c" grammar/lexer.l || die "flex failed"
    # the helper C's tables and constants (the Makefile's build/helpers/)
    mkdir -p "$out/helpers"
    "$cc" -o "$out/embed_c" scripts/embed_c.c || die "scripts/embed_c.c does not compile"
    for h in compiler/emit/helpers/*.c; do
        n=$(basename "$h" .c)
        "$out/embed_c" "$h" "$out/helpers/$n.inc" "$out/helpers/${n}_const.h" || die "embed_c $h failed"
    done
    mkdir -p "$out/obj"
    rm -f "$out"/obj/*.o "$out/libnnc.a"
    # Every compiler/*/*.c but main.c goes into an archive, so the link takes
    # only what compile_front() and the dumps reach: a file another engineer
    # is still writing does not break the fuzzer unless the front end uses it.
    pids=
    for s in $srcs "$out/parser.c" "$out/lexer.c" tests/fuzz/fuzz_front.c; do
        o=$out/obj/$(basename "$s" .c).o
        ( "$cc" -D_POSIX_C_SOURCE=200809L $incs -I"$out" $cflags \
              -Wall -Wextra -Wno-unused-function -Wno-sign-compare -c -o "$o" "$s" ||
          { echo "run.sh: warning: $s does not compile; left out" >&2; rm -f "$o"; } ) &
        pids="$pids $!"
    done
    for p in $pids; do wait "$p"; done
    [ -f "$out/obj/fuzz_front.o" ] || die "tests/fuzz/fuzz_front.c does not compile"
    ar=${AR:-ar}
    command -v "$ar" >/dev/null 2>&1 || ar=llvm-ar
    objs=
    for o in "$out"/obj/*.o; do [ "$o" = "$out/obj/fuzz_front.o" ] || objs="$objs $o"; done
    "$ar" rcs "$out/libnnc.a" $objs || die "$ar failed"
    "$cc" $cflags -o "$bin" "$out/obj/fuzz_front.o" "$out/libnnc.a" -lm || die "link failed"
fi

# ---- dictionary: warn when ops.def has a name nn.dict lacks -------------
# (rows of kind IR are made by the compiler and cannot be written)
for name in $(sed -n 's/^OP([A-Z0-9_]*, "\([a-z0-9_]*\)", *\([A-Z]*\).*/\2 \1/p' compiler/ops/ops.def |
              grep -v '^IR ' | cut -d' ' -f2); do
    grep -q "=\"$name\"\$" "$dict" || echo "run.sh: warning: $dict lacks \"$name\" from compiler/ops/ops.def" >&2
done

# ---- corpus --------------------------------------------------------------
rm -f "$corpus"/seed-*
for f in examples/*.nn tests/errors/*.nn tests/fuzz/seeds/*.nn; do
    [ -f "$f" ] && cp -f "$f" "$corpus/seed-$(basename "$f")"
done

# ---- sanitizer settings ----------------------------------------------------
sym=$(command -v llvm-symbolizer || "$cc" -print-prog-name=llvm-symbolizer 2>/dev/null)
if [ -n "$sym" ] && [ -x "$sym" ]; then
    export ASAN_SYMBOLIZER_PATH=$sym
fi
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_stack_use_after_return=1:strict_string_checks=1}

# LeakSanitizer needs ptrace-like access that some containers forbid; then
# it dies with "LeakSanitizer has encountered a fatal error" on every leak
# check.  Detect that and fuzz without leak detection rather than failing.
leak_flag=
cat > "$probe.c" <<'EOF'
#include <stdlib.h>
void *keep;
int main(void) { keep = malloc(7); keep = 0; return 0; }
EOF
if "$cc" -fsanitize=address -g -o "$probe-lsan" "$probe.c" 2>/dev/null; then
    ASAN_OPTIONS=detect_leaks=1 "$probe-lsan" >"$probe.err" 2>&1
    if ! grep -q 'detected memory leaks' "$probe.err"; then
        echo "run.sh: warning: LeakSanitizer does not work here; fuzzing without leak detection" >&2
        leak_flag=-detect_leaks=0
    fi
fi

# ---- run -------------------------------------------------------------------
jobs=${FUZZ_JOBS:-1}
fork_flag=
case $jobs in '' | *[!0-9]*) die "FUZZ_JOBS must be a number" ;; esac
[ "$jobs" -gt 1 ] && fork_flag=-fork=$jobs

stamp=$out/.run-start
touch "$stamp"
sleep 1   # artifacts of this run are strictly newer than the stamp

echo "run.sh: fuzzing for $seconds s (corpus $corpus, $(ls "$corpus" | wc -l) files)"
"./$bin" "$corpus" \
    -dict="$dict" \
    -max_total_time="$seconds" \
    -timeout=5 \
    -rss_limit_mb=2048 \
    -max_len="${FUZZ_MAX_LEN:-65536}" \
    -artifact_prefix="$artifacts/" \
    -print_final_stats=1 \
    $leak_flag $fork_flag "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}

found=$(find "$artifacts" -type f -newer "$stamp" ! -name '*.min' ! -name '*.min.log' ! -name 'minimized-from-*' | sort)
# The last status line: "#N DONE cov: ..." alone, "#N: cov: ..." with -fork.
summary=$(grep -E '^#[0-9]+' "$log" | tail -n 1)
if [ "$status" -eq 0 ] && [ -z "$found" ]; then
    echo "run.sh: no findings in $seconds s${summary:+: $summary}"
    exit 0
fi

echo
echo "run.sh: the fuzzer failed (exit status $status)${summary:+; last status: $summary}"
if [ -z "$found" ]; then
    echo "run.sh: no reproducer was written; see $log"
    exit 1
fi
minimized=0
for f in $found; do
    echo "run.sh: reproducer: $f ($(wc -c <"$f") bytes)"
    echo "run.sh:   replay:  $bin $f"
    case $(basename "$f") in
    crash-* | leak-*)
        # Shrink the first few; each try gets 30 s.  The smallest input that
        # still fails ends up in FILE.min.
        if [ "${FUZZ_MINIMIZE:-1}" != 0 ] && [ $minimized -lt 5 ]; then
            minimized=$((minimized + 1))
            "./$bin" -minimize_crash=1 -max_total_time=30 -timeout=5 -rss_limit_mb=2048 \
                -exact_artifact_path="$f.min" $leak_flag "$f" >"$f.min.log" 2>&1
            [ -s "$f.min" ] && echo "run.sh:   minimised: $f.min ($(wc -c <"$f.min") bytes)"
        fi
        ;;
    esac
    # Replay once for the sanitizer's verdict.
    "./$bin" -timeout=5 -rss_limit_mb=2048 $leak_flag "$f" 2>&1 |
        grep -E 'runtime error:|ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|^SUMMARY: ' |
        head -n 2 | sed 's/^/run.sh:   /'
done
exit 1
}

main "$@"
exit $?
