"""tests/quant: nnc's int8 code against the NumPy reference (qref.py).

  python3 tests/quant/run.py NNC BUILD_DIR

1. arithmetic: the generated nnc_requant, nnc_srdhm and nnc_rdpot on
   random int32 cases, saturation and rounding ties, bit for bit;
2. per-op models (tests/quant/ops/*.nn) with random weights and ranges
   (some too narrow, so outputs saturate): the compiled weights, biases,
   multipliers and shifts equal the reference's, and NAME_forward_int8's
   output equals the reference graph's exactly (a float op, softmax, to
   one step: its expf is libm's).
Exits 0 when all pass, 1 otherwise; 77 (skipped) without numpy.
"""
import json
import os
import re
import struct
import shutil
import subprocess
import sys

try:
    import numpy as np
except ImportError:
    print("SKIP: tests/quant needs numpy")
    sys.exit(77)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import qref  # noqa: E402

NNC, B = sys.argv[1], sys.argv[2]
HERE = os.path.dirname(os.path.abspath(__file__))
CC = os.environ.get("CC", "cc")
# more flags for the generated C (tests/run_quant.sh runs every x86 level:
# -DNNC_ISA_MAX=0, -march=native)
CFLAGS = os.environ.get("QUANT_CFLAGS", "").split()
# the checks whose code does not depend on CFLAGS (the Cortex-M builds under
# QEMU, the Thumb-1 variant's pass) run in one pass of tests/run_quant.sh
# only: QUANT_ONCE=0 in the others
ONCE = os.environ.get("QUANT_ONCE", "1") == "1"
fails = 0
# the variant of the generated C under test: -D flags for every harness, and
# what the checks' lines say of it
VARIANT, VARIANT_NAME = [], ""


def check(ok, what):
    global fails
    print(("ok   " if ok else "FAIL ") + what + VARIANT_NAME)
    if not ok:
        fails += 1


def write_st(path, tensors):
    """A safetensors file of (name, array) pairs: F32 or I32."""
    header, blobs, off = {}, [], 0
    for name, a in tensors:
        a = np.ascontiguousarray(a)
        dt = {np.dtype(np.float32): "F32", np.dtype(np.int32): "I32"}[a.dtype]
        b = a.tobytes()
        header[name] = {"dtype": dt, "shape": list(a.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def build(model, q, name, out, cflags=()):
    """nnc --quantize int8, then the harness (cflags added); returns the .c text."""
    d = os.path.join(B, name + ".gen")
    subprocess.run([NNC, model, "--inference", "--weights", q, "--quantize", "int8", "-o", d], check=True)
    subprocess.run([CC, "-std=c99", "-Wall", "-Wextra", "-pedantic", "-Werror", "-O1"] + CFLAGS + ["-DMODEL=" + name,
                    "-include", os.path.join(d, name + ".c"), "-I", d, "-o", out] + VARIANT + list(cflags) + [
                    os.path.join(HERE, "harness.c"), "-lm"], check=True)
    with open(os.path.join(d, name + ".c")) as f:
        return f.read()


# The generated C on Cortex-M cores under QEMU: the M4's DSP kernels (SXTB16,
# SMLAD) and the M0's Thumb-1 ones, on examples/embedded's bare-metal board.
EMB = os.path.join(os.path.dirname(os.path.dirname(HERE)), "examples", "embedded")
M4 = ["-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv4-sp-d16"]
MCU_CORES = (("Cortex-M4", "mps2-an386", M4 + ["-Os"]), ("Cortex-M4 at -O0 (the C loops)", "mps2-an386", M4 + ["-O0"]),
             ("Cortex-M0", "mps2-an385", ["-mcpu=cortex-m0", "-mthumb", "-mfloat-abi=soft", "-Os"]))
HAVE_MCU = all(shutil.which(t) for t in ("arm-none-eabi-gcc", "qemu-system-arm"))


def mcu_check(name, x, want):
    """NAME's generated C on each core of MCU_CORES, on the int8 samples x:
    the outputs must be want's bits (the host build's)."""
    if VARIANT or not HAVE_MCU or not ONCE:
        return
    d = os.path.join(B, name + ".gen")
    inc = os.path.join(B, name + ".inputs.h")
    with open(inc, "w") as f:
        f.write("#define NSAMPLES %d\nstatic const int8_t inputs[%d] = {%s};\n"
                % (len(x), x.size, ",".join(str(int(v)) for v in x.reshape(-1))))
    for j, (core, board, flags) in enumerate(MCU_CORES):
        elf = os.path.join(B, "%s.%d.elf" % (name, j))
        cc = ["arm-none-eabi-gcc"] + flags + ["-std=c99", "-Wall", "-Wextra", "-Werror",
                                              "-ffunction-sections", "-fdata-sections", "-I", EMB]
        subprocess.run(cc + ["-DMODEL=" + name, "-include", os.path.join(d, name + ".c"), "-include", inc, "-I", d,
                             "-c", "-o", elf + ".o", os.path.join(HERE, "harness_mcu.c")], check=True)
        subprocess.run(cc + ["-o", elf, elf + ".o", os.path.join(EMB, "mps2.c"), os.path.join(EMB, "startup.c"),
                             "-nostartfiles", "--specs=nosys.specs", "-T", os.path.join(EMB, "mps2.ld"),
                             "-Wl,--gc-sections", "-lm"], check=True)
        r = subprocess.run(["qemu-system-arm", "-M", board, "-nographic", "-monitor", "none", "-serial", "none",
                            "-semihosting-config", "enable=on,target=native", "-kernel", elf],
                           capture_output=True, text=True, timeout=300)
        lines = [ln[4:] for ln in (r.stdout + r.stderr).splitlines() if ln.startswith("out ")]
        got = np.array([[int(ln[i:i + 2], 16) for i in range(0, len(ln), 2)] for ln in lines], np.uint8)
        check(r.returncode == 0 and got.shape == want.shape and np.array_equal(got.view(np.int8), want),
              "%s on the %s under QEMU: %d samples, the host's bits" % (name, core, len(x)))


def c_array(text, name):
    """The last array NAME in text: conv_wide's weights come twice, the DSP
    cores' tap order first, then the others' (the reference order)."""
    m = list(re.finditer(r"static const int(?:8|32)_t %s\[\d+\] = \{([^}]*)\}" % name, text))[-1]
    return np.array([int(v) for v in m.group(1).replace(",", " ").split()], np.int64)


def run(exe, mode, x, dtype):
    i, o = os.path.join(B, "in.bin"), os.path.join(B, "out.bin")
    x.tofile(i)
    subprocess.run([exe, mode, i, o], check=True)
    return np.fromfile(o, dtype)


def layer_check(text, node, ref, what, z_in):
    """The compiled arrays: w, bz = bias - z_in sum(w) (what the kernels
    add to the plain int8 dot product), m, sh."""
    qw, qb, mult, shift = ref
    bz = qb - z_in * qw.reshape(qw.shape[0], -1).astype(np.int64).sum(1)
    same = (np.array_equal(c_array(text, "w_q%d" % node), qw.reshape(-1)) and
            np.array_equal(c_array(text, "w_bz%d" % node), bz) and
            np.array_equal(c_array(text, "w_m%d" % node), mult) and
            np.array_equal(c_array(text, "w_sh%d" % node), shift))
    check(same, what + ": weights, biases, multipliers, shifts as the reference")


def test_arith(rng, exe, what=""):
    n = 22000
    acc = rng.integers(qref.I32_MIN, qref.I32_MAX, n, endpoint=True)
    acc[:2000] = rng.integers(-70000, 70000, 2000)
    mult = rng.integers(qref.I32_MIN, qref.I32_MAX, n, endpoint=True)
    mult[:4000] = rng.integers(1 << 30, qref.I32_MAX, 4000, endpoint=True)  # what quant_multiplier makes
    shift = rng.integers(-31, 1, n)
    shift[:500] = rng.integers(1, 8, 500)  # left shifts, saturating
    # the corners: INT32_MIN * INT32_MIN saturates; exact halves (ties) of
    # the rounding right shift, positive and negative
    acc[-1], mult[-1] = qref.I32_MIN, qref.I32_MIN
    acc[-2], mult[-2] = qref.I32_MAX, qref.I32_MAX
    # products near zero, where the roundings meet (|acc mult| ~ 2^30), and
    # the smallest right shifts
    acc[-3002:-1002] = rng.integers(-(1 << 12), 1 << 12, 2000)
    mult[-3002:-1002] = rng.integers(1 << 30, qref.I32_MAX, 2000, endpoint=True)
    shift[-3002:-1002] = rng.integers(-3, 0, 2000)
    acc[-3003], mult[-3003], shift[-3003] = qref.I32_MIN, qref.I32_MAX, -1
    e = rng.integers(1, 20, 1000)
    k = rng.integers(-2000, 2000, 1000)  # |k 2^e| < 2^31
    acc[-1002:-2] = k * (1 << e) + (1 << (e - 1))
    shift[-1002:-2] = -e
    mult[-1002:-2] = qref.I32_MAX
    cases = np.concatenate([[n], np.stack([acc, mult, shift], 1).reshape(-1)]).astype(np.int32)
    got = run(exe, "arith", cases, np.int32).astype(np.int64).reshape(3, n)
    check(np.array_equal(got[0], qref.requant(acc, mult, shift)), "nnc_requant%s on %d cases" % (what, n))
    check(np.array_equal(got[1], qref.srdhm(acc, mult)), "nnc_srdhm on %d cases (INT32_MIN^2 saturates)" % n)
    check(np.array_equal(got[2], qref.rdpot(acc, np.where(shift < 0, -shift, 0))),
          "nnc_rdpot on %d cases, 1000 of them exact ties" % n)


def test_dense(rng):
    w0, b0 = rng.normal(0, 0.4, (16, 20)).astype(np.float32), rng.normal(0, 0.2, 16).astype(np.float32)
    w2, b2 = rng.normal(0, 0.4, (12, 16)).astype(np.float32), rng.normal(0, 0.2, 12).astype(np.float32)
    w4, b4 = rng.normal(0, 0.4, (5, 12)).astype(np.float32), rng.normal(0, 0.2, 5).astype(np.float32)
    w0[3] = 0  # a channel of zeros: scale 1
    rx, r1, r3, ry = (-1.0, 1.5), (0.0, 2.0), (-0.5, 0.8), (-1.5, 1.0)  # narrow: saturates
    P = {k: qref.int8_params(*v) for k, v in dict(x=rx, y1=r1, y3=r3, y=ry).items()}
    q = os.path.join(B, "qdense.safetensors")
    t = [("y.0.weight", w0), ("y.0.bias", b0), ("y.2.weight", w2), ("y.2.bias", b2), ("y.4.weight", w4),
         ("y.4.bias", b4)]
    for k, nm in (("x", "x"), ("y1", "y.1"), ("y3", "y.3"), ("y", "y")):
        t += [(nm + ".scale", np.array([P[k][0]], np.float32)), (nm + ".zero_point", np.array([P[k][1]], np.int32))]
    write_st(q, t)
    exe = os.path.join(B, "qdense")
    text = build(os.path.join(HERE, "ops", "qdense.nn"), q, "qdense", exe)
    L0 = qref.quant_layer(w0, b0, P["x"][0], P["y1"][0])
    L2 = qref.quant_layer(w2, b2, P["y1"][0], P["y3"][0])
    L4 = qref.quant_layer(w4, b4, P["y3"][0], P["y"][0])
    layer_check(text, 3, L0, "qdense y.0", P["x"][1])
    layer_check(text, 7, L2, "qdense y.2", P["y1"][1])
    layer_check(text, 11, L4, "qdense y.4", P["y3"][1])
    x = rng.integers(-128, 128, (300, 20)).astype(np.int8)
    got = run(exe, "int8", x, np.int8).reshape(300, 5)
    relu_lo = max(-128, qref.quant_value(0, *P["y1"]))
    ht_lo, ht_hi = qref.quant_value(-0.5, *P["y3"]), qref.quant_value(0.8, *P["y3"])
    want = []
    for s in x:
        h = qref.dense(s, P["x"][1], *L0, P["y1"][1], relu_lo, 127)
        h = qref.dense(h, P["y1"][1], *L2, P["y3"][1], ht_lo, ht_hi)
        want.append(qref.dense(h, P["y3"][1], *L4, P["y"][1]))
    want = np.array(want)
    check(np.array_equal(got, want), "qdense forward_int8 on 300 samples, exactly (%d of %d outputs saturated)"
          % (int(np.sum((want == 127) | (want == -128))), want.size))
    mcu_check("qdense", x, got.reshape(want.shape))
    # the float API: quantize, the graph, dequantize
    xf = rng.uniform(-1.2, 1.7, (50, 20)).astype(np.float32)
    gotf = run(exe, "float", xf, np.float32).reshape(50, 5)
    xq = qref.quantize_input(xf, *P["x"])
    wantf = []
    for s in xq:
        h = qref.dense(s, P["x"][1], *L0, P["y1"][1], relu_lo, 127)
        h = qref.dense(h, P["y1"][1], *L2, P["y3"][1], ht_lo, ht_hi)
        wantf.append(qref.dequantize(qref.dense(h, P["y3"][1], *L4, P["y"][1]), *P["y"]))
    check(np.array_equal(gotf, np.array(wantf)), "qdense forward (float in and out) on 50 samples, exactly")


def build_ranged(name, t, P, names):
    """ops/NAME.nn's int8 build from the float tensors t plus, for each
    (key, value) of names, P[key]'s scale and zero point as the value's:
    returns the executable and the generated .c text."""
    q = os.path.join(B, name + ".safetensors")
    for k, nm in names:
        t = t + [(nm + ".scale", np.array([P[k][0]], np.float32)), (nm + ".zero_point", np.array([P[k][1]], np.int32))]
    write_st(q, t)
    exe = os.path.join(B, name)
    return exe, build(os.path.join(HERE, "ops", name + ".nn"), q, name, exe)


def test_conv(rng):
    w0, b0 = rng.normal(0, 0.3, (4, 3, 3, 3)).astype(np.float32), rng.normal(0, 0.1, 4).astype(np.float32)
    w2, b2 = rng.normal(0, 0.5, (4, 1, 3, 3)).astype(np.float32), rng.normal(0, 0.1, 4).astype(np.float32)
    w5, b5 = rng.normal(0, 0.5, (6, 16)).astype(np.float32), rng.normal(0, 0.1, 6).astype(np.float32)
    # y.2 (the depthwise conv) has no range of its own: it takes its only
    # reader's, maxpool y.3's
    R = dict(x=(-1.0, 1.0), y1=(0.0, 6.0), y3=(-2.0, 2.5), y5=(-3.0, 3.0), y=(0.0, 1.0))
    P = {k: qref.int8_params(*v) for k, v in R.items()}
    t = [("y.0.weight", w0), ("y.0.bias", b0), ("y.2.weight", w2), ("y.2.bias", b2), ("y.5.weight", w5),
         ("y.5.bias", b5)]
    exe, text = build_ranged("qconv", t, P, (("x", "x"), ("y1", "y.1"), ("y3", "y.3"), ("y5", "y.5"), ("y", "y")))
    L0 = qref.quant_layer(w0, b0, P["x"][0], P["y1"][0])
    L2 = qref.quant_layer(w2, b2, P["y1"][0], P["y3"][0])
    L5 = qref.quant_layer(w5, b5, P["y3"][0], P["y5"][0])
    layer_check(text, 3, L0, "qconv y.0 (conv2d)", P["x"][1])
    layer_check(text, 7, L2, "qconv y.2 (depthwise conv2d)", P["y1"][1])
    layer_check(text, 12, L5, "qconv y.5 (dense)", P["y3"][1])
    # the schedule names its buffers after their values (issue 12): no call
    # passes an arena offset
    body = text[text.index("static void run_int8("):]
    body = body[:body.index("\n}\n")]
    calls = [l for l in body.split("\n") if re.match(r"\s+k\d+_", l)]
    check(calls and not any("A +" in l for l in calls) and "int8_t *const x_int8 = A + " in body
          and re.search(r"int8_t \*const y_1_relu6 = A \+ \d+;", body) is not None,
          "qconv: run_int8 passes named buffers (x_int8, y_1_relu6, ...), no arena offsets")
    x = rng.integers(-128, 128, (100, 3, 9, 9)).astype(np.int8)
    got = run(exe, "int8", x, np.int8).reshape(100, 6)
    lo1, hi1 = max(-128, qref.quant_value(0, *P["y1"])), qref.quant_value(6, *P["y1"])
    want = []
    for s in x:
        h = qref.conv2d(s, P["x"][1], *L0, P["y1"][1], stride=2, pad=1, lo=lo1, hi=hi1)
        h = qref.conv2d(h, P["y1"][1], *L2, P["y3"][1], pad=1, groups=4)
        h = qref.maxpool(h, 2).reshape(-1)
        h = qref.dense(h, P["y3"][1], *L5, P["y5"][1])
        want.append(qref.softmax_q(h, P["y5"][0], P["y5"][1], *P["y"]))
    want = np.array(want).astype(np.int64)
    mcu_check("qconv", x, got)
    diff = np.abs(got.astype(np.int64) - want)
    check(diff.max() <= 1 and np.mean(diff == 0) > 0.95,
          "qconv forward_int8 on 100 samples: conv2d, depthwise, maxpool, dense exact; softmax (float, libm's expf) "
          "within one step (%d of %d differ)" % (int(np.sum(diff > 0)), diff.size))


def test_wide(rng):
    """Convolutions with kernel rows of 4 or more taps (conv_wide: the DSP
    cores widen their taps straight from the input, the weights' taps
    reordered to match; the other cores as before)."""
    w0, b0 = rng.normal(0, 0.3, (3, 1, 5, 5)).astype(np.float32), rng.normal(0, 0.1, 3).astype(np.float32)
    w1, b1 = rng.normal(0, 0.2, (5, 3, 5, 5)).astype(np.float32), rng.normal(0, 0.1, 5).astype(np.float32)
    w3, b3 = rng.normal(0, 0.1, (3, 5, 6, 6)).astype(np.float32), rng.normal(0, 0.1, 3).astype(np.float32)
    w5, b5 = rng.normal(0, 0.3, (4, 48)).astype(np.float32), rng.normal(0, 0.1, 4).astype(np.float32)
    # y2: relu clamps above the range's low end (lo > -128)
    R = dict(x=(-1.0, 1.0), y0=(-2.0, 2.5), y2=(-0.5, 3.0), y3=(-2.5, 2.0), y=(-3.0, 3.0))
    P = {k: qref.int8_params(*v) for k, v in R.items()}
    t = [("y.0.weight", w0), ("y.0.bias", b0), ("y.1.weight", w1), ("y.1.bias", b1), ("y.3.weight", w3),
         ("y.3.bias", b3), ("y.5.weight", w5), ("y.5.bias", b5)]
    exe, text = build_ranged("qwide", t, P, (("x", "x"), ("y0", "y.0"), ("y2", "y.2"), ("y3", "y.3"), ("y", "y")))
    L0 = qref.quant_layer(w0, b0, P["x"][0], P["y0"][0])
    L1 = qref.quant_layer(w1, b1, P["y0"][0], P["y2"][0])
    L3 = qref.quant_layer(w3, b3, P["y2"][0], P["y3"][0])
    L5 = qref.quant_layer(w5, b5, P["y3"][0], P["y"][0])
    for node, L, what, z in ((3, L0, "depthwise 5x5", P["x"][1]), (6, L1, "5x5", P["y0"][1]),
                             (10, L3, "6x6 stride 2", P["y2"][1])):
        layer_check(text, node, L, "qwide %%%d (%s)" % (node, what), z)
        check("k%d_wide(" % node in text and "nnc_rows2w(" in text,
              "qwide %%%d (%s): widened from the input on the DSP cores (k%d_wide)" % (node, what, node))
    x = rng.integers(-128, 128, (60, 3, 12, 12)).astype(np.int8)
    got = run(exe, "int8", x, np.int8).reshape(60, 4)
    relu_lo = max(-128, qref.quant_value(0, *P["y2"]))
    want = []
    for s in x:
        h = qref.conv2d(s, P["x"][1], *L0, P["y0"][1], pad=2, groups=3)
        h = qref.conv2d(h, P["y0"][1], *L1, P["y2"][1], pad=2, lo=relu_lo)
        h = qref.conv2d(h, P["y2"][1], *L3, P["y3"][1], stride=2).reshape(-1)
        want.append(qref.dense(h, P["y3"][1], *L5, P["y"][1]))
    check(np.array_equal(got, np.array(want)), "qwide forward_int8 on 60 samples (5x5, 6x6 convolutions), exactly")
    mcu_check("qwide", x, got)


def test_res(rng):
    wa, ba = rng.normal(0, 0.4, (4, 2, 3, 3)).astype(np.float32), rng.normal(0, 0.1, 4).astype(np.float32)
    wb, bb = rng.normal(0, 0.4, (4, 4, 3, 3)).astype(np.float32), rng.normal(0, 0.1, 4).astype(np.float32)
    wy, by = rng.normal(0, 0.5, (3, 6)).astype(np.float32), rng.normal(0, 0.1, 3).astype(np.float32)
    # the add (unnamed) takes avgpool c's range; d and y.0 their inputs'
    R = dict(x=(-1.0, 1.0), a=(0.0, 2.5), b=(-3.0, 2.0), c=(-2.0, 3.5), e=(-1.5, 2.0), y=(-1.0, 1.0))
    P = {k: qref.int8_params(*v) for k, v in R.items()}
    q = os.path.join(B, "qres.safetensors")
    t = [("a.0.weight", wa), ("a.0.bias", ba), ("b.0.weight", wb), ("b.0.bias", bb), ("y.1.weight", wy),
         ("y.1.bias", by)]
    for k in R:
        t += [(k + ".scale", np.array([P[k][0]], np.float32)), (k + ".zero_point", np.array([P[k][1]], np.int32))]
    write_st(q, t)
    exe = os.path.join(B, "qres")
    text = build(os.path.join(HERE, "ops", "qres.nn"), q, "qres", exe)
    La = qref.quant_layer(wa, ba, P["x"][0], P["a"][0])
    Lb = qref.quant_layer(wb, bb, P["a"][0], P["b"][0])
    Ly = qref.quant_layer(wy, by, P["e"][0], P["y"][0])
    layer_check(text, 3, La, "qres a.0 (conv2d)", P["x"][1])
    layer_check(text, 7, Lb, "qres b (conv2d)", P["a"][1])
    layer_check(text, 15, Ly, "qres y (dense)", P["e"][1])
    x = rng.integers(-128, 128, (200, 2, 8, 8)).astype(np.int8)
    got = run(exe, "int8", x, np.int8).reshape(200, 3)
    relu_lo = max(-128, qref.quant_value(0, *P["a"]))
    want = []
    for s_ in x:
        a = qref.conv2d(s_, P["x"][1], *La, P["a"][1], pad=1, lo=relu_lo)
        b = qref.conv2d(a, P["a"][1], *Lb, P["b"][1], pad=1)
        r = qref.add(a, P["a"][1], P["a"][0], b, P["b"][1], P["b"][0], P["c"][1], P["c"][0])
        c = qref.avgpool(r, P["c"][1], 3, 2, 1)
        d = qref.avgpool(s_, P["x"][1], 2)
        e = np.concatenate([qref.concat_requant(c, P["c"][1], P["c"][0], P["e"][1], P["e"][0]),
                            qref.concat_requant(d, P["x"][1], P["x"][0], P["e"][1], P["e"][0])])
        g = qref.global_avgpool(e, P["e"][1])
        want.append(qref.dense(g, P["e"][1], *Ly, P["y"][1]))
    check(np.array_equal(got, np.array(want)),
          "qres forward_int8 on 200 samples (add, avgpool with padding, concat, global_avgpool), exactly")
    mcu_check("qres", x, got)


def test_x86(rng):
    """Every path of the x86 VNNI kernels (and the same integers from the
    plain loops where they run): tests/quant/ops/qx86.nn."""
    wa, ba = rng.normal(0, 0.4, (20, 3, 1, 1)).astype(np.float32), rng.normal(0, 0.1, 20).astype(np.float32)
    wb, bb = rng.normal(0, 0.2, (10, 20, 5, 5)).astype(np.float32), rng.normal(0, 0.1, 10).astype(np.float32)
    wc, bc = rng.normal(0, 0.3, (18, 10, 3, 3)).astype(np.float32), rng.normal(0, 0.1, 18).astype(np.float32)
    wd, bd = rng.normal(0, 0.2, (18, 18, 3, 3)).astype(np.float32), rng.normal(0, 0.1, 18).astype(np.float32)
    we, be = rng.normal(0, 0.2, (6, 18, 3, 3)).astype(np.float32), rng.normal(0, 0.1, 6).astype(np.float32)
    wy, by = rng.normal(0, 0.2, (40, 264)).astype(np.float32), rng.normal(0, 0.1, 40).astype(np.float32)
    # c's range is narrow: its multipliers exceed 1 (a left shift)
    R = dict(x=(-1.0, 1.0), a=(0.0, 2.0), b=(-3.0, 3.0), c=(-0.004, 0.004), d=(-2.0, 2.0), e=(-2.0, 2.0),
             y=(-3.0, 3.0))
    P = {k: qref.int8_params(*v) for k, v in R.items()}
    q = os.path.join(B, "qx86.safetensors")
    t = [("a.0.weight", wa), ("a.0.bias", ba), ("b.0.weight", wb), ("b.0.bias", bb), ("c.0.weight", wc),
         ("c.0.bias", bc), ("d.0.weight", wd), ("d.0.bias", bd), ("e.0.weight", we), ("e.0.bias", be),
         ("y.1.weight", wy), ("y.1.bias", by)]
    for k in R:
        t += [(k + ".scale", np.array([P[k][0]], np.float32)), (k + ".zero_point", np.array([P[k][1]], np.int32))]
    write_st(q, t)
    exe = os.path.join(B, "qx86")
    text = build(os.path.join(HERE, "ops", "qx86.nn"), q, "qx86", exe)
    La = qref.quant_layer(wa, ba, P["x"][0], P["a"][0])
    Lb = qref.quant_layer(wb, bb, P["a"][0], P["b"][0])
    Lc = qref.quant_layer(wc, bc, P["b"][0], P["c"][0])
    Ld = qref.quant_layer(wd, bd, P["c"][0], P["d"][0])
    Le = qref.quant_layer(we, be, P["d"][0], P["e"][0])
    Ly = qref.quant_layer(wy, by, P["e"][0], P["y"][0])
    check(np.all(Lc[3] > 0) and np.all(Lb[3] <= 0), "qx86: c's shifts are left shifts, b's right shifts")
    for kern in ("nnc_x86_rows(col", "nnc_x86_conv16(", "nnc_x86_window(x", "nnc_x86_window(col", "nnc_x86_rows(x"):
        check(kern in text, "qx86: the x86 code calls %s...)" % kern)
    x = rng.integers(-128, 128, (40, 3, 7, 21)).astype(np.int8)
    got = run(exe, "int8", x, np.int8).reshape(40, 40)
    relu_lo = max(-128, qref.quant_value(0, *P["a"]))
    want = []
    for s_ in x:
        a = qref.conv2d(s_, P["x"][1], *La, P["a"][1], lo=relu_lo)
        b = qref.conv2d(a, P["a"][1], *Lb, P["b"][1], pad=2)
        c = qref.conv2d(b, P["b"][1], *Lc, P["c"][1], pad=1)
        d = qref.conv2d(c, P["c"][1], *Ld, P["d"][1], stride=2, pad=1)
        e = qref.conv2d(d, P["d"][1], *Le, P["e"][1], pad=2, dil=2)
        want.append(qref.dense(e.reshape(-1), P["e"][1], *Ly, P["y"][1]))
    want = np.array(want)
    check(np.array_equal(got, want), "qx86 forward_int8 on 40 samples (1x1, 5x5, left-shifted 3x3, strided 3x3, dilated conv2d; "
          "dense of 40), exactly (%d of %d outputs saturated)"
          % (int(np.sum((want == 127) | (want == -128))), want.size))


def test_bn(rng):
    t = [("y.0.weight", rng.normal(0, 0.3, (3, 1, 3, 3)).astype(np.float32)),
         ("y.0.bias", np.zeros(3, np.float32)), ("y.1.weight", np.ones(3, np.float32)),
         ("y.1.bias", np.full(3, 0.5, np.float32)), ("y.1.running_mean", np.zeros(3, np.float32)),
         ("y.1.running_var", np.ones(3, np.float32)), ("y.3.weight", rng.normal(0, 0.3, (4, 48)).astype(np.float32)),
         ("y.3.bias", np.zeros(4, np.float32))]
    for nm, sc, zp in (("x", 0.01, -3), ("y.1", 0.02, 7), ("y", 0.05, 1)):
        t += [(nm + ".scale", np.array([sc], np.float32)), (nm + ".zero_point", np.array([zp], np.int32))]
    q = os.path.join(B, "qbn.safetensors")
    write_st(q, t)
    st = open(q, "rb").read()
    hlen = struct.unpack("<Q", st[:8])[0]
    hdr = json.loads(st[8:8 + hlen])
    # num_batches_tracked is I64: written by hand beside the F32 tensors
    off = max(v["data_offsets"][1] for v in hdr.values())
    hdr["y.1.num_batches_tracked"] = {"dtype": "I64", "shape": [], "data_offsets": [off, off + 8]}
    h = json.dumps(hdr).encode()
    h += b" " * (-len(h) % 8)
    with open(q, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + st[8 + hlen:] + struct.pack("<q", 0))
    r = subprocess.run([NNC, os.path.join(HERE, "ops", "qbn.nn"), "--inference", "--weights", q, "--quantize", "int8",
                        "--emit", "ir"], capture_output=True, text=True)
    check(r.returncode == 0 and re.search(r"int8 conv2d .* scale=0.0199999996 zero_point=7 .*; y.0\+y.1", r.stdout)
          is not None, "a conv2d with its batchnorm folded takes the batchnorm's range (%s)"
          % (r.stderr.strip() or "ok"))


def test_errors(rng):
    """Bad use is a clear error naming the file and what is missing."""
    model = os.path.join(HERE, "ops", "qdense.nn")
    r = subprocess.run([NNC, model, "--quantize", "int8"], capture_output=True, text=True)
    check(r.returncode == 2 and "--quantize int8 goes with --inference" in r.stderr,
          "--quantize without --inference: usage error")
    t = [("y.0.weight", np.zeros((16, 20), np.float32)), ("y.0.bias", np.zeros(16, np.float32)),
         ("y.2.weight", np.zeros((12, 16), np.float32)), ("y.2.bias", np.zeros(12, np.float32)),
         ("y.4.weight", np.zeros((5, 12), np.float32)), ("y.4.bias", np.zeros(5, np.float32))]
    plain = os.path.join(B, "plain.safetensors")
    write_st(plain, t)
    r = subprocess.run([NNC, model, "--inference", "--weights", plain, "--quantize", "int8", "-o", B],
                       capture_output=True, text=True)
    check(r.returncode == 1 and plain in r.stderr and "no calibrated range" in r.stderr,
          "weights without ranges: an error naming the file")
    part = os.path.join(B, "part.safetensors")
    for nm in ("x", "y.1", "y"):
        t += [(nm + ".scale", np.array([0.1], np.float32)), (nm + ".zero_point", np.array([0], np.int32))]
    write_st(part, t)
    r = subprocess.run([NNC, model, "--inference", "--weights", part, "--quantize", "int8", "-o", B],
                       capture_output=True, text=True)
    check(r.returncode == 1 and part in r.stderr and "'y.3'" in r.stderr,
          "a missing range: an error naming the file and the value (%s)" % r.stderr.strip())
    bad = os.path.join(B, "bad.safetensors")
    write_st(bad, t[:-1] + [("y.zero_point", np.array([300], np.int32))])
    r = subprocess.run([NNC, model, "--inference", "--weights", bad, "--quantize", "int8", "-o", B],
                       capture_output=True, text=True)
    check(r.returncode == 1 and bad in r.stderr and "zero point" in r.stderr,
          "a zero point outside [-128, 127]: an error naming the file")


def main():
    global VARIANT, VARIANT_NAME
    rng = np.random.default_rng(14)
    os.makedirs(B, exist_ok=True)
    test_dense(rng)
    test_arith(rng, os.path.join(B, "qdense"))
    # the 32-bit requantization of cores without a 64-bit multiply (Cortex-M0)
    build(os.path.join(HERE, "ops", "qdense.nn"), os.path.join(B, "qdense.safetensors"), "qdense",
          os.path.join(B, "qdense_rq32"), ["-DNNC_RQ32"])
    test_arith(rng, os.path.join(B, "qdense_rq32"), " (-DNNC_RQ32, the Cortex-M0's 32-bit pieces)")
    test_conv(rng)
    test_wide(rng)
    test_res(rng)
    test_bn(rng)
    test_errors(rng)
    test_x86(rng)
    # the Cortex-M0's kernels (two rows a pass, the 32-bit requantization),
    # compiled for the host: the same integers
    if ONCE:
        VARIANT, VARIANT_NAME = ["-DNNC_THUMB1", "-DNNC_RQ32"], " [-DNNC_THUMB1 -DNNC_RQ32]"
        test_dense(rng)
        test_conv(rng)
        test_wide(rng)
        test_res(rng)
    print("tests/quant: %s" % ("all passed" if not fails else "%d FAILED" % fails))
    sys.exit(1 if fails else 0)


if __name__ == "__main__":
    main()
