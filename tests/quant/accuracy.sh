#!/bin/sh
# tests/quant/accuracy.sh: int8 against float32 on real data (issue 14's
# targets), for fashion_mlp and fashion_lenet:
#   train briefly (PROG train --steps), calibrate on 1,000 training images
#   (PROG calibrate), compile with --quantize int8; on the 10,000 test
#   images the int8 accuracy (NAME_forward, float in and out) is within 0.5
#   percentage points of float32's (PROG eval), and the int8 weights take
#   at most 26% of float32's bytes (--emit memory).  The int8 C compiles
#   with -std=c99 -Wall -Wextra -pedantic -Werror under gcc, clang and
#   arm-none-eabi-gcc (those installed) and runs clean under ASan + UBSan.
# Run by tests/run_quant.sh; needs python3 with numpy and Fashion-MNIST.
set -u
cd "$(dirname "$0")/../.." || exit 2
NNC=${NNC:-build/nnc}
PY=${PYTHON:-/usr/bin/python3}
F=${FMNIST:-/usr/share/datasets/fashion-mnist}
W=build/quant
fail=0
if [ ! -f "$F/t10k-images-idx3-ubyte.gz" ]; then
    echo "SKIP: no Fashion-MNIST in $F"
    exit 0
fi
mkdir -p "$W"
# the test images as float32 [10000, 784] in [0, 1], and the labels
"$PY" - "$F" "$W" <<'PYEOF' || exit 1
import gzip, sys
import numpy as np
f, w = sys.argv[1], sys.argv[2]
x = np.frombuffer(gzip.open(f + "/t10k-images-idx3-ubyte.gz").read()[16:], np.uint8)
(x.astype(np.float32) / np.float32(255)).tofile(w + "/test_x.f32")
np.frombuffer(gzip.open(f + "/t10k-labels-idx1-ubyte.gz").read()[8:], np.uint8).tofile(w + "/test_y.u8")
PYEOF

for spec in fashion_mlp:600 fashion_lenet:900; do
    name=${spec%%:*}
    steps=${spec#*:}
    P="$W/$name"
    "$NNC" "examples/$name.nn" --exe -o "$P" || { fail=1; continue; }
    "$P" train --data "$F/train-images-idx3-ubyte.gz" --labels "$F/train-labels-idx1-ubyte.gz" --steps "$steps" \
        --save "$P.safetensors" --quiet >/dev/null || { echo "FAIL: $name train"; fail=1; continue; }
    "$P" calibrate --weights "$P.safetensors" --data "$F/train-images-idx3-ubyte.gz" --samples 1000 \
        --output "$P.q.safetensors" --quiet >"$P.calib" || { echo "FAIL: $name calibrate"; fail=1; continue; }
    # calibrate's own figures: pixels in [0, 1] give x the scale 1/255 and
    # the zero point -128 exactly (qref.int8_params), every range line a
    # NAME.scale and a NAME.zero_point
    "$PY" - "$P.q.safetensors" <<'PYEOF' || { echo "FAIL: $name calibrate's ranges"; fail=1; }
import json, struct, sys
import numpy as np
sys.path.insert(0, "tests/quant")
import qref
b = open(sys.argv[1], "rb").read()
n = struct.unpack("<Q", b[:8])[0]
h = json.loads(b[8:8 + n])
def get(name, dt):
    o = h[name]["data_offsets"]
    return np.frombuffer(b[8 + n + o[0]:8 + n + o[1]], dt)[0]
s, z = qref.int8_params(0.0, 1.0)
ok = get("x.scale", np.float32) == s and get("x.zero_point", np.int32) == z == -128
names = [k[:-6] for k in h if k.endswith(".scale")]
ok = ok and len(names) >= 3 and all(k + ".zero_point" in h for k in names)
print("%s calibrate: %d values, x at scale %.9g zero point %d" % ("ok  " if ok else "FAIL", len(names),
      get("x.scale", np.float32), get("x.zero_point", np.int32)))
sys.exit(0 if ok else 1)
PYEOF
    acc_f=$("$P" eval --weights "$P.safetensors" --data "$F/t10k-images-idx3-ubyte.gz" \
        --labels "$F/t10k-labels-idx1-ubyte.gz" | tr ' ' '\n' | sed -n 's/^accuracy=//p')
    "$NNC" "examples/$name.nn" --inference --weights "$P.q.safetensors" --quantize int8 -o "$P.int8" &&
        "$NNC" "examples/$name.nn" --inference --weights "$P.q.safetensors" --quantize int8 --emit memory >"$P.mem" ||
        { echo "FAIL: $name --quantize int8"; fail=1; continue; }
    for cc in gcc clang arm-none-eabi-gcc; do
        command -v $cc >/dev/null 2>&1 || continue
        mcpu=; [ $cc = arm-none-eabi-gcc ] && mcpu="-mcpu=cortex-m4 -mthumb" # the DSP kernels
        if ! $cc -std=c99 -Wall -Wextra -pedantic -Werror -Os $mcpu -c "$P.int8/$name.c" -I "$P.int8" -o "$P.$cc.o" 2>"$P.err"; then
            echo "FAIL: $name int8 C under $cc:"; head -n 10 "$P.err"; fail=1
        fi
    done
    cc -std=c99 -O1 -DMODEL=$name -include "$P.int8/$name.c" -I "$P.int8" -o "$P.run" tests/quant/harness.c -lm &&
        "$P.run" float "$W/test_x.f32" "$P.out" || { echo "FAIL: $name int8 harness"; fail=1; continue; }
    # ASan + UBSan on the first 500 images: the same outputs
    head -c $((500 * 784 * 4)) "$W/test_x.f32" >"$W/test500.f32"
    cc -std=c99 -g -O1 -fsanitize=address,undefined -fno-sanitize-recover=all -DMODEL=$name \
        -include "$P.int8/$name.c" -I "$P.int8" -o "$P.san" tests/quant/harness.c -lm &&
        "$P.san" float "$W/test500.f32" "$P.san.out" &&
        cmp -s "$P.san.out" "$(head -c $((500 * 10 * 4)) "$P.out" >"$P.out500"; echo "$P.out500")" ||
        { echo "FAIL: $name int8 under ASan/UBSan"; fail=1; }
    "$PY" - "$name" "$P.out" "$W/test_y.u8" "$acc_f" "$P.mem" <<'PYEOF' || fail=1
import re, sys
import numpy as np
name, out, labels, acc_f, mem = sys.argv[1:6]
y = np.fromfile(labels, np.uint8)
pred = np.fromfile(out, np.float32).reshape(len(y), -1).argmax(1)
acc_q = float(np.mean(pred == y))
acc_f = float(acc_f)
m = re.search(r"weights (\d+) bytes int8 .* against (\d+) float32", open(mem).read())
qb, fb = int(m.group(1)), int(m.group(2))
ok = abs(acc_q - acc_f) <= 0.005 and qb <= 0.26 * fb
print("%s %s: test accuracy float32 %.4f, int8 %.4f (%+.2f points); weights %d bytes int8, %d float32 (%.1f%%)"
      % ("ok  " if ok else "FAIL", name, acc_f, acc_q, 100 * (acc_q - acc_f), qb, fb, 100.0 * qb / fb))
sys.exit(0 if ok else 1)
PYEOF
done
exit $fail
