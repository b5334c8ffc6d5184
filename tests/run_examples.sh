#!/bin/sh
# Every model in examples/ and tests/cases/ must pass `nnc --check`, and the
# dumps pinned beside a case must match exactly:
#   tests/cases/NAME.shapes   nnc MODEL --emit shapes
#   tests/cases/NAME.ir       nnc MODEL --emit ir      (after autodiff)
#   tests/cases/NAME.memory   nnc MODEL --emit memory
#   tests/cases/NAME.kernels  nnc MODEL --emit kernels (the kernels it becomes)
# where MODEL is examples/NAME.nn or tests/cases/NAME.nn.  Then the
# command-line checks of tests/run_cli.sh.
#   tests/run_examples.sh [--update]    (--update rewrites the pinned dumps)
# NNC names the compiler (default build/nnc).
NNC=${NNC:-build/nnc}
update=0
[ "${1:-}" = "--update" ] && update=1
pass=0
fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

for model in examples/*.nn tests/cases/*.nn; do
    [ -f "$model" ] || continue
    name=$(basename "$model" .nn)
    if "$NNC" "$model" --check 2>"$tmp/err"; then
        pass=$((pass + 1))
    else
        echo "FAIL: $model does not pass --check:"
        cat "$tmp/err"
        fail=$((fail + 1))
        continue
    fi
    # The training arena stays within 1.25x of the lower bound (issue:
    # parameters + gradients + optimizer state + peak live activations).
    if "$NNC" "$model" --emit memory >"$tmp/mem" 2>/dev/null; then
        r=$(sed -n 's/.*arena \/ bound = \([0-9.]*\).*/\1/p' "$tmp/mem")
        if [ -n "$r" ] && awk -v r="$r" 'BEGIN { exit !(r <= 1.25) }'; then
            pass=$((pass + 1))
        else
            echo "FAIL: $model: arena / lower bound = ${r:-?}, more than 1.25"
            fail=$((fail + 1))
        fi
    fi
    for kind in shapes ir memory kernels; do
        want="tests/cases/$name.$kind"
        [ -f "$want" ] || continue
        if ! "$NNC" "$model" --emit "$kind" >"$tmp/got" 2>"$tmp/err"; then
            echo "FAIL: $model --emit $kind exited non-zero:"
            cat "$tmp/err"
            fail=$((fail + 1))
            continue
        fi
        if [ $update -eq 1 ]; then
            cp "$tmp/got" "$want"
            pass=$((pass + 1))
        elif diff -u "$want" "$tmp/got" >"$tmp/diff"; then
            pass=$((pass + 1))
        else
            echo "FAIL: $model --emit $kind differs from $want:"
            cat "$tmp/diff"
            fail=$((fail + 1))
        fi
    done
done

# Each optional pass can be turned off alone: without it, the kernels it
# fuses come back, and the rest of the plan is unchanged.
check_disable() { # PASS MODEL KERNEL-THAT-RETURNS
    if "$NNC" "$2" --emit kernels --disable "$1" >"$tmp/got" 2>"$tmp/err" && grep -qx "$3" "$tmp/got" &&
        ! "$NNC" "$2" --emit kernels | grep -qx "$3"; then
        pass=$((pass + 1))
    else
        echo "FAIL: $2 --disable $1 does not bring back $3"
        cat "$tmp/err"
        fail=$((fail + 1))
    fi
}
check_disable fuse_epilogue examples/fashion_lenet.nn k005_relu
check_disable fuse_act_grad examples/fashion_lenet.nn k044_relu_dx
check_disable fuse_loss tests/golden/loss_nll/model.nn k010_nll
check_disable fuse_elementwise tests/cases/ew_fusion.nn k013_mul
check_disable fuse_conv_pool examples/fashion_lenet.nn k004_conv2d_relu
if "$NNC" examples/fashion_lenet.nn --emit ir --disable conv_algo | grep -q direct; then
    echo "FAIL: --disable conv_algo still chooses direct convolution"
    fail=$((fail + 1))
else
    pass=$((pass + 1))
fi
if "$NNC" examples/fashion_lenet.nn --emit ir --disable fusion >/dev/null 2>"$tmp/err"; then
    echo "FAIL: --disable accepts an unknown pass"
    fail=$((fail + 1))
elif [ $? -eq 2 ] && grep -q "optional pass" "$tmp/err"; then
    pass=$((pass + 1))
else
    echo "FAIL: --disable fusion: wrong status or message:"
    cat "$tmp/err"
    fail=$((fail + 1))
fi
# --dump-after takes the passes that change the IR (compile.c's table):
# memplan is rejected with the list made from the table; --help shows the
# table, each pass with what it does.
if "$NNC" examples/xor.nn --dump-after memplan >/dev/null 2>"$tmp/err"; then
    echo "FAIL: --dump-after accepts memplan"
    fail=$((fail + 1))
elif [ $? -eq 2 ] && grep -q "takes a pass name: lower, shape, .*fuse_conv_pool; not 'memplan'" "$tmp/err" &&
    "$NNC" --help | grep -q "^  memplan  *no IR  *every buffer's place in the arena$"; then
    pass=$((pass + 1))
else
    echo "FAIL: --dump-after memplan: wrong status or message, or --help has no pass table:"
    cat "$tmp/err"
    fail=$((fail + 1))
fi
# The textbook examples: make_digits.sh gives the committed data byte for
# byte, and both networks learn every training image and get the test
# images right that examples/README.md says they do (its output blocks hold
# the lines checked). Under `make asan` the programs need the sanitizers.
mkdir "$tmp/digits"
if sh examples/data/make_digits.sh "$tmp/digits" 2>"$tmp/err" &&
    (for f in examples/data/digits*.csv; do cmp "$f" "$tmp/digits/${f##*/}" || exit 1; done); then
    pass=$((pass + 1))
else
    echo "FAIL: examples/data/make_digits.sh does not give the committed digits*.csv:"
    cat "$tmp/err"
    fail=$((fail + 1))
fi
san=
nm "$NNC" 2>/dev/null | grep -q __asan_init && san="-fsanitize=address,undefined"
for want in "digits01 test: 7 of 8 right" "digits123_cnn test: 10 of 12 right"; do
    ex=${want%% *}
    if CC="${CC:-cc} $san" ASAN_OPTIONS=detect_leaks=0 NNC_CFLAGS=-O2 NNC="$NNC" EXAMPLES_OUT="$tmp/digits" \
        sh examples/run.sh "$ex" >"$tmp/out" 2>&1 &&
        grep -qx "training: \([0-9]*\) of \1 right" "$tmp/out" && grep -qx "${want#* }" "$tmp/out" &&
        grep -qx "${want#* }" examples/README.md; then
        pass=$((pass + 1))
    else
        echo "FAIL: sh examples/run.sh $ex: not every training image right, or not '${want#* }' as in examples/README.md:"
        tail -20 "$tmp/out"
        fail=$((fail + 1))
    fi
done
# The command line against hostile input: no shell, escaping, names that
# collide with C (tests/run_cli.sh).
if NNC="$NNC" sh tests/run_cli.sh >"$tmp/cli" 2>&1; then
    pass=$((pass + 1))
else
    echo "FAIL: tests/run_cli.sh:"
    cat "$tmp/cli"
    fail=$((fail + 1))
fi
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
