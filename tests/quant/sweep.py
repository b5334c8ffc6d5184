"""tests/quant: a randomized sweep of the int8 kernels' geometries.

  python3 tests/quant/sweep.py NNC BUILD_DIR [CASES [SEED [MCU_EVERY [ROTATE]]]]

Each case is a small random .nn model (one or two conv2d or conv1d layers:
depthwise, grouped, non-square kernels, strides, paddings, dilations,
inputs smaller than the kernel; relu/relu6 clamps; maxpool/avgpool with and
without padding; a residual add or a concat; a dense after flatten) with
random weights and calibrated ranges (some too narrow: outputs saturate).
nnc --quantize int8 compiles it; the C must build warning-free with gcc
and clang (-std=c99 -Wall -Wextra -pedantic -Werror), and
NAME_forward_int8's outputs must equal qref.py's integers bit for bit in
every variant: the plain loops (-DNNC_ISA_MAX=0), the dispatching -O2 build
(the x86 VNNI kernels where the CPU has them), -O2 -march=native, the
Cortex-M0's kernels on the host (-DNNC_THUMB1 -DNNC_RQ32), clang -O2, and
ASan + UBSan; every MCU_EVERY-th case (default 8; 0: none) also on the
Cortex-M4 (-Os, -O0) and Cortex-M0 under QEMU.  A model nnc rejects with a
clear error (status 1, an error naming the .nn or weights file) counts as rejected, not
failed.  ROTATE (default 0: all) runs only that many variants a case, in
turn.  Defaults: 40 cases, seed 1, MCU_EVERY 8, every variant.
"""
import os
import subprocess
import sys

import numpy as np

import qref
import run as R

NNC, B = R.NNC, R.B
NCASES = int(sys.argv[3]) if len(sys.argv) > 3 else 40
SEED = int(sys.argv[4]) if len(sys.argv) > 4 else 1
MCU_EVERY = int(sys.argv[5]) if len(sys.argv) > 5 else 8
# variants a case runs: all (0), or ROTATE of them in turn (case i the
# (i ROTATE + j)-th, j < ROTATE), which bounds tests/run_quant.sh's run
# (compiling is most of a case's time) while every variant still runs
ROTATE = int(sys.argv[6]) if len(sys.argv) > 6 else 0
WARN = ["-std=c99", "-Wall", "-Wextra", "-pedantic", "-Werror"]
VARIANTS = (("plain", "cc", ["-O1", "-DNNC_ISA_MAX=0"]), ("-O2", "cc", ["-O2"]),
            ("-O2 -march=native", "cc", ["-O2", "-march=native"]),
            ("thumb1", "cc", ["-O1", "-DNNC_THUMB1", "-DNNC_RQ32"]), ("clang", "clang", ["-O2"]),
            ("asan", "cc", ["-O1", "-g", "-fsanitize=address,undefined", "-fno-sanitize-recover=all"]))


def rint(rng, lo, hi):
    return int(rng.integers(lo, hi, endpoint=True))


def fmt(v):
    return str(v[0]) if v[0] == v[1] else "[%d, %d]" % v


class Model:
    """The model's statements and the reference's layers: each value's
    float output (for its range), then its int8 output."""

    def __init__(self, rng, one_d):
        self.rng, self.one_d = rng, one_d
        self.lines, self.tensors, self.ranges, self.steps = [], [], {}, []
        self.shape = {}

    def conv(self, name, src, first):
        """A conv over src (random geometry); returns False when none fits."""
        rng = self.rng
        C, H, W = self.shape[src]
        for _ in range(50):
            F = rint(rng, 1, 40 if first else 20)
            kh, kw = (1, rint(rng, 1, 7)) if self.one_d else (rint(rng, 1, 7), rint(rng, 1, 7))
            if not self.one_d and rng.random() < 0.5:
                kw = kh
            s = (1, rint(rng, 1, 3)) if self.one_d else (rint(rng, 1, 3), rint(rng, 1, 3))
            p = (0, rint(rng, 0, 3)) if self.one_d else (rint(rng, 0, 3), rint(rng, 0, 3))
            d = rint(rng, 1, 3) if rng.random() < 0.3 else 1
            same = rng.random() < 0.15
            if same:
                # padding = same (stride 1): PyTorch's total d (k - 1),
                # the odd one at the bottom/right
                s = (1, 1)
                th, tw = (0 if self.one_d else d * (kh - 1)), d * (kw - 1)
                p = (th // 2, th - th // 2, tw // 2, tw - tw // 2)
            g = 1
            r = rng.random()
            if r < 0.25:
                g, F = C, C * rint(rng, 1, 2)  # depthwise (a multiplier of 1 or 2)
            elif r < 0.4:
                gs = [k for k in range(2, C + 1) if C % k == 0]
                if gs:
                    g = int(rng.choice(gs))
                    F = g * max(1, F // g)
            p4 = p if same else (p[0], p[0], p[1], p[1])
            OH = (H + p4[0] + p4[1] - d * (kh - 1) - 1) // s[0] + 1
            OW = (W + p4[2] + p4[3] - d * (kw - 1) - 1) // s[1] + 1
            if OH >= 1 and OW >= 1:
                break
        else:
            return False
        if self.one_d:
            args = "%d, kernel = %d, stride = %d, padding = %d" % (F, kw, s[1], p4[2])
        else:
            args = "%d, kernel = %s, stride = %s, padding = %s" % (F, fmt((kh, kw)), fmt(s), fmt(p4[::2]))
        if same:
            args = args.split(", stride")[0] + ", padding = same"
        if d > 1:
            args += ", dilation = %d" % d
        if g > 1:
            args += ", groups = %d" % g
        self.lines.append("%s = %s -> %s(%s)" % (name, src, "conv1d" if self.one_d else "conv2d", args))
        w = rng.normal(0, rng.uniform(0.05, 0.6), (F, C // g, kh, kw)).astype(np.float32)
        if rng.random() < 0.1:
            w[0] = 0  # a channel of zeros
        b = rng.normal(0, 0.2, F).astype(np.float32)
        wt = w[:, :, 0, :] if self.one_d else w
        self.tensors += [(name + ".0.weight", wt), (name + ".0.bias", b)]
        self.shape[name] = (F, OH, OW)
        self.steps.append(("conv", name, src, dict(w=w, b=b, stride=s, pad=p4, dil=d, groups=g)))
        return True

    def act(self, name, src):
        a = self.rng.choice(["relu", "relu6"])
        self.lines.append("%s = %s -> %s" % (name, src, a))
        self.shape[name] = self.shape[src]
        self.steps.append((a, name, src, {}))

    def pool(self, name, src):
        rng = self.rng
        C, H, W = self.shape[src]
        k = rint(rng, 1, 5)  # may exceed the input: padding makes up
        s = rint(rng, 1, 3) if rng.random() < 0.5 else k
        p = rint(rng, 0, k // 2)
        kind = str(rng.choice(["maxpool", "avgpool"]))
        L = W if self.one_d else H
        OH = 1 if self.one_d else (H + 2 * p - k) // s + 1
        OW = (W + 2 * p - k) // s + 1
        if OH < 1 or OW < 1 or L < 1:
            return False
        args = "%d" % k + (", stride = %d" % s if s != k else "") + (", padding = %d" % p if p else "")
        self.lines.append("%s = %s -> %s%s(%s)" % (name, src, kind, "1d" if self.one_d else "", args))
        self.shape[name] = (C, OH, OW)
        self.steps.append((kind, name, src, dict(k=k, s=s, p=p)))
        return True

    def float_forward(self, x):
        """The float values (for the ranges) of every named value."""
        v = {"x": x}
        for op, name, src, a in self.steps:
            if op == "conv":
                v[name] = qref.conv_acc(v[src], a["w"].astype(np.float64), a["b"], a["stride"], a["pad"], a["dil"],
                                        a["groups"])
            elif op in ("relu", "relu6"):
                v[name] = np.clip(v[src], 0, 6 if op == "relu6" else None)
            elif op in ("maxpool", "avgpool"):
                v[name] = pool_f(v[src], op, a, self.one_d)
            elif op == "gap":
                v[name] = v[src].mean((1, 2), keepdims=True)
            elif op == "add":
                v[name] = v[src[0]] + v[src[1]]
            elif op == "concat":
                v[name] = np.concatenate([v[src[0]], v[src[1]]])
            elif op == "flatten":
                v[name] = v[src].reshape(-1)
            elif op == "dense":
                v[name] = a["w"].astype(np.float64) @ v[src] + a["b"]
        return v


def pool_f(x, op, a, one_d):
    k, s, p = a["k"], a["s"], a["p"]
    kh, sh, ph = (1, 1, 0) if one_d else (k, s, p)
    C, H, W = x.shape
    xp = np.full((C, H + 2 * ph, W + 2 * p), -np.inf if op == "maxpool" else 0.0)
    xp[:, ph:ph + H, p:p + W] = x
    OH, OW = (H + 2 * ph - kh) // sh + 1, (W + 2 * p - k) // s + 1
    win = [xp[:, ky:ky + sh * (OH - 1) + 1:sh, kx:kx + s * (OW - 1) + 1:s] for ky in range(kh) for kx in range(k)]
    return np.max(win, 0) if op == "maxpool" else np.sum(win, 0) / (kh * k)


def pool_q(x, z, op, a, one_d):
    """qref's maxpool/avgpool; a 1d pool is a 2d one of kernel (1, k)."""
    if not one_d:
        return qref.maxpool(x, a["k"], a["s"], a["p"]) if op == "maxpool" else qref.avgpool(x, z, a["k"], a["s"],
                                                                                            a["p"])
    # a 1d pool: each row alone, stacked (the 2d reference on [C, 1, L]
    # would pad the height too)
    k, s, p = a["k"], a["s"], a["p"]
    xx = x[:, 0, :]
    C, L = xx.shape
    fill = -128 if op == "maxpool" else 0
    xp = np.full((C, L + 2 * p), fill, np.int64)
    xp[:, p:p + L] = xx.astype(np.int64) - (0 if op == "maxpool" else z)
    OL = (L + 2 * p - k) // s + 1
    win = np.array([xp[:, j:j + s * (OL - 1) + 1:s] for j in range(k)])
    if op == "maxpool":
        return win.max(0).astype(np.int8)[:, None, :]
    return np.clip(qref.div_away(win.sum(0), k) + z, -128, 127).astype(np.int8)[:, None, :]


def make_case(rng):
    one_d = rng.random() < 0.2
    m = Model(rng, one_d)
    C = rint(rng, 1, 20)
    H, W = (1, rint(rng, 1, 20)) if one_d else (rint(rng, 1, 20), rint(rng, 1, 20))
    m.shape["x"] = (C, H, W)
    first = "x"
    if rng.random() < 0.15 and m.pool("x0", "x"):
        first = "x0"  # a pool of the input first (its range: the input's)
    if not m.conv("a", first, True):
        return None
    last = "a"
    if rng.random() < 0.5:
        m.act("ar", "a")
        last = "ar"
    second = rng.choice(["conv", "pool", "res", "concat", "gap", "none"])
    if second == "conv" and m.conv("b", last, False):
        last = "b"
        if rng.random() < 0.4:
            m.act("br", "b")
            last = "br"
    elif second == "pool" and m.pool("p", last):
        last = "p"
    elif second == "gap":
        m.lines.append("p = %s -> global_avgpool" % last)
        m.shape["p"] = (m.shape[last][0], 1, 1)
        m.steps.append(("gap", "p", last, {}))
        last = "p"
    elif second in ("res", "concat"):
        # a conv keeping the shape: stride 1, odd kernels, padding k // 2
        F, OH, OW = m.shape[last]
        k = (1, int(rng.choice([1, 3, 5]))) if one_d else (int(rng.choice([1, 3, 5])), int(rng.choice([1, 3, 5])))
        Fb = F if second == "res" else rint(rng, 1, 20)
        g = F if (rng.random() < 0.3 and Fb % F == 0) else 1
        pad = (k[0] // 2, k[1] // 2)
        if one_d:
            args = "%d, kernel = %d, padding = %d" % (Fb, k[1], pad[1])
        else:
            args = "%d, kernel = %s, padding = %s" % (Fb, fmt(k), fmt(pad))
        if g > 1:
            args += ", groups = %d" % g
        m.lines.append("b = %s -> %s(%s)" % (last, "conv1d" if one_d else "conv2d", args))
        w = rng.normal(0, 0.3, (Fb, F // g) + k).astype(np.float32)
        b = rng.normal(0, 0.2, Fb).astype(np.float32)
        m.tensors += [("b.0.weight", w[:, :, 0, :] if one_d else w), ("b.0.bias", b)]
        m.shape["b"] = (Fb, OH, OW)
        m.steps.append(("conv", "b", last, dict(w=w, b=b, stride=1, pad=pad, dil=1, groups=g)))
        if second == "res":
            m.lines.append("r = %s + b" % last)
            m.shape["r"] = m.shape["b"]
            m.steps.append(("add", "r", (last, "b"), {}))
            last = "r"
            if rng.random() < 0.4:
                m.act("rr", "r")
                last = "rr"
        else:
            m.lines.append("r = concat(%s, b, axis = 0)" % last)
            m.shape["r"] = (F + Fb, OH, OW)
            m.steps.append(("concat", "r", (last, "b"), {}))
            last = "r"
    if rng.random() < 0.5 or last == "a" and one_d:
        n = int(np.prod(m.shape[last]))
        D = rint(rng, 1, 40)
        m.lines.append("f = %s -> flatten" % last)
        m.steps.append(("flatten", "f", last, {}))
        m.lines.append("y = f -> dense(%d)" % D)
        w = rng.normal(0, rng.uniform(0.05, 0.4), (D, n)).astype(np.float32)
        b = rng.normal(0, 0.2, D).astype(np.float32)
        m.tensors += [("y.0.weight", w), ("y.0.bias", b)]
        m.steps.append(("dense", "y", "f", dict(w=w, b=b)))
        last = "y"
    m.out = last
    return m


def reference(m, P, xq):
    """qref's integers for one int8 sample xq [C, H, W]."""
    v = {"x": xq}
    readers = {}
    for op, name, src, a in m.steps:
        for s in (src if isinstance(src, tuple) else (src,)):
            readers.setdefault(s, []).append(op)
    for i, (op, name, src, a) in enumerate(m.steps):
        nxt = m.steps[i + 1] if i + 1 < len(m.steps) else None
        # a relu/relu6 as the only reader of a conv/dense/add: its clamp,
        # at its range
        clamp = (nxt is not None and nxt[0] in ("relu", "relu6") and nxt[2] == name
                 and len(readers.get(name, [])) == 1 and op in ("conv", "dense", "add"))
        out = nxt[1] if clamp else name
        lo, hi = -128, 127
        if clamp:
            lo = max(-128, qref.quant_value(0, *P[out]))
            if nxt[0] == "relu6":
                hi = min(127, qref.quant_value(6, *P[out]))
        if op == "conv":
            L = qref.quant_layer(a["w"], a["b"], P[src][0], P[out][0])
            v[out] = qref.conv2d(v[src], P[src][1], *L, P[out][1], a["stride"], a["pad"], a["dil"], a["groups"], lo, hi)
        elif op == "dense":
            L = qref.quant_layer(a["w"], a["b"], P[src][0], P[out][0])
            v[out] = qref.dense(v[src], P[src][1], *L, P[out][1], lo, hi)
        elif op == "add":
            s0, s1 = src
            v[out] = qref.add(v[s0], P[s0][1], P[s0][0], v[s1], P[s1][1], P[s1][0], P[out][1], P[out][0], lo, hi)
        elif op in ("relu", "relu6"):
            if name not in v:  # not folded: in float between a dequantize and a quantize
                f = np.clip(qref.dequantize(v[src], *P[src]), 0, 6 if op == "relu6" else None)
                v[name] = qref.quantize_input(f, *P[name])
        elif op in ("maxpool", "avgpool"):
            P[name] = P[src]
            v[name] = pool_q(v[src], P[src][1], op, a, m.one_d)
        elif op == "gap":
            P[name] = P[src]
            v[name] = qref.global_avgpool(v[src], P[src][1]).reshape(-1, 1, 1)
        elif op == "concat":
            s0, s1 = src
            v[name] = np.concatenate([qref.concat_requant(v[s], P[s][1], P[s][0], P[name][1], P[name][0])
                                      for s in (s0, s1)])
        elif op == "flatten":
            P[name] = P[src]
            v[name] = v[src].reshape(-1)
    return v[m.out].reshape(-1)


def calibrate(m, rng, xs):
    """Ranges of every value from the float model on xs, some narrowed."""
    lo, hi = {}, {}
    for x in xs:
        for k, val in m.float_forward(x).items():
            lo[k] = min(lo.get(k, 0.0), float(np.min(val)))
            hi[k] = max(hi.get(k, 0.0), float(np.max(val)))
    P = {}
    for k in lo:
        # narrowed: saturation; 0.01, multipliers above 1 (left shifts)
        f = rng.choice([1.0, 1.0, 0.5, 0.1, 0.01]) if k != "x" else 1.0
        a, b = lo[k] * f, hi[k] * f
        if b - a < 1e-6:
            b = a + 1e-3
        P[k] = qref.int8_params(a, b)
    return P


def c_build(cc, flags, name, d, exe):
    r = subprocess.run([cc] + WARN + flags + ["-DMODEL=" + name, "-include", os.path.join(d, name + ".c"), "-I", d,
                                              "-o", exe, os.path.join(R.HERE, "harness.c"), "-lm"],
                       capture_output=True, text=True)
    return r.returncode == 0, r.stderr


def one_case(i, rng):
    m = None
    while m is None:
        m = make_case(rng)
    name = "sw%d" % i
    C, H, W = m.shape["x"]
    xshape = "%d, %d" % (C, W) if m.one_d else "%d, %d, %d" % (C, H, W)
    # the last statement defines the output
    body = m.lines[:-1] + ["output " + m.lines[-1]]
    src = "model %s {\n    input  x : f32[%s]\n    %s\n}\n" % (name, xshape, "\n    ".join(body))
    nn = os.path.join(B, name + ".nn")
    with open(nn, "w") as f:
        f.write(src)
    xf = rng.uniform(-1.0, 1.0, (16, C, H, W))
    P = calibrate(m, rng, xf)
    t = list(m.tensors)
    for k, (s, z) in P.items():
        t += [(k + ".scale", np.array([s], np.float32)), (k + ".zero_point", np.array([z], np.int32))]
    q = os.path.join(B, name + ".safetensors")
    R.write_st(q, t)
    d = os.path.join(B, name + ".gen")
    r = subprocess.run([NNC, nn, "--inference", "--weights", q, "--quantize", "int8", "-o", d],
                       capture_output=True, text=True)
    if r.returncode != 0:
        clean = (r.returncode == 1 and "error" in r.stderr and "internal" not in r.stderr and
                 (nn in r.stderr or q in r.stderr))
        R.check(clean, "%s: nnc rejects it with a clear error: %s" % (name, r.stderr.strip().splitlines()[-1:]))
        return
    xq = rng.integers(-128, 128, (3, C, H, W)).astype(np.int8)
    want = np.array([reference(m, dict(P), s) for s in xq])
    what = " ".join(ln.split("->", 1)[-1].strip() for ln in m.lines)
    bad = 0
    vs = VARIANTS if not ROTATE else [VARIANTS[(i * ROTATE + j) % len(VARIANTS)] for j in range(ROTATE)]
    for vname, cc, flags in vs:
        exe = os.path.join(B, name + "." + vname.replace(" ", ""))
        ok, err = c_build(cc, flags, name, d, exe)
        if not ok:
            R.check(False, "%s [%s] compiles: %s" % (name, vname, err.strip()[:2000]))
            bad += 1
            continue
        xq.tofile(os.path.join(B, "in.bin"))
        rr = subprocess.run([exe, "int8", os.path.join(B, "in.bin"), os.path.join(B, "out.bin")],
                            capture_output=True, text=True, timeout=120)
        got = np.fromfile(os.path.join(B, "out.bin"), np.int8) if rr.returncode == 0 else None
        ok = got is not None and got.size == want.size and np.array_equal(got.reshape(want.shape), want)
        if not ok:
            detail = ("exit %d %s" % (rr.returncode, rr.stderr.strip()[:1500]) if got is None else
                      "%d of %d outputs differ" % (int(np.sum(got.reshape(want.shape) != want)) if got.size == want.size
                                                    else -1, want.size))
            R.check(False, "%s [%s] (%s): %s" % (name, vname, what, detail))
            bad += 1
    # one line for the variants that passed: hundreds of cases stay readable
    if not bad:
        R.check(True, "%s (%s, input %s): exact in %s" % (name, what, xshape, ", ".join(v[0] for v in vs)))
    if MCU_EVERY and i % MCU_EVERY == 0:
        R.mcu_check(name, xq, want)


def main():
    os.makedirs(B, exist_ok=True)
    rng = np.random.default_rng(SEED)
    for i in range(NCASES):
        one_case(i, rng)
    print("tests/quant/sweep.py: %d cases, seed %d: %s" % (NCASES, SEED,
                                                           "all passed" if not R.fails else "%d FAILED" % R.fails))
    sys.exit(1 if R.fails else 0)


if __name__ == "__main__":
    main()
