#!/bin/sh
# The generated inference code on real targets, under QEMU (issue 13,
# "Targets tested in CI"): for each example (the four Fashion-MNIST ones,
# and digits01, digits123_cnn, xor and perceptron_xor on examples/data's
# test tables), its --inference
# --batch 1 code, generated as a user would with --target cortex-m0,
# cortex-m4, cortex-m7, aarch64 or host for the core (examples/embedded's
# TARGET; examples/embedded/main.c around it, weights from a short
# reproducible training, see examples/embedded/Makefile), is built
#   - for the host (cc -O2): the reference;
#   - for Cortex-M0 (soft float; run on mps2-an385, a Cortex-M3, which
#     executes the M0's Thumb-1 code), Cortex-M4F (mps2-an386, fpv4-sp-d16)
#     and Cortex-M7 (mps2-an500, fpv5-d16), bare metal with semihosting, at
#     -Os and -O2, the default build and -DNNC_SCALAR;
#   - for AArch64 Linux (aarch64-linux-gnu-gcc -static, qemu-aarch64 with
#     the instruction-counting TCG plugin tests/targets/insn_count.c) at
#     -O2, both builds;
# runs on the first N test images (TARGETS_N, default 100;
# TARGETS_N_M0, default 20, for the soft-float Cortex-M0, whose lenet takes
# about 80 million instructions per image; the MLPerf Tiny models of
# examples/tiny, on synthetic data, run on the Cortex-M4F at -Os and on
# AArch64 only, TARGETS_N_TINY rows, default 4; TARGETS_CORES, default
# "m0 m4 m7 aarch64", and TARGETS_MODELS ("" for none: the int8 part
# alone) choose a part), and checks that
#   - every label equals the host build's and every output is within 1e-4
#     of it (tests/targets/compare_out.c);
#   - the instruction counter is right: it counts a loop of 1,000,000 x 2
#     instructions to within 0.1% (Cortex-M: SysTick under -icount
#     shift=0; AArch64: the plugin);
#   - the instructions per inference are at most 2% above the count
#     recorded in tests/targets/counts.txt (a count more than 2% below it
#     prints a notice: record it with --update).
# It also records per build the arena bytes it writes (of
# NAME_ARENA_BYTES), the model's flash (text and rodata of its object) and,
# on Cortex-M, the stack one inference uses ("-" on AArch64, where main.c
# does not measure it), and writes build/targets/table.md, the table of
# docs/embedded.md.
#
#   NNC=build/nnc sh tests/run_targets.sh            check (make test-targets)
#   NNC=build/nnc sh tests/run_targets.sh --update   rewrite tests/targets/counts.txt
#   sh tests/run_targets.sh --table                  print the table of counts.txt
#
# A missing tool (arm-none-eabi-gcc, qemu-system-arm, aarch64-linux-gnu-gcc,
# qemu-aarch64, the Fashion-MNIST files) skips what needs it, with a line
# saying so; .ci/run installs them all.
set -u
cd "$(dirname "$0")/.." || exit 2
NNC=${NNC:-build/nnc}
N=${TARGETS_N:-100}
N_M0=${TARGETS_N_M0:-20}
# the MLPerf Tiny models: every .nn of examples/tiny (as examples/embedded's
# Makefile finds them)
TINY=$(for f in examples/tiny/*.nn; do basename "$f" .nn; done | tr '\n' ' ')
N_TINY=${TARGETS_N_TINY:-4}
MODELS=${TARGETS_MODELS-fashion_mlp fashion_lenet fashion_bn_dropout fashion_resmlp digits01 digits123_cnn xor perceptron_xor $TINY}
DATA=${DATA:-/usr/share/datasets/fashion-mnist}
update=0
case ${1:-} in
"") ;;
--update) update=1 ;;
--table) ;;
*) echo "usage: sh tests/run_targets.sh [--update | --table]" >&2; exit 2 ;;
esac
COUNTS=tests/targets/counts.txt
W=build/targets
mkdir -p "$W"
: >"$W/counts.new"
pass=0
fail=0
ok() { pass=$((pass + 1)); }
bad() { echo "FAIL: $*"; fail=$((fail + 1)); }

# table FILE: the table of docs/embedded.md from FILE's rows (counts.txt's
# format); a -DNNC_SCALAR row that measured the same as the row before it
# joins that row.
table() {
    awk -F'\t' 'BEGIN {
            print "| example | core | flags | instructions per inference | per MAC | stack (B) | arena written / NAME_ARENA_BYTES | flash: text + rodata (B) |"
            print "|---|---|---|---|---|---|---|---|"
        }
        function commas(v,   s) { s = ""; while (v >= 1000) { s = sprintf(",%03d", v % 1000) s; v = int(v / 1000) } return v s }
        function row() { if (prev != "") printf "| %s | %s | %s | %s | %s | %s | %s / %s | %s |\n", p[3], core, flags,
                             commas(p[5]), p[6], p[7], commas(p[8]), commas(p[9]), commas(p[10]) }
        /^#/ { next }
        { key = $1 FS $3 FS $5 FS $6 FS $7 FS $8 FS $9 FS $10
          if (key == prev && $2 == p[2] " -DNNC_SCALAR") { flags = flags ", `" $2 "`"; next }
          row()
          prev = key; flags = "`" $2 "`"; split($0, p, FS)
          core = $1 == "m0" ? "Cortex-M0" : $1 == "m4" ? "Cortex-M4F" : $1 == "m7" ? "Cortex-M7" : "AArch64" }
        END { row() }' \
        "$1"
}


case $NNC in /*) ;; *) NNC=$(pwd)/$NNC ;; esac
if [ "${1:-}" = --table ]; then
    table "$COUNTS"
    exit 0
fi
if [ ! -x "$NNC" ]; then
    echo "run_targets: $NNC: no compiler (make all first)"
    exit 1
fi
if [ ! -r "$DATA/t10k-images-idx3-ubyte.gz" ] || [ ! -r "$DATA/train-images-idx3-ubyte.gz" ]; then
    echo "run_targets: no Fashion-MNIST in $DATA (apt-get install dataset-fashion-mnist): skipped"
    exit 0
fi
have() { command -v "$1" >/dev/null 2>&1; }
CM=1
for t in arm-none-eabi-gcc arm-none-eabi-size qemu-system-arm; do
    have $t || { echo "run_targets: no $t: Cortex-M runs skipped"; CM=; }
done
A64=1
for t in aarch64-linux-gnu-gcc aarch64-linux-gnu-size qemu-aarch64; do
    have $t || { echo "run_targets: no $t: AArch64 runs skipped"; A64=; }
done
if ! ${CC:-cc} -std=c99 -O2 -o "$W/compare_out" tests/targets/compare_out.c -lm; then
    echo "run_targets: cannot build tests/targets/compare_out.c"
    exit 1
fi

# Multiply-adds of one inference, for the per-MAC column: issue 13's for
# lenet and mlp, the dense layers' weights (one multiply-add each at batch
# 1) for bn_dropout and resmlp.
macs() {
    case $1 in
    fashion_lenet) echo 422926 ;;
    fashion_mlp) echo 234964 ;;
    fashion_bn_dropout) echo 203264 ;;
    fashion_resmlp) echo 334336 ;;
    digits01) echo 42 ;;        # 12 x 3 + 3 x 2
    digits123_cnn) echo 468 ;;  # 3 filters x 3 x 3 x 4 x 4 positions + 12 x 3
    xor) echo 12 ;;             # 2 x 4 + 4 x 1
    perceptron_xor) echo 2 ;;
    # the MLPerf Tiny models: every convolution's and dense layer's
    # multiply-adds (output elements x fan_in)
    ds_cnn) echo 2656768 ;;
    resnet8) echo 12501632 ;;
    fc_autoencoder) echo 264192 ;;
    mobilenet_v1_025) echo 7489664 ;;
    *) echo 0 ;;
    esac
}

# same_code MODEL CORE OPT: do the default and the -DNNC_SCALAR builds
# of the model's C preprocess to the same text (then they compile to the
# same object: the compiler proper sees nothing else)?
same_code() {
    for s in "" 1; do
        make -s -C examples/embedded NNC="$NNC" O="$(pwd)/$W/$1" MODEL="$1" CORE="$2" OPT="$3" SCALAR="$s" \
            DATA="$DATA" pp >/dev/null 2>&1 || return 1
    done
    cmp -s "$W/$1/$2$3/$1.i" "$W/$1/$2$3-scalar/$1.i"
}

# build MODEL CORE OPT SCALAR N: build and run one configuration of
# examples/embedded into $W/MODEL/CONF.txt (CONF as the Makefile names it;
# with QEMU's semihosting console on stderr, and make's messages); 0 when it
# built and ran.
build() {
    conf=$2$3${4:+-scalar}
    make -s -C examples/embedded NNC="$NNC" O="$(pwd)/$W/$1" MODEL="$1" CORE="$2" OPT="$3" SCALAR="$4" N="$5" \
        DUMP=1 DATA="$DATA" HOST_CC="${CC:-cc}" run >"$W/$1/$conf.txt" 2>&1
}

# field FILE PATTERN N: the Nth word of FILE's first line matching PATTERN
field() {
    awk -v n="$3" "/$2/ { print \$n; exit }" "$1"
}

# The recorded instructions of a configuration, or nothing.
recorded() { # core, flags, model
    [ -f "$COUNTS" ] && awk -v c="$1" -v f="$2" -v m="$3" -F'\t' '$1 == c && $2 == f && $3 == m { print $5 }' "$COUNTS"
}

# check_count CORE FLAGS MODEL INSNS WHAT: INSNS against the count recorded
# for the configuration: at most 2% above it (a notice when more than 2%
# below); none recorded fails unless --update.
check_count() {
    rec=$(recorded "$1" "$2" "$3")
    if [ -z "$rec" ]; then
        [ $update = 1 ] || bad "$5: no count recorded in $COUNTS (sh tests/run_targets.sh --update)"
    elif [ $(($4 * 100 > rec * 102)) = 1 ]; then
        bad "$5: $4 instructions per inference, more than 2% above the $rec recorded in $COUNTS"
    else
        ok
        [ $(($4 * 100 < rec * 98)) = 1 ] &&
            echo "notice: $5: $4 instructions, more than 2% below the $rec recorded;" \
                "record it: NNC=build/nnc sh tests/run_targets.sh --update"
    fi
}

for model in $MODELS; do
    mkdir -p "$W/$model"
    tiny=
    case " $TINY " in *" $model "*) tiny=1 ;; esac
    nref=$N
    [ -n "$tiny" ] && nref=$N_TINY
    if ! build "$model" host -O2 "" "$nref"; then
        bad "$model: the host build"
        tail -n 20 "$W/$model/host-O2.txt"
        continue
    fi
    ref="$W/$model/host-O2.txt"
    arena_bytes=$(field "$ref" "^arena:" 6)
    echo "$model: host -O2: $(field "$ref" "^agree:" 2) of $(field "$ref" "^agree:" 4) test labels"
    cores=
    for core in ${TARGETS_CORES:-m0 m4 m7 aarch64}; do
        case $core in
        m0 | m4 | m7) [ -n "$CM" ] && cores="$cores $core" ;;
        aarch64) [ -n "$A64" ] && cores="$cores $core" ;;
        *) echo "run_targets: TARGETS_CORES: no core $core (m0 m4 m7 aarch64)"; exit 2 ;;
        esac
        # the MLPerf Tiny models: the Cortex-M4F and AArch64
        [ -n "$tiny" ] && [ $core != m4 ] && [ $core != aarch64 ] && cores=${cores% $core}
    done
    for core in $cores; do
        opts="-Os -O2"
        n=$N
        scalars="- 1"
        [ $core = aarch64 ] && opts=-O2
        [ $core = m0 ] && n=$N_M0
        if [ -n "$tiny" ]; then
            n=$N_TINY
            [ $core = m4 ] && opts=-Os && scalars=-
        fi
        for opt in $opts; do
            for scalar in $scalars; do
                [ "$scalar" = - ] && scalar=
                conf=$core$opt${scalar:+-scalar}
                flags="$opt${scalar:+ -DNNC_SCALAR}"
                what="$model: $core $flags"
                out="$W/$model/$conf.txt"
                # On a core where the generated code has no vector path
                # (Cortex-M today) -DNNC_SCALAR changes nothing the compiler
                # sees: the default build's run stands for it.
                if [ -n "$scalar" ] && [ $core != aarch64 ] && same_code "$model" $core $opt; then
                    cp "$W/$model/$core$opt.txt" "$out"
                    obj="$W/$model/$core$opt/$model.o"
                    echo "$what: the same preprocessed code as $core $opt: its run stands for this one"
                elif obj="$W/$model/$conf/$model.o" && ! build "$model" $core $opt "$scalar" $n; then
                    bad "$what: build or run failed"
                    tail -n 20 "$out"
                    continue
                fi
                if cmp=$("$W/compare_out" "$ref" "$out"); then
                    ok
                else
                    bad "$what: outputs differ from the host build's"
                fi
                echo "$what: $cmp"
                # AArch64's NEON kernels sum in the plain loops' order: the
                # default and the -DNNC_SCALAR build give the same bits.
                if [ $core = aarch64 ] && [ -n "$scalar" ]; then
                    grep '^out ' "$out" >"$W/out.scalar"
                    if [ -s "$W/out.scalar" ] && grep '^out ' "$W/$model/$core$opt.txt" | cmp -s - "$W/out.scalar"; then
                        ok
                    else
                        bad "$what: outputs are not the bits of the default (NEON) build's"
                    fi
                fi
                # The counter, checked on a loop of known length.
                cal=$(field "$out" "^calibration:" 7)
                if [ -n "$cal" ] && [ $((cal > 1998000 && cal < 2002000)) = 1 ]; then
                    ok
                else
                    bad "$what: the instruction counter counted ${cal:-nothing} for 2,000,000 instructions"
                    continue
                fi
                insns=$(field "$out" "^instructions:" 2)
                stack=$(field "$out" "^stack:" 2)
                written=$(field "$out" "^arena:" 2)
                size=arm-none-eabi-size
                if [ $core = aarch64 ]; then
                    stack=- # main.c measures it on bare metal only
                    size=aarch64-linux-gnu-size
                elif [ -z "$stack" ] || [ "$stack" -le 0 ] || [ "$stack" -ge 65536 ]; then
                    bad "$what: no stack measured, or out of range (${stack:-none} B)"
                    continue
                fi
                if [ -z "$insns" ] || [ -z "$written" ] || [ "$written" -gt "$arena_bytes" ]; then
                    bad "$what: no count, or an arena (${written:-none} B) out of range"
                    continue
                fi
                flash=$($size -A "$obj" | awk '$1 ~ /^\.(text|rodata)/ { s += $2 } END { print s + 0 }')
                [ "$flash" -gt 0 ] || { bad "$what: no flash size for $obj"; continue; }
                m=$(macs "$model")
                if [ "$m" -gt 0 ]; then
                    permac=$(awk -v i="$insns" -v m="$m" 'BEGIN { printf "%.2f", i / m }')
                else
                    permac=-
                fi
                images=$(awk '/ test images, arena / { print $2; exit }' "$out")
                printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' $core "$flags" $model "$images" "$insns" "$permac" \
                    "$stack" "$written" "$arena_bytes" "$flash" >>"$W/counts.new"
                echo "$what: $insns instructions per inference ($permac per MAC), stack $stack B," \
                    "arena $written of $arena_bytes B, flash $flash B"
                check_count $core "$flags" $model "$insns" "$what"
            done
        done
    done
done

# int8 (nnc --quantize int8, docs/quantization.md): the QUANT=int8 builds of
# examples/embedded (weights calibrated on 1,000 training images) on the
# Cortex-M4F at -Os (its DSP kernels: SXTB16, SMLAD) and on the Cortex-M0
# (the plain C kernels, Thumb-1, soft float; TARGETS_N_M0 images), whose
# outputs must be the host int8 build's bits; counted and recorded as the
# float builds are, with "-Os --quantize int8" as their flags.
# TARGETS_QUANT chooses the models ("" for none), TARGETS_CORES the cores.
for model in ${TARGETS_QUANT-fashion_mlp fashion_lenet}; do
    [ -n "$CM" ] || break
    qdir="$W/$model-int8"
    mkdir -p "$qdir"
    flags="-Os --quantize int8"
    # qrun CORE N: build and run the int8 model into $qdir/CORE.txt
    qrun() {
        make -s -C examples/embedded NNC="$NNC" O="$(pwd)/$qdir" MODEL="$model" CORE=$1 OPT=-Os QUANT=int8 N="$2" \
            DUMP=1 DATA="$DATA" HOST_CC="${CC:-cc}" run >"$qdir/$1.txt" 2>&1
    }
    if ! qrun host "$N"; then
        bad "$model: host $flags: build or run failed"
        tail -n 20 "$qdir/host.txt"
        continue
    fi
    grep '^out ' "$qdir/host.txt" >"$qdir/out.host"
    for core in ${TARGETS_CORES:-m0 m4}; do
        case $core in m0 | m4) ;; *) continue ;; esac
        what="$model: $core $flags"
        n=$N
        [ $core = m0 ] && n=$N_M0
        if ! qrun $core "$n"; then
            bad "$what: build or run failed"
            tail -n 20 "$qdir/$core.txt"
            continue
        fi
        # the first n images' outputs, bit for bit
        head -n "$n" "$qdir/out.host" >"$qdir/out.host.$n"
        if [ -s "$qdir/out.host.$n" ] && grep '^out ' "$qdir/$core.txt" | cmp -s - "$qdir/out.host.$n"; then
            ok
        else
            bad "$what: outputs are not the host int8 build's bits"
        fi
        out="$qdir/$core.txt"
        insns=$(field "$out" "^instructions:" 2)
        stack=$(field "$out" "^stack:" 2)
        written=$(field "$out" "^arena:" 2)
        arena_bytes=$(field "$out" "^arena:" 6)
        if [ -z "$insns" ] || [ -z "$stack" ] || [ -z "$written" ]; then
            bad "$what: no count, stack or arena in $out"
            continue
        fi
        flash=$(arm-none-eabi-size -A "$qdir/$core-Os/$model.o" | awk '$1 ~ /^\.(text|rodata)/ { s += $2 } END { print s + 0 }')
        permac=$(awk -v i="$insns" -v m="$(macs "$model")" 'BEGIN { printf "%.2f", i / m }')
        images=$(awk '/ test images, arena / { print $2; exit }' "$out")
        printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' $core "$flags" $model "$images" "$insns" "$permac" \
            "$stack" "$written" "$arena_bytes" "$flash" >>"$W/counts.new"
        echo "$what: $insns instructions per inference ($permac per MAC), stack $stack B," \
            "arena $written of $arena_bytes B, flash $flash B; $(field "$out" "^agree:" 2) of $(field "$out" "^agree:" 4) test labels"
        check_count $core "$flags" $model "$insns" "$what"
    done
done

table "$W/counts.new" >"$W/table.md"
echo "table of the measured figures: $W/table.md"

if [ $update = 1 ]; then
    {
        echo "# Instructions per batch-1 inference under QEMU (Cortex-M: -icount shift=0, SysTick; AArch64:"
        echo "# the TCG plugin tests/targets/insn_count.c), written by"
        echo "# NNC=build/nnc sh tests/run_targets.sh --update; the test fails when a count rises more than 2%."
        printf '# core\tflags\tmodel\timages\tinstructions\tper_mac\tstack_bytes\tarena_written\tarena_bytes\tflash_bytes\n'
        # this run's rows where the recorded ones were, recorded rows it did
        # not measure (TARGETS_MODELS, TARGETS_CORES) kept, new rows last
        old=/dev/null
        [ -f "$COUNTS" ] && old=$COUNTS
        awk -F'\t' 'NR == FNR { new[$1 FS $2 FS $3] = $0; order[++n] = $1 FS $2 FS $3; next }
            /^#/ { next }
            { k = $1 FS $2 FS $3; if (k in new) { print new[k]; done[k] = 1 } else print }
            END { for (i = 1; i <= n; i++) if (!(order[i] in done)) print new[order[i]] }' "$W/counts.new" "$old"
    } >"$W/counts.merged"
    mv "$W/counts.merged" "$COUNTS"
    echo "updated $COUNTS"
fi
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
