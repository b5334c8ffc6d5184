#!/bin/sh
# Finite-difference gradient check of every model that trains under
# tests/golden/ (one or more per operator, loss and optimizer) and
# examples/, in a double-precision build of the generated code; and, for
# those and tests/gradcheck/*.nn, tests/gradcheck/resume.c: training state
# restored through the descriptor gives bit-identical steps.  A
# tests/gradcheck/NAME.nn with a NAME.c beside it is also built with that
# check (its own main) and run.
#   tests/run_gradcheck.sh [--verbose]
# NNC names the compiler (default build/nnc); build/libnnrt.a must exist.
NNC=${NNC:-build/nnc}
verbose=0
[ "${1:-}" = "--verbose" ] && verbose=1
pass=0
fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for model in tests/golden/*/model.nn examples/*.nn tests/gradcheck/*.nn; do
    [ -f "$model" ] || continue
    # The MLPerf Tiny golden cases are deep (ResNet-8: seven batchnorm and
    # relu layers) and their random data put pre-activations near relu's
    # kink, where a finite difference straddles it (ResNet-8: 4e-4 on a
    # stem weight); every operator they use is checked here in a small
    # model, and the golden files check their gradients against PyTorch.
    case $model in tests/golden/tiny_*) continue ;; esac
    name=$(echo "$model" | tr '/.' '__')
    d="$tmp/$name"
    mkdir -p "$d"
    if ! "$NNC" "$model" -o "$d" 2>"$d/err"; then
        grep -q "not implemented yet" "$d/err" && continue
        echo "FAIL: $model: nnc failed"; cat "$d/err"; fail=$((fail + 1)); continue
    fi
    c=$(ls "$d"/*.c)
    if grep -q "\.state_ptr = " "$c"; then
        # (the baseline vectors alone, -DNNC_NO_DISPATCH: what is checked is
        # the state's round trip, and the build takes a third of the time)
        if ! cc -std=c99 -O1 -DNNC_NO_DISPATCH -DMODEL_DESC="$(basename "$c" .c)_model" -Iruntime -I"$d" -o "$d/resume" \
            tests/gradcheck/resume.c "$c" build/libnnrt.a -lz -lm 2>"$d/err"; then
            echo "FAIL: $model: resume.c does not build"; cat "$d/err"; fail=$((fail + 1))
        elif "$d/resume" "$d" >"$d/out" 2>&1; then
            pass=$((pass + 1))
            [ $verbose -eq 1 ] && cat "$d/out"
        else
            echo "FAIL: $model: a restored training state does not resume to the same bits"
            cat "$d/out"
            fail=$((fail + 1))
        fi
    fi
    # tests/gradcheck/NAME.nn may come with its own check, NAME.c
    own=${model%.nn}.c
    case $model in
    tests/gradcheck/*)
        if [ -f "$own" ]; then
            if cc -std=c99 -O1 -Iruntime -I"$d" -o "$d/own" "$own" "$c" build/libnnrt.a -lz -lm 2>"$d/err" &&
                "$d/own" >"$d/out" 2>&1; then
                pass=$((pass + 1))
                [ $verbose -eq 1 ] && cat "$d/out"
            else
                echo "FAIL: $own"
                cat "$d/err" "$d/out" 2>/dev/null
                fail=$((fail + 1))
            fi
        fi ;;
    esac
    grep -q "GC_NPARAMS" "$c" || continue
    if ! cc -std=c99 -O1 -DNNC_DOUBLE -DMODEL_C="\"$c\"" -I"$d" -Iruntime -o "$d/gc" tests/gradcheck/gradcheck.c \
        build/libnnrt.a -lz -lm 2>"$d/err"; then
        echo "FAIL: $model: the double build does not compile"; cat "$d/err"; fail=$((fail + 1)); continue
    fi
    if "$d/gc" >"$d/out" 2>&1; then
        pass=$((pass + 1))
        [ $verbose -eq 1 ] && { echo "ok   $model"; cat "$d/out"; }
    else
        echo "FAIL: $model: gradients differ from finite differences"
        cat "$d/out"
        fail=$((fail + 1))
    fi
done
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
