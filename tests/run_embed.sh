#!/bin/sh
# The embedding API (spec section 10) as a firmware engineer uses it, on
# fashion_lenet and fashion_bn_dropout with deterministic weights (one
# training step from seed 1 on fixed random data):
#   - the header compiles warning-free alone, in C (gcc and clang, -std=c99
#     -Wall -Wextra -pedantic -Werror) and in C++ (g++ and clang++), and
#     declares only functions its .c defines;
#   - tests/embed/harness.c, built as C and as C++ (linking the C object:
#     extern "C"), and under ASan + UBSan: NAME_init refuses a too-small or
#     misaligned arena with NULL and writes nothing, an arena of exactly
#     NAME_ARENA_BYTES suffices (nothing past it is touched) and gives the
#     training program's predictions; the same for training code;
#   - the header says what the inputs are and how to scale them, and what
#     the output is (logits, probabilities);
#   - arm-none-eabi-gcc (Cortex-M4F) compiles the .c warning-free, and
#     -DNNC_WEIGHTS_SECTION moves every weight byte to that section;
#   - the README's embedding example compiles and agrees;
#   - dropout costs nothing in inference code: no kernel, no buffer.
# NNC names the compiler (default build/nnc).
NNC=${NNC:-build/nnc}
pass=0
fail=0
tmp=$(mktemp -d)
[ -n "${KEEP:-}" ] && echo "keeping $tmp"
trap '[ -n "${KEEP:-}" ] || rm -rf "$tmp"' EXIT
RT=runtime
H=tests/embed/harness.c
STRICT="-std=c99 -Wall -Wextra -pedantic -Werror"
SAN="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"

ok() { pass=$((pass + 1)); }
bad() { echo "FAIL: $*"; fail=$((fail + 1)); }
check() { # what, command...
    what=$1
    shift
    if "$@" >"$tmp/out" 2>&1; then
        ok
    else
        bad "$what"
        tail -n 30 "$tmp/out"
    fi
}

# Fixed data: 8 samples of 784 values in [0, 1), labels 0..9.
awk 'BEGIN { srand(7); for (i = 0; i < 8; i++) { s = ""; for (j = 0; j < 784; j++) s = s (j ? "," : "") sprintf("%.4f", rand()); print s } }' >"$tmp/x.csv"
awk 'BEGIN { srand(3); for (i = 0; i < 8; i++) print int(rand() * 10) }' >"$tmp/y.csv"

for name in fashion_lenet fashion_bn_dropout; do
    d="$tmp/$name"
    mkdir -p "$d/inf" "$d/train"
    # Weights and the outputs to expect, from the training program.
    if ! "$NNC" "examples/$name.nn" --exe -o "$d/prog" >"$d/err" 2>&1 ||
        ! "$d/prog" train --data "$tmp/x.csv" --labels "$tmp/y.csv" --steps 1 --batch 8 --seed 1 --no-shuffle \
            --save "$d/w.safetensors" --quiet >"$d/err" 2>&1 ||
        ! "$d/prog" predict --weights "$d/w.safetensors" --data "$tmp/x.csv" --output "$d/want.csv" >"$d/err" 2>&1; then
        bad "$name: the training program"
        cat "$d/err"
        continue
    fi
    if ! "$NNC" "examples/$name.nn" --inference --weights "$d/w.safetensors" --batch 1 -o "$d/inf" 2>"$d/err" ||
        ! "$NNC" "examples/$name.nn" -o "$d/train" 2>>"$d/err"; then
        bad "$name: nnc"
        cat "$d/err"
        continue
    fi
    h="$d/inf/$name.h"
    c="$d/inf/$name.c"

    # The header alone, used as a firmware project uses it: the constants
    # size and align a static arena, in C and in C++.
    for kind in inf train; do
        printf '#include "%s.h"\nstatic unsigned char arena[%s_ARENA_BYTES + %s_ARENA_ALIGN];\nunsigned char *get(void) { return arena; }\n#if %s_ARENA_BYTES < 1 || %s_ARENA_ALIGN < 1\n#error\n#endif\n' \
            "$name" "$name" "$name" "$name" "$name" >"$d/use_$kind.c"
        for cc in gcc clang; do
            check "$name ($kind): header under $cc $STRICT" $cc $STRICT -I"$d/$kind" -c "$d/use_$kind.c" -o "$d/use.o"
        done
        for cxx in g++ clang++; do
            check "$name ($kind): header under $cxx -std=c++11 -pedantic -Werror" \
                $cxx -std=c++11 -Wall -Wextra -pedantic -Werror -I"$d/$kind" -x c++ -c "$d/use_$kind.c" -o "$d/use.o"
        done
    done

    # The header names only functions its .c defines (no NAME_train_step
    # in inference code), and every one of them is defined.
    for kind in inf train; do
        if gcc -std=c99 -c -I"$RT" -o "$d/$kind.o" "$d/$kind/$name.c" 2>"$d/err"; then
            missing=
            for f in $(grep -oE "${name}_[a-z_]+\(" "$d/$kind/$name.h" | tr -d '(' | sort -u); do
                nm "$d/$kind.o" | grep -q " T $f\$" || missing="$missing $f"
            done
            [ -z "$missing" ] && ok || bad "$name ($kind): the header declares$missing, which the .c does not define"
        else
            bad "$name ($kind): gcc"
            cat "$d/err"
        fi
    done
    if grep -q "train_step\|_create\|seed" "$h"; then
        bad "$name: the inference header mentions training, create or a seed"
        grep -n "train_step\|_create\|seed" "$h"
    else
        ok
    fi
    if grep -q "^$name \*${name}_init(void \*arena, size_t arena_bytes);\$" "$h" &&
        grep -q "^$name \*${name}_init(void \*arena, size_t arena_bytes, uint64_t seed);\$" "$d/train/$name.h"; then
        ok
    else
        bad "$name: NAME_init's signature (inference: arena, arena_bytes; training: and seed)"
    fi
    if grep -q '^extern "C" {$' "$h" && grep -q '^#define '"$name"'_ARENA_BYTES [0-9]*ul$' "$h" &&
        grep -q '^#define '"$name"'_ARENA_ALIGN [0-9]*$' "$h"; then
        ok
    else
        bad "$name: the header lacks extern \"C\", NAME_ARENA_BYTES or NAME_ARENA_ALIGN"
    fi

    # What goes in and what comes out, said in the header.
    case $name in
    fashion_lenet) outwhat="These are logits: unnormalised class scores" ;;
    *) outwhat="These are probabilities (softmax over the last axis" ;;
    esac
    if tr '\n' ' ' <"$h" | sed 's/ \* / /g; s/  */ /g' | grep -q "in_x \[n, [0-9, ]*\] (${name}_INPUT_x_SIZE floats per sample).*divides uint8 data files (images) by 255.*does its own scaling" &&
        tr '\n' ' ' <"$h" | sed 's/ \* / /g; s/  */ /g' | grep -q "$outwhat"; then
        ok
    else
        bad "$name: the header does not say the input's layout and scaling, or that the output is: $outwhat"
    fi

    # The harness: C, C++ linking the C object, and sanitizers; then the
    # training code's init and create.
    check "$name: harness in C99" sh -c "gcc $STRICT -O2 -DMODEL=$name -I'$d/inf' -o '$d/h_c' $H '$c' -lm &&
        '$d/h_c' '$tmp/x.csv' '$d/want.csv'"
    for cxx in g++ clang++; do
        cc=gcc
        [ $cxx = clang++ ] && cc=clang
        check "$name: harness in C++ ($cxx), the .c by $cc" sh -c "$cc $STRICT -O2 -I'$d/inf' -c '$c' -o '$d/c.o' &&
            $cxx -std=c++11 -Wall -Wextra -pedantic -Werror -O2 -DMODEL=$name -I'$d/inf' -x c++ $H -x none '$d/c.o' -o '$d/h_cxx' &&
            '$d/h_cxx' '$tmp/x.csv' '$d/want.csv'"
    done
    check "$name: harness under ASan + UBSan, arena of exactly NAME_ARENA_BYTES" sh -c \
        "clang -std=c99 -O1 -g $SAN -DMODEL=$name -I'$d/inf' -o '$d/h_san' $H '$c' -lm &&
         '$d/h_san' '$tmp/x.csv' '$d/want.csv'"
    check "$name: training code's init and create under ASan + UBSan" sh -c \
        "clang -std=c99 -O1 -g $SAN -DMODEL=$name -DTRAINING -I'$d/train' -I$RT -o '$d/h_train' $H '$d/train/$name.c' build/libnnrt.a -lz -lm &&
         '$d/h_train' '$tmp/x.csv' - 3"

    # Cortex-M4F, warning-free; the weights to a section of the caller's.
    ARM="arm-none-eabi-gcc -mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16"
    if command -v arm-none-eabi-gcc >/dev/null 2>&1; then
        check "$name: arm-none-eabi-gcc Cortex-M4F $STRICT" $ARM $STRICT -Os -c "$c" -o "$d/m4.o"
        if $ARM -std=c99 -Os '-DNNC_WEIGHTS_SECTION=".extflash"' -c "$c" -o "$d/m4x.o" 2>"$d/err"; then
            params=$(sed -n 's/^\/\* \([0-9]*\) trainable parameters.*/\1/p' "$c")
            ext=$(arm-none-eabi-size -A "$d/m4x.o" | awk '$1 == ".extflash" { print $2 }')
            ro=$(arm-none-eabi-size -A "$d/m4x.o" | awk '$1 == ".rodata" { print $2 }')
            # every float of the weights (running statistics too) moved
            if [ "${ext:-0}" -ge $((params * 4)) ] && [ "${ro:-0}" -lt 4096 ]; then
                ok
            else
                bad "$name: NNC_WEIGHTS_SECTION: .extflash ${ext:-none} bytes, .rodata ${ro:-0} (weights $((params * 4)))"
            fi
        else
            bad "$name: -DNNC_WEIGHTS_SECTION"
            cat "$d/err"
        fi
    else
        echo "run_embed: arm-none-eabi-gcc not installed: Cortex-M checks skipped"
    fi
done

# The README's embedding example, as printed, compiles warning-free and
# classifies a sample as the training program does.
d="$tmp/fashion_lenet"
awk '/^## Embedding the inference code/ { s = 1 } s && /^```c$/ { c = 1; next } c && /^```$/ { exit } c' README.md \
    >"$d/readme.c"
cat >>"$d/readme.c" <<'EOC'

#include <math.h>
#include <stdio.h>

int main(int argc, char **argv)
{
    static float x[784], want[10], scores[10];
    FILE *fx = fopen(argv[1], "r"), *fw = fopen(argv[2], "r");
    for (int i = 0; i < 784; i++)
        if (!fx || fscanf(fx, "%f,", &x[i]) != 1)
            return 2;
    for (int i = 0; i < 10; i++)
        if (!fw || fscanf(fw, "%f,", &want[i]) != 1)
            return 2;
    (void)argc;
    if (classify(x, scores) != 0)
        return 1;
    for (int i = 0; i < 10; i++)
        if (!(fabsf(scores[i] - want[i]) <= 1e-4f * (1.0f + fabsf(want[i]))))
            return 1;
    return 0;
}
EOC
if grep -q "fashion_lenet_init(arena, sizeof arena)" "$d/readme.c"; then
    check "README's embedding example" sh -c "gcc -std=c99 -Wall -Wextra -Werror -O2 -I'$d/inf' -o '$d/readme' \
        '$d/readme.c' '$d/inf/fashion_lenet.c' -lm && '$d/readme' '$tmp/x.csv' '$d/want.csv'"
else
    bad "README's embedding example not found (or it does not size the arena for init)"
fi

# Dropout is the identity in inference: no kernel, no copy, no buffer.
d="$tmp/fashion_bn_dropout"
if [ -f "$d/w.safetensors" ]; then
    "$NNC" examples/fashion_bn_dropout.nn --inference --weights "$d/w.safetensors" --batch 1 --emit kernels >"$d/k" 2>&1
    "$NNC" examples/fashion_bn_dropout.nn --inference --weights "$d/w.safetensors" --batch 1 --emit memory >"$d/mem" 2>&1
    if ! grep -q '^k[0-9]*_.*dropout' "$d/k" && grep -Eq 'dropout +logits\.3 +view of' "$d/mem"; then
        ok
    else
        bad "fashion_bn_dropout: dropout still has a kernel or a buffer in inference code"
        cat "$d/k" "$d/mem"
    fi
fi

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
