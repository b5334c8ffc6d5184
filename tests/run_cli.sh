#!/bin/sh
# The nnc command line against hostile or unlucky input (run by
# tests/run_examples.sh, so by `make test`):
#   - --exe runs the C compiler without a shell: a program name holding
#     quotes and `;` runs nothing, CC and NNC_CFLAGS are split into words,
#     -O3 -march=native is the default (also for an empty NNC_CFLAGS), and
#     the temporary directory is gone afterwards, on success and failure;
#   - a model path holding " \ */ ??/, a newline and a byte 0xff, and an
#     argument holding */, give C that compiles warning-free, and the
#     program reports the path exactly (the .source string literal);
#   - a model named after a C keyword, a C library name, a reserved name or
#     one of the generated code's own identifiers (m, at, real, seed, exp,
#     free, size_t, int, static, _Bool, __x, w, NAN, linux, math, ...)
#     builds and runs; every file-scope identifier and macro of the code
#     generated for the examples, and NAME where NAME_H or NAME_forward
#     would be one, is tried as a model name;
#   - parameters whose C spellings meet (h.0.weight, h_0.weight) compile in
#     --inference code;
#   - a warning keeps exit status 0 and writes the files; -Werror makes it
#     an error (exit 1, nothing written);
#   - --emit memory's product lines agree with the generated code (ram =
#     NAME_ARENA_BYTES of the header, flash = the bytes of the weight
#     arrays of the .c = the layers' weights added up), and --budget
#     exits 0 when the model fits, 1 naming the budget exceeded and by how
#     much when it does not, 2 for bad syntax or without --emit memory;
#   - --target: an unknown or missing name is a usage error (exit 2) that
#     lists the targets, --help lists them; --emit ir and --emit memory
#     name the target; --exe builds an x86-64 target with its -march,
#     refuses another without CC (exit 2, nothing built), and NNC_CFLAGS
#     still overrides.
#   tests/run_cli.sh        NNC names the compiler (default build/nnc)
NNC=${NNC:-build/nnc}
case $NNC in /*) ;; *) NNC=$(pwd)/$NNC ;; esac
RT=$(pwd)/runtime
pass=0
fail=0
tmp=$(mktemp -d "${TMPDIR:-/tmp}/nnc-cli.XXXXXX") || exit 2
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM

# Under `make asan` nnc and the runtime library it links are instrumented,
# so the programs --exe builds need the sanitizers too.
san=
if nm "$NNC" 2>/dev/null | grep -q __asan_init; then
    san="-fsanitize=address,undefined"
    ASAN_OPTIONS=detect_leaks=0
    export ASAN_OPTIONS
fi
CC="${CC:-cc} $san"
export CC

ok() { pass=$((pass + 1)); }
bad() {
    echo "FAIL: $*"
    fail=$((fail + 1))
}

# A small model named $1 whose parameters' C spellings collide.
model() {
    cat <<EOF
model $1 {
    input  x : f32[2]
    target y : class[2]
    h      = x -> dense(3) -> relu
    h_0    = dense(h, 3)
    logits = h_0 -> dense(2)
    loss      cross_entropy(logits, y)
    optimizer sgd(lr = 0.1)
}
EOF
}
# A model named $1 with a kernel of each family (the GEMM, direct
# convolutions and dotsum(), pooling, batchnorm, dropout, adam), so that
# every helper the generated code can hold is there.
big_model() {
    sed "s/^model fashion_lenet /model $1 /" examples/fashion_lenet.nn | sed 's/-> dense(84)  -> relu/-> dense(84) -> batchnorm -> relu -> dropout(0.2)/'
}
model tiny >"$tmp/tiny.nn"
printf '0,0\n0,1\n1,0\n1,1\n' >"$tmp/x.csv"
printf '0\n1\n1\n0\n' >"$tmp/y.csv"

# ---- no shell -------------------------------------------------------------
mkdir "$tmp/inj" "$tmp/t"
evil="x'; touch pwned; echo '"
(cd "$tmp/inj" && TMPDIR="$tmp/t" NNC_CFLAGS=-O0 "$NNC" ../tiny.nn --exe -o "$evil" >out 2>&1)
rc=$?
if [ -e "$tmp/inj/pwned" ] || [ -e "$tmp/pwned" ] || [ -e pwned ]; then
    bad "--exe -o \"$evil\" ran a shell command"
elif [ $rc -eq 0 ] && "$tmp/inj/$evil" info >/dev/null 2>&1; then
    ok
else
    bad "--exe -o \"$evil\": exit $rc, or the program does not run"
    cat "$tmp/inj/out"
fi
if [ -z "$(ls -A "$tmp/t")" ]; then ok; else bad "--exe left $(ls "$tmp/t") in TMPDIR"; fi

# CC and NNC_CFLAGS: words, no shell, the fast default.
cat >"$tmp/logcc" <<EOF
#!/bin/sh
for a in "\$@"; do printf '[%s]' "\$a"; done >>"$tmp/cc.log"
echo >>"$tmp/cc.log"
exec ${CC_FOR_TEST:-cc} $san "\$@"
EOF
chmod +x "$tmp/logcc"
cc_args() { # NNC_CFLAGS value or "unset", then expected and unexpected words
    : >"$tmp/cc.log"
    if [ "$1" = unset ]; then
        (cd "$tmp" && unset NNC_CFLAGS && CC="$tmp/logcc --version-not-a-flag-x" TMPDIR="$tmp/t" \
            "$NNC" tiny.nn --exe -o p >/dev/null 2>&1)
    else
        (cd "$tmp" && CC="$tmp/logcc" NNC_CFLAGS="$1" TMPDIR="$tmp/t" "$NNC" tiny.nn --exe -o p >/dev/null 2>&1)
    fi
    cat "$tmp/cc.log"
}
got=$(cc_args unset)
case $got in
*"[--version-not-a-flag-x]"*"[-O3][-march=native]"*) ok ;;
*) bad "CC with two words and no NNC_CFLAGS: the compiler got $got" ;;
esac
got=$(cc_args "   ")
case $got in
*"[-O3][-march=native]"*) ok ;;
*) bad "empty NNC_CFLAGS should mean -O3 -march=native; the compiler got $got" ;;
esac
got=$(cc_args " -O1	-g  '-DQ=1 2' ")
case $got in
*"-O3"*) bad "NNC_CFLAGS=-O1 still passes -O3: $got" ;;
*"[-O1][-g]['-DQ=1][2']"*) ok ;;
*) bad "NNC_CFLAGS words: the compiler got $got" ;;
esac
# A failing compiler: exit 2, a message with the words, no temporary files.
(cd "$tmp" && NNC_CFLAGS="-O0 --no-such-flag-nnc" TMPDIR="$tmp/t" "$NNC" tiny.nn --exe -o q >"$tmp/err" 2>&1)
rc=$?
if [ $rc -eq 2 ] && grep -q "C compiler failed.*--no-such-flag-nnc" "$tmp/err" && [ -z "$(ls -A "$tmp/t")" ]; then
    ok
else
    bad "a failing C compiler: exit $rc (want 2), or no message, or files left in TMPDIR"
    cat "$tmp/err"
fi
(cd "$tmp" && CC="$tmp/no such compiler" "$NNC" tiny.nn --exe -o q >"$tmp/err" 2>&1)
rc=$?
if [ $rc -eq 2 ] && grep -q "cannot run the C compiler" "$tmp/err"; then ok; else
    bad "a missing C compiler: exit $rc"
    cat "$tmp/err"
fi

# ---- escaping ---------------------------------------------------------------
weird=$(printf '%s\n%s\377' 'we"ird\dir*/ ??/ /*' 'x')
mkdir -p "$tmp/$weird" "$tmp/o*" "$tmp/p*/"
cp "$tmp/tiny.nn" "$tmp/$weird/m.nn"
if (cd "$tmp" && "$NNC" "$weird/m.nn" -o "o*/d" 2>"$tmp/err") &&
    gcc -std=c99 -Wall -Wextra -pedantic -Werror -fsyntax-only -I"$RT" "$tmp/o*/d/tiny.c" 2>"$tmp/err"; then
    ok
else
    bad "a model path with \" \\ */ ??/ and a newline, -o 'o*/d': the generated C does not compile"
    head -20 "$tmp/err"
fi
weird2='we"ird\dir*/ ??/ /*'
(cd "$tmp" && mkdir -p "$weird2" && cp tiny.nn "$weird2/m.nn" &&
    NNC_CFLAGS=-O0 "$NNC" "$weird2/m.nn" --exe -o "p*/prog" >"$tmp/err" 2>&1 && "p*/prog" info >"$tmp/info" 2>&1)
if grep -qF "(compiled from $weird2/m.nn)" "$tmp/info"; then ok; else
    bad "the program does not report its model's path exactly (the .source string)"
    cat "$tmp/err" "$tmp/info"
fi

# ---- names --------------------------------------------------------------------
# Each name builds into a program that runs.
for name in m at real seed exp free size_t int static _Bool __x; do
    d="$tmp/name_$name"
    mkdir -p "$d"
    model "$name" >"$d/m.nn"
    if (cd "$d" && NNC_CFLAGS=-O0 "$NNC" m.nn --exe -o prog >err 2>&1) &&
        "$d/prog" info >"$d/info" 2>&1 && grep -q "^model $name " "$d/info"; then
        ok
    else
        bad "a model named $name does not build and run:"
        head -20 "$d/err" "$d/info" 2>/dev/null
    fi
done

# Every file-scope name of generated code, as a model name, compiles.
mkdir -p "$tmp/gen"
for m in examples/fashion_lenet.nn examples/fashion_mlp.nn examples/fashion_bn_dropout.nn; do
    "$NNC" "$m" -o "$tmp/gen" 2>/dev/null
done
for c in "$tmp"/gen/*.c; do
    base=$(basename "$c" .c)
    cc -std=c99 -c -I"$RT" -o "$tmp/gen.o" "$c" 2>/dev/null &&
        nm "$tmp/gen.o" | awk -v b="$base" '$2 ~ /^[tdbrTDBR]$/ && index($3, b "_") != 1 { print $3 }'
    grep -oE '^#define [A-Za-z_][A-Za-z0-9_]*' "$c" | cut -d' ' -f2
    grep -oE 'typedef [^;(]*' "$c" | grep -oE '[A-Za-z_][A-Za-z0-9_]*$'
    grep -oE 'typedef [^;]*[A-Za-z0-9_]+ __attribute__' "$c" | awk '{ print $(NF - 1) }'
done | sort -u | grep -vxE 'model|input|target|output|loss|optimizer|train|true|false' >"$tmp/names"
echo fashion_lenet >>"$tmp/names"
# DOT would define DOT_H, a macro of the GEMM: the stems of names the API
# would make (NAME_H, NAME_forward, ...) too.
sed -nE 's/^([A-Za-z][A-Za-z0-9_]*)_(H|MAX_BATCH|OUTPUT_SIZE|arena_bytes|create|destroy|epoch_end|eval_loss|forward|init|load|load_err|model|save|save_err|set_lr|train_step)$/\1/p' \
    "$tmp/names" | grep -vxE 'model|input|target|output|loss|optimizer|train|true|false' >"$tmp/stems"
cat "$tmp/stems" >>"$tmp/names"
printf '%s\n' w NAN linux math xor k001 in_x omp class xmmintrin >>"$tmp/names"
n=0
mkdir -p "$tmp/many"
while read -r name; do
    big_model "$name" >"$tmp/many/m.nn"
    if ! "$NNC" "$tmp/many/m.nn" -o "$tmp/many" >/dev/null 2>"$tmp/many/err"; then
        bad "nnc fails on a model named $name"
        cat "$tmp/many/err"
    fi
    n=$((n + 1))
done <"$tmp/names"
if ! grep -q "DOT_H" "$tmp/many/fashion_lenet.c" 2>/dev/null ||
    ! grep -q "batchnorm" "$tmp/many/fashion_lenet.c"; then
    bad "the model of the names test lost its direct convolution or its batchnorm"
elif [ "$n" -lt 40 ]; then
    bad "only $n file-scope names found in the generated code"
elif gcc -std=c99 -Wall -Wextra -pedantic -Werror -fsyntax-only -I"$RT" "$tmp"/many/*.c >"$tmp/err" 2>&1; then
    ok
else
    bad "models named after the generated code's own identifiers do not compile:"
    head -30 "$tmp/err"
fi

# --inference: h.0.weight and h_0.weight are two arrays.
if (cd "$tmp" && NNC_CFLAGS=-O0 "$NNC" tiny.nn --exe -o tp >/dev/null 2>&1 &&
    ./tp train --data x.csv --labels y.csv --steps 1 --quiet --save w.safetensors >/dev/null 2>&1 &&
    "$NNC" tiny.nn --inference --weights w.safetensors -o inf 2>err) &&
    gcc -std=c99 -Wall -Wextra -pedantic -Werror -fsyntax-only "$tmp/inf/tiny.c" 2>"$tmp/err"; then
    ok
else
    bad "--inference code with parameters h.0.weight and h_0.weight does not compile:"
    head -20 "$tmp/err"
fi

# ---- warnings ---------------------------------------------------------------
# A warning leaves the exit status 0 and writes the files; -Werror makes it
# an error: exit 1, nothing written.
cat >"$tmp/warn.nn" <<EOF
model warn {
    input  x : f32[4]
    target y : f32[1]
    p = x -> dense(1) -> sigmoid
    loss      binary_cross_entropy(p, y)
    optimizer sgd(lr = 0.1)
}
EOF
if "$NNC" "$tmp/warn.nn" -o "$tmp/w0" 2>"$tmp/err" && grep -q "warning: binary_cross_entropy" "$tmp/err" &&
    [ -f "$tmp/w0/warn.c" ]; then ok; else
    bad "a model with a warning: nonzero exit, no warning or no files"
    cat "$tmp/err"
fi
"$NNC" "$tmp/warn.nn" -Werror -o "$tmp/w1" 2>"$tmp/err"
rc=$?
if [ $rc -eq 1 ] && grep -q "error: binary_cross_entropy.*\[-Werror\]" "$tmp/err" && [ ! -e "$tmp/w1/warn.c" ]; then
    ok
else
    bad "-Werror: exit $rc (want 1), or no [-Werror] error, or files written"
    cat "$tmp/err"
fi

# ---- --target -------------------------------------------------------------------
all_targets="host, x86-64, x86-64-v3, x86-64-v4, aarch64, cortex-m0, cortex-m4, cortex-m7, generic"
for t in cortex-m33 "" X86-64 host,generic; do
    "$NNC" "$tmp/tiny.nn" --target "$t" -o "$tmp/tgt" >/dev/null 2>"$tmp/err"
    rc=$?
    if [ $rc -eq 2 ] && grep -qF "nnc: error: unknown target '$t'; the targets are $all_targets" "$tmp/err" &&
        [ ! -e "$tmp/tgt" ]; then ok; else
        bad "--target '$t': exit $rc (want 2 and the list of targets), or files written:"
        cat "$tmp/err"
    fi
done
"$NNC" "$tmp/tiny.nn" --target >/dev/null 2>"$tmp/err"
rc=$?
if [ $rc -eq 2 ] && grep -q -- "--target needs a value" "$tmp/err"; then ok; else bad "--target without a value: exit $rc"; fi
"$NNC" --help >"$tmp/help" 2>&1
if grep -q -- "--target T  " "$tmp/help" && grep -q "cortex-m4  *Cortex-M4F" "$tmp/help"; then ok; else
    bad "--help does not document --target"
fi
for t in $(echo "$all_targets" | tr -d ,); do
    grep -q "^  $t  " "$tmp/help" || bad "--help does not list the target $t"
done
for t in host x86-64-v3 cortex-m4; do
    if "$NNC" "$tmp/tiny.nn" --target $t --emit ir 2>&1 | head -n 1 | grep -qx "; target $t" &&
        "$NNC" "$tmp/tiny.nn" --target $t --emit memory 2>&1 | grep -q "^; for a product: .*, target $t\$"; then ok; else
        bad "--target $t: --emit ir or --emit memory does not name the target"
    fi
done
if [ "$("$NNC" "$tmp/tiny.nn" --emit ir)" = "$("$NNC" "$tmp/tiny.nn" --target host --emit ir)" ]; then ok; else
    bad "--target host and no --target give different IR"
fi
got=$(: >"$tmp/cc.log"; cd "$tmp" && unset NNC_CFLAGS && CC="$tmp/logcc" TMPDIR="$tmp/t" \
    "$NNC" tiny.nn --exe --target x86-64-v3 -o p >/dev/null 2>&1; cat "$tmp/cc.log")
case $got in
*"[-O3][-march=x86-64-v3]"*) ok ;;
*) bad "--exe --target x86-64-v3 should build with -O3 -march=x86-64-v3; the compiler got $got" ;;
esac
got=$(: >"$tmp/cc.log"; cd "$tmp" && CC="$tmp/logcc" NNC_CFLAGS=-O1 TMPDIR="$tmp/t" \
    "$NNC" tiny.nn --exe --target x86-64 -o p >/dev/null 2>&1; cat "$tmp/cc.log")
case $got in
*"march"*) bad "NNC_CFLAGS=-O1 should override --target x86-64's -march; the compiler got $got" ;;
*"[-O1]"*) ok ;;
*) bad "--exe --target x86-64 with NNC_CFLAGS=-O1: the compiler got $got" ;;
esac
for t in aarch64 cortex-m4 generic; do
    rm -f "$tmp/p"
    (cd "$tmp" && unset CC && TMPDIR="$tmp/t" "$NNC" tiny.nn --exe --target $t -o p >/dev/null 2>"$tmp/err")
    rc=$?
    if [ $rc -eq 2 ] && grep -q -- "--exe for --target $t needs CC set to a cross compiler" "$tmp/err" &&
        [ ! -e "$tmp/p" ]; then ok; else
        bad "--exe --target $t without CC: exit $rc (want 2, refused), or a program was built"
        cat "$tmp/err"
    fi
done
# with CC, a cross build is the user's: no -march of nnc's
got=$(: >"$tmp/cc.log"; cd "$tmp" && unset NNC_CFLAGS && CC="$tmp/logcc" TMPDIR="$tmp/t" \
    "$NNC" tiny.nn --exe --target generic -o p >/dev/null 2>&1; cat "$tmp/cc.log")
case $got in
*"march"*) bad "--exe --target generic with CC: nnc chose a -march: $got" ;;
*"[-O3]"*) ok ;;
*) bad "--exe --target generic with CC: the compiler got $got" ;;
esac

# ---- --emit memory for a product, --budget ------------------------------------
M=tests/fold/conv_bn_relu
emem() { "$NNC" "$M/model.nn" --inference --weights "$M/w.safetensors" --batch 1 "$@"; }
mkdir -p "$tmp/mem" "$tmp/memt"
if emem --emit memory >"$tmp/mem.txt" 2>"$tmp/err" && emem -o "$tmp/mem" 2>>"$tmp/err" &&
    "$NNC" "$M/model.nn" --batch 1 --emit memory >"$tmp/memt.txt" 2>>"$tmp/err" &&
    "$NNC" "$M/model.nn" --batch 1 -o "$tmp/memt" 2>>"$tmp/err"; then
    hdr=$(sed -n 's/^#define conv_bn_relu_ARENA_BYTES \([0-9]*\)ul$/\1/p' "$tmp/mem/conv_bn_relu.h")
    ram=$(sed -n 's/^ram \([0-9]*\) bytes: conv_bn_relu_ARENA_BYTES .*/\1/p' "$tmp/mem.txt")
    hdrt=$(sed -n 's/^#define conv_bn_relu_ARENA_BYTES \([0-9]*\)ul$/\1/p' "$tmp/memt/conv_bn_relu.h")
    ramt=$(sed -n 's/^ram \([0-9]*\) bytes: conv_bn_relu_ARENA_BYTES .*/\1/p' "$tmp/memt.txt")
    wc=$(sed -n 's/^static const real [A-Za-z0-9_]*\[\([0-9]*\)\] NNC_WEIGHTS = .*/\1/p' "$tmp/mem/conv_bn_relu.c" |
        awk '{ s += $1 * 4 } END { print s + 0 }')
    flash=$(sed -n 's/^flash \([0-9]*\) bytes: weights .*/\1/p' "$tmp/mem.txt")
    layers=$(awk '$1 == "layer" { s += $5 } END { print s + 0 }' "$tmp/mem.txt")
    if [ -n "$hdr" ] && [ "$ram" = "$hdr" ] && [ -n "$hdrt" ] && [ "$ramt" = "$hdrt" ] && [ "$ramt" != "$ram" ]; then
        ok
    else
        bad "--emit memory: ram '$ram' (training code '$ramt') is not NAME_ARENA_BYTES '$hdr' ('$hdrt')"
    fi
    if [ "$wc" -gt 0 ] && [ "$flash" = "$wc" ] && [ "$layers" = "$wc" ]; then ok; else
        bad "--emit memory: flash '$flash', the layers' weights $layers, the .c's weight arrays $wc bytes"
    fi
    if grep -q '^layer logits.0+logits.1  *conv2d ' "$tmp/mem.txt" && grep -q '^flash 0 bytes' "$tmp/memt.txt" &&
        grep -q '^stack: ' "$tmp/mem.txt" && grep -q '^code: ' "$tmp/mem.txt"; then ok; else
        bad "--emit memory: no per-layer, stack or code line, or training code claims flash for its weights"
        cat "$tmp/mem.txt"
    fi
else
    bad "--emit memory of $M failed"
    cat "$tmp/err"
fi
# budget WANT_RC STDERR_PATTERN BUDGET: the exit status and message of
# --budget BUDGET (an empty pattern: nothing on stderr)
budget() {
    emem --emit memory --budget "$3" >"$tmp/out" 2>"$tmp/err"
    rc=$?
    if [ -z "$2" ]; then said=$([ -s "$tmp/err" ] || echo y); else said=$(grep -q "$2" "$tmp/err" && echo y); fi
    if [ $rc -eq "$1" ] && [ "$said" = y ]; then
        ok
    else
        bad "--budget '$3': exit $rc (want $1), or stderr does not say '$2':"
        cat "$tmp/err"
    fi
}
budget 0 '' "flash=$flash,ram=$ram"
budget 0 '' "ram=1M"
budget 0 '' "flash=2K"
budget 1 "does not fit the ram budget: .* $ram bytes, 1 over the $((ram - 1)) of --budget" "ram=$((ram - 1))"
budget 1 "does not fit the flash budget: .* $flash bytes, $((flash - 1024)) over the 1024 " "ram=64K,flash=1K"
if ! grep -q "ram budget" "$tmp/err" && grep -q "^budget ram: $ram of 65536 bytes, fits" "$tmp/out"; then ok; else
    bad "--budget ram=64K,flash=1K: ram is within its budget, yet reported"
fi
for b in flash=abc foo=1K flash= flash=1K, flash=1K,flash=2K flash=1KB flash=-1 flash=2T ram ''; do
    budget 2 "error: --budget takes flash=SIZE,ram=SIZE" "$b"
done
"$NNC" "$M/model.nn" --budget ram=1K >/dev/null 2>"$tmp/err"
rc=$?
if [ $rc -eq 2 ] && grep -q -- "--budget goes with --emit memory" "$tmp/err"; then ok; else
    bad "--budget without --emit memory: exit $rc (want 2)"
fi

echo "run_cli: $pass passed, $fail failed"
[ $fail -eq 0 ]
