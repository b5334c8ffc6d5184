#!/bin/sh
# int8 post-training quantization (issue 14, docs/quantization.md):
#   tests/quant/run.py       the generated integer arithmetic and every int8
#                            kernel against the NumPy reference (qref.py),
#                            bit for bit; per-op models
#                            (with -DNNC_ISA_MAX=0: the plain loops where
#                            the x86 VNNI kernels would run; with -O2
#                            -march=native: those kernels called directly
#                            where the CPU has them; under ASan + UBSan:
#                            the plain build, dispatching to them)
#   tests/quant/sweep.py     random model geometries (one or two conv2d/
#                            conv1d layers, pools, add, concat, dense) on
#                            every variant, bit for bit against qref.py:
#                            a bounded run here (seed 1, 30 cases, one
#                            variant a case in turn, cases 0 and 15 also on
#                            the Cortex-M cores under QEMU); the larger
#                            sweep by hand (docs/quantization.md)
#   tests/quant/x86.sh       the x86 VNNI kernels are the code compiled
#                            (plain -O2: by run-time dispatch) and run
#   tests/quant/accuracy.sh  fashion_mlp and fashion_lenet: trained briefly,
#                            calibrated, int8 test accuracy against float32
#                            (within 0.5 points), int8 weight bytes <= 26%,
#                            the int8 C warning-free (gcc, clang, arm) and
#                            clean under ASan/UBSan
# Skipped (status 0, a SKIP line) where numpy is missing.
#   NNC=build/nnc sh tests/run_quant.sh
set -u
cd "$(dirname "$0")/.." || exit 2
NNC=${NNC:-build/nnc}
PY=${PYTHON:-/usr/bin/python3}
if ! "$PY" -c 'import numpy' 2>/dev/null; then
    echo "SKIP: tests/quant needs python3 with numpy"
    exit 0
fi
rm -rf build/quant
mkdir -p build/quant
# the Cortex-M runs and the Thumb-1 variant (the same code whatever the
# host's flags) in the first pass only
once=1
for flags in "-DNNC_ISA_MAX=0" "-O2 -march=native" "-fsanitize=address,undefined -fno-sanitize-recover=all"; do
    echo "-- the generated C with flags '$flags'"
    QUANT_ONCE=$once QUANT_CFLAGS="$flags" "$PY" tests/quant/run.py "$NNC" build/quant || exit 1
    once=0
done
echo "-- random geometries (tests/quant/sweep.py, seed 1)"
"$PY" tests/quant/sweep.py "$NNC" build/quant/sweep 30 1 15 1 || exit 1
sh tests/quant/x86.sh || exit 1
NNC="$NNC" PYTHON="$PY" sh tests/quant/accuracy.sh || exit 1
