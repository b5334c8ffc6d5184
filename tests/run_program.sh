#!/bin/sh
# The generated program (nnc --exe) end to end, on a small classifier built
# here (tests/unit/test_driver.c covers the driver in depth on hand-written
# models):
#   - every option `PROG CMD --help` lists is documented in docs/program.md;
#   - --steps N runs exactly N steps across epochs and says where it stopped,
#     and replays PyTorch's N steps (tests/program/, written by its gen.py);
#   - a diverging run (--lr 1e39) never leaves non-finite weights in --save;
#   - a run cut by --steps and resumed from its --checkpoint ends with the
#     same bits as one run;
#   - --log writes one row per epoch, which docs/program.md's gnuplot
#     line plots (when gnuplot is installed);
#   - predict --output writes CSV for .csv and refuses other names;
#   - a model with two inputs builds with --exe and takes --data once per
#     input, in order or as NAME=FILE, with the same predictions;
#   - an OpenMP build runs with OMP_WAIT_POLICY=passive unless told
#     otherwise (libgomp only: OMP_DISPLAY_ENV shows GOMP_SPINCOUNT 0),
#     and warns when OMP_NUM_THREADS or nnc --threads exceeds the cores;
#   - a written ignore_index lets the program take those labels and leave
#     them out of loss and accuracy, and reduction = sum reports sums
#     (the same weights give 9 times the mean over 9 counted samples).
# NNC names the compiler (default build/nnc).
NNC=${NNC:-build/nnc}
pass=0
fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

ok() { pass=$((pass + 1)); }
bad() { # what, file to show
    echo "FAIL: $1"
    [ -f "${2:-}" ] && tail -n 20 "$2"
    fail=$((fail + 1))
}

cat >"$tmp/tiny.nn" <<'EOF'
model tiny {
    input  x : f32[4]
    target y : class[3]
    logits = x -> dense(8) -> relu -> dense(3)
    output probs = logits -> softmax
    loss      cross_entropy(logits, y)
    optimizer sgd(lr = 0.1, momentum = 0.9)
    train     { batch = 4, epochs = 1, shuffle = true, seed = 1 }
}
EOF
# 12 samples: class i % 3 has its feature i % 3 raised.
awk 'BEGIN { srand(3); for (i = 0; i < 12; i++) { c = i % 3; s = "";
    for (j = 0; j < 4; j++) s = s (j ? "," : "") sprintf("%.4f", rand() + (j == c ? 2 : 0)); print s } }' >"$tmp/x.csv"
awk 'BEGIN { for (i = 0; i < 12; i++) print i % 3 }' >"$tmp/y.csv"

if ! "$NNC" "$tmp/tiny.nn" --exe -o "$tmp/prog" >"$tmp/err" 2>&1; then
    bad "nnc --exe tiny.nn" "$tmp/err"
    echo "$pass passed, $fail failed"
    exit 1
fi
prog=$tmp/prog

# --help: every option of every command, and each is in docs/program.md.
for cmd in train eval predict; do
    if "$prog" "$cmd" --help >"$tmp/help" 2>&1 && grep -q -- "--data" "$tmp/help"; then
        ok
    else
        bad "prog $cmd --help" "$tmp/help"
    fi
    for opt in $(grep -o -- '^  --[a-z-]*' "$tmp/help"); do
        if grep -q -- "\`$opt" docs/program.md; then
            ok
        else
            bad "docs/program.md does not document '$cmd $opt'"
        fi
    done
done
if "$prog" train --help | grep -q "default 4; compiled for at most"; then ok; else bad "train --help shows no batch default"; fi

# --steps 5 with 3 steps an epoch: 5 steps, the second epoch cut short.
if "$prog" train --data "$tmp/x.csv" --labels "$tmp/y.csv" --steps 5 >"$tmp/out" 2>&1 &&
    grep -q '^steps=5$' "$tmp/out" && grep -q 'epoch 2/2.*stopped after 5 steps (2 of this epoch.s 3)' "$tmp/out"; then
    ok
else
    bad "--steps 5 does not run 5 steps over two epochs" "$tmp/out"
fi
if grep -q 'lr 0.1 .*elapsed' "$tmp/out"; then ok; else bad "the progress line has no lr or elapsed time" "$tmp/out"; fi

# The NaN guard: whatever happens at lr 1e39, w.st never holds non-finite
# weights (eval refuses such weights by name, and any loss it prints is finite).
"$prog" train --data "$tmp/x.csv" --labels "$tmp/y.csv" --lr 1e39 --epochs 3 --save "$tmp/w.st" >"$tmp/out" 2>&1
st=$?
if [ $st -eq 1 ] && grep -q 'stopped without saving' "$tmp/out"; then ok; else bad "--lr 1e39 did not stop (status $st)" "$tmp/out"; fi
if [ -f "$tmp/w.st" ]; then
    if "$prog" eval --weights "$tmp/w.st" --data "$tmp/x.csv" --labels "$tmp/y.csv" >"$tmp/ev" 2>&1; then
        ok
    else
        bad "--lr 1e39 left weights that do not evaluate" "$tmp/ev"
    fi
else
    ok # nothing was saved: nothing bad was saved
fi

# --log: one row per epoch, plotted by the gnuplot line docs/program.md gives.
if "$prog" train --data "$tmp/x.csv" --labels "$tmp/y.csv" --epochs 4 --val-split 0.25 --quiet \
        --log "$tmp/log.csv" >"$tmp/out" 2>&1 && [ "$(wc -l <"$tmp/log.csv")" -eq 5 ] &&
    head -n 1 "$tmp/log.csv" | grep -q '^epoch,step,lr,seconds,samples_per_sec,train_loss,train_accuracy,val_loss,val_accuracy$'; then
    ok
else
    bad "--log writes no header and 4 rows" "$tmp/out"
fi
if command -v gnuplot >/dev/null 2>&1; then
    plot=$(sed -n "s/^gnuplot -e \"\(.*\)\"$/\1/p" docs/program.md | sed "s|'log.csv'|'$tmp/log.csv'|; s|'curves.png'|'$tmp/curves.png'|")
    if [ -n "$plot" ] && gnuplot -e "$plot" >"$tmp/out" 2>&1 && [ -s "$tmp/curves.png" ]; then
        ok
    else
        bad "the gnuplot line of docs/program.md does not plot a --log file" "$tmp/out"
    fi
fi

# predict --output: CSV for .csv, the same numbers as .npy; other names refused.
"$prog" train --data "$tmp/x.csv" --labels "$tmp/y.csv" --epochs 2 --quiet --save "$tmp/w.st" >/dev/null 2>&1
if "$prog" predict --weights "$tmp/w.st" --data "$tmp/x.csv" --output "$tmp/p.csv" >"$tmp/out" 2>&1 &&
    [ "$(wc -l <"$tmp/p.csv")" -eq 12 ] && awk -F, 'NF != 3 { exit 1 }' "$tmp/p.csv"; then
    ok
else
    bad "predict --output p.csv does not write 12 rows of 3 numbers" "$tmp/out"
fi
"$prog" predict --weights "$tmp/w.st" --data "$tmp/x.csv" --output "$tmp/p.txt" >"$tmp/out" 2>&1
st=$?
if [ $st -eq 2 ] && [ ! -e "$tmp/p.txt" ] && grep -q 'must end in .npy' "$tmp/out"; then
    ok
else
    bad "predict --output p.txt: status $st" "$tmp/out"
fi

# --checkpoint/--resume: a run cut mid-epoch and resumed ends with the bits
# of an uninterrupted one (shuffled; plain SGD, whose state is the weights,
# so this holds also before the compiler exports optimizer state).
sed 's/sgd(lr = 0.1, momentum = 0.9)/sgd(lr = 0.1)/; s/model tiny/model plain/' "$tmp/tiny.nn" >"$tmp/plain.nn"
if "$NNC" "$tmp/plain.nn" --exe -o "$tmp/plain" >"$tmp/err" 2>&1 &&
    "$tmp/plain" train --data "$tmp/x.csv" --labels "$tmp/y.csv" --epochs 3 --quiet --save "$tmp/a.st" >"$tmp/out" 2>&1 &&
    "$tmp/plain" train --data "$tmp/x.csv" --labels "$tmp/y.csv" --steps 4 --quiet --checkpoint "$tmp/c.st" >>"$tmp/out" 2>&1 &&
    "$tmp/plain" train --data "$tmp/x.csv" --labels "$tmp/y.csv" --epochs 3 --quiet --resume "$tmp/c.st" \
        --save "$tmp/b.st" >>"$tmp/out" 2>&1 && cmp "$tmp/a.st" "$tmp/b.st" >>"$tmp/out" 2>&1; then
    ok
else
    bad "a resumed run differs from an uninterrupted one" "$tmp/out"
fi

# --steps across epochs, replayed against PyTorch (tests/program/gen.py):
# 7 steps of 3 an epoch, the StepLR schedule stepped after the two whole
# epochs only; judged as the golden tests judge (tests/golden/compare.c).
if ! ${CC:-cc} -std=c99 -O2 -Iruntime -o "$tmp/compare" tests/golden/compare.c build/libnnrt.a -lz -lm \
        >"$tmp/err" 2>&1; then
    bad "cannot build tests/golden/compare.c" "$tmp/err"
elif ! "$NNC" tests/program/steps.nn --exe -o "$tmp/steps" >"$tmp/err" 2>&1; then
    bad "nnc --exe tests/program/steps.nn" "$tmp/err"
elif "$tmp/steps" train --init tests/program/init.safetensors --data tests/program/x.npy \
        --labels tests/program/y.npy --steps 7 --quiet --save "$tmp/after.st" >"$tmp/out" 2>&1 &&
    "$tmp/compare" --rtol 1e-5 tests/program/after.safetensors "$tmp/after.st" >>"$tmp/out" 2>&1; then
    ok
else
    bad "--steps 7 over 3-step epochs does not replay PyTorch's 7 steps" "$tmp/out"
fi

# OMP_WAIT_POLICY=passive by default in a threaded build (gcc's libgomp).
if CC=gcc NNC_CFLAGS=-O1 "$NNC" "$tmp/tiny.nn" --exe --threads 2 -o "$tmp/prog2" >"$tmp/err" 2>&1; then
    spin=$(OMP_DISPLAY_ENV=verbose "$tmp/prog2" info 2>&1 | sed -n "s/.*GOMP_SPINCOUNT = '\([0-9]*\)'.*/\1/p" | tail -n 1)
    user=$(OMP_WAIT_POLICY=active OMP_DISPLAY_ENV=verbose "$tmp/prog2" info 2>&1 |
        sed -n "s/.*OMP_WAIT_POLICY = '\([A-Z]*\)'.*/\1/p" | tail -n 1)
    if [ -z "$spin" ] || { [ "$spin" = 0 ] && [ "$user" = ACTIVE ]; }; then
        ok
    else
        bad "a --threads 2 program spins (GOMP_SPINCOUNT '$spin', OMP_WAIT_POLICY=active gives '$user')"
    fi
    many=$(($(getconf _NPROCESSORS_ONLN) + 1))
    if OMP_NUM_THREADS=$many "$tmp/prog2" info 2>&1 >/dev/null | grep -q "OMP_NUM_THREADS=$many asks for more threads than"; then
        ok
    else
        bad "OMP_NUM_THREADS=$many (more than the cores) gives no warning"
    fi
else
    bad "nnc --exe --threads 2" "$tmp/err"
fi
# Built for more threads than the machine has cores: the program says so.
many=$(($(getconf _NPROCESSORS_ONLN) + 1))
if CC=gcc NNC_CFLAGS=-O1 "$NNC" "$tmp/tiny.nn" --exe --threads "$many" -o "$tmp/progm" >"$tmp/err" 2>&1; then
    if "$tmp/progm" info 2>&1 >/dev/null | grep -q "built with --threads $many, more than the"; then
        ok
    else
        bad "a program built with --threads $many (more than the cores) gives no warning"
    fi
else
    bad "nnc --exe --threads $many" "$tmp/err"
fi

# Two inputs: --exe builds the program; --data in declaration order and
# --data NAME=FILE (in the other order) give the same predictions.
cat >"$tmp/two.nn" <<'EOF'
model two {
    input  a : f32[3]
    input  b : f32[2]
    target y : class[2]
    h      = a -> dense(4) -> relu
    logits = concat(h, b) -> dense(2)
    loss      cross_entropy(logits, y)
    optimizer sgd(lr = 0.1)
    train     { batch = 4, epochs = 2, seed = 1 }
}
EOF
awk 'BEGIN { srand(5); for (i = 0; i < 10; i++) printf "%.4f,%.4f,%.4f\n", rand(), rand(), rand() }' >"$tmp/a.csv"
awk 'BEGIN { srand(6); for (i = 0; i < 10; i++) printf "%.4f,%.4f\n", rand(), rand() }' >"$tmp/b.csv"
awk 'BEGIN { for (i = 0; i < 10; i++) print i % 2 }' >"$tmp/y2.csv"
if "$NNC" "$tmp/two.nn" --exe -o "$tmp/two" >"$tmp/err" 2>&1 &&
    "$tmp/two" train --data "$tmp/a.csv" --data "$tmp/b.csv" --labels "$tmp/y2.csv" --quiet \
        --save "$tmp/two.st" >"$tmp/err" 2>&1 &&
    "$tmp/two" predict --weights "$tmp/two.st" --data "$tmp/a.csv" --data "$tmp/b.csv" \
        --output "$tmp/p1.csv" >"$tmp/err" 2>&1 &&
    "$tmp/two" predict --weights "$tmp/two.st" --data b="$tmp/b.csv" --data a="$tmp/a.csv" \
        --output "$tmp/p2.csv" >"$tmp/err" 2>&1 &&
    [ "$(wc -l <"$tmp/p1.csv")" -eq 10 ] && cmp -s "$tmp/p1.csv" "$tmp/p2.csv"; then
    ok
else
    bad "a two-input model through --exe, train and predict" "$tmp/err"
fi
if "$tmp/two" train --data "$tmp/a.csv" --labels "$tmp/y2.csv" --quiet >"$tmp/err" 2>&1; then
    bad "a two-input program trained with one --data"
else
    ok
fi

# ignore_index = -1 and reduction = sum through the program: 12 samples,
# 3 labelled -1, so accuracy is counted over 9 and the summed loss is 9
# times the mean a reduction = mean build reports for the same weights.
for red in sum mean; do
    cat >"$tmp/ig_$red.nn" <<EOF
model ig {
    input  x : f32[4]
    target y : class[3]
    logits = x -> dense(3)
    loss      cross_entropy(logits, y, ignore_index = -1, reduction = $red)
    optimizer sgd(lr = 0.1)
    train     { batch = 4, epochs = 2, seed = 1 }
}
EOF
done
awk 'BEGIN { for (i = 0; i < 12; i++) print (i % 4 == 3 ? -1 : i % 3) }' >"$tmp/yig.csv"
if "$NNC" "$tmp/ig_sum.nn" --exe -o "$tmp/igs" >"$tmp/err" 2>&1 &&
    "$NNC" "$tmp/ig_mean.nn" --exe -o "$tmp/igm" >>"$tmp/err" 2>&1 &&
    "$tmp/igs" train --data "$tmp/x.csv" --labels "$tmp/yig.csv" --quiet --save "$tmp/ig.st" >"$tmp/err" 2>&1 &&
    "$tmp/igs" eval --weights "$tmp/ig.st" --data "$tmp/x.csv" --labels "$tmp/yig.csv" >"$tmp/es" 2>&1 &&
    "$tmp/igm" eval --weights "$tmp/ig.st" --data "$tmp/x.csv" --labels "$tmp/yig.csv" >"$tmp/em" 2>&1 &&
    awk -F'[= ]' 'NR == FNR { s = $2; a = $4; next }
        { m = $2; d = s - 9 * m; if (d < 0) d = -d;
          ok = d <= 1e-4 * s && a * 9 == int(a * 9 + 0.5) && a == $4; exit !ok }' "$tmp/es" "$tmp/em"; then
    ok
else
    cat "$tmp/es" "$tmp/em" >>"$tmp/err" 2>/dev/null
    bad "ignore_index = -1 labels or reduction = sum through the program" "$tmp/err"
fi
awk 'BEGIN { for (i = 0; i < 12; i++) print (i == 5 ? -2 : i % 3) }' >"$tmp/ybad.csv"
if ! "$tmp/igs" train --data "$tmp/x.csv" --labels "$tmp/ybad.csv" --quiet >"$tmp/err" 2>&1 &&
    grep -q "ybad.csv" "$tmp/err"; then
    ok
else
    bad "a label -2 with ignore_index = -1 is not refused naming the file" "$tmp/err"
fi

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
