"""NumPy reference of nnc's int8 arithmetic (docs/quantization.md).

TensorFlow Lite's int8 scheme, written from its specification
(https://www.tensorflow.org/lite/performance/quantization_spec) and the
reference functions of tensorflow/lite/kernels/internal (QuantizeMultiplier,
MultiplyByQuantizedMultiplier) and gemmlowp's fixedpoint.h
(SaturatingRoundingDoublingHighMul, RoundingDivideByPOT).  Every function
here computes the integers nnc's compiler (compiler/passes/quantize.c) and its
generated C (compiler/emit/kernels_int8.c) compute; tests/quant/run.py checks
that they are the same bits.
"""
import math

import numpy as np

I32_MIN, I32_MAX = -(2 ** 31), 2 ** 31 - 1


def round_away(x):
    """Round half away from zero (C's round/roundf, TfLiteRound), float64."""
    x = np.asarray(x, dtype=np.float64)
    return np.sign(x) * np.floor(np.abs(x) + 0.5)


def quant_multiplier(m):
    """QuantizeMultiplier: m = q * 2^shift, q in [0.5, 1) as Q31."""
    if m <= 0:
        return 0, 0
    q, e = math.frexp(m)
    qf = int(round_away(q * 2.0 ** 31))
    if qf == 2 ** 31:
        qf //= 2
        e += 1
    if e < -31:
        e, qf = 0, 0
    return qf, e


def srdhm(a, b):
    """SaturatingRoundingDoublingHighMul on int32 arrays."""
    a = np.asarray(a, dtype=np.int64)
    b = np.asarray(b, dtype=np.int64)
    ab = a * b
    nudge = np.where(ab >= 0, 1 << 30, 1 - (1 << 30))
    t = ab + nudge
    d = np.int64(1 << 31)
    r = np.where(t >= 0, t // d, -((-t) // d))  # C's division truncates
    return np.where((a == I32_MIN) & (b == I32_MIN), I32_MAX, r).astype(np.int64)


def rdpot(x, e):
    """RoundingDivideByPOT: x / 2^e, half away from zero."""
    x = np.asarray(x, dtype=np.int64)
    e = np.asarray(e, dtype=np.int64)
    mask = (np.int64(1) << e) - 1
    rem = x & mask
    thr = (mask >> 1) + (x < 0)
    return (x >> e) + (rem > thr)


def requant(acc, mult, shift):
    """MultiplyByQuantizedMultiplier; a positive shift saturates first."""
    acc = np.asarray(acc, dtype=np.int64)
    shift = np.asarray(shift, dtype=np.int64)
    left = np.where(shift > 0, shift, 0)
    acc = np.clip(acc * (np.int64(1) << left), I32_MIN, I32_MAX)
    return rdpot(srdhm(acc, mult), np.where(shift > 0, 0, -shift))


def int8_params(lo, hi):
    """Activation scale and zero point for the range [lo, hi]."""
    lo, hi = min(float(lo), 0.0), max(float(hi), 0.0)
    s = (hi - lo) / 255.0
    if not s > 0:
        s = 1.0
    s = np.float32(s)
    z = round_away(-128.0 - lo / float(s))
    return s, int(min(max(z, -128), 127))


def quantize_input(x, scale, zp):
    """float32 to int8 as NAME_forward does (float32 division, roundf)."""
    q = round_away(np.asarray(x, np.float32) / np.float32(scale))
    return np.clip(q + zp, -128, 127).astype(np.int8)


def dequantize(q, scale, zp):
    return ((q.astype(np.int32) - zp).astype(np.float32) * np.float32(scale)).astype(np.float32)


def quant_value(x, scale, zp):
    """One float at (scale, zp), in double: the clamps of relu6/hardtanh."""
    return int(min(max(round_away(x / float(scale)) + zp, -128), 127))


def quant_layer(w, b, s_in, s_out):
    """Weights per output channel, int32 bias, multipliers and shifts."""
    w = np.asarray(w, np.float32)
    out = w.shape[0]
    w2 = w.reshape(out, -1).astype(np.float64)
    maxabs = np.abs(w2).max(axis=1)
    sw = np.where(maxabs > 0, (maxabs / 127.0).astype(np.float32), np.float32(1.0)).astype(np.float32)
    qw = np.clip(round_away(w2 / sw.astype(np.float64)[:, None]), -127, 127).astype(np.int8)
    sb = float(s_in) * sw.astype(np.float64)
    qb = np.zeros(out, np.int64) if b is None else np.clip(round_away(np.asarray(b, np.float32) / sb), I32_MIN, I32_MAX)
    mult, shift = zip(*[quant_multiplier(v / float(s_out)) for v in sb])
    return qw.reshape(w.shape), qb.astype(np.int64), np.array(mult, np.int64), np.array(shift, np.int64)


def finish(acc, mult, shift, zp, lo, hi):
    """Requantize int32 sums to int8: multiplier, zero point, clamp."""
    return np.clip(requant(acc, mult, shift) + zp, lo, hi).astype(np.int8)


def dense(x, zp_in, qw, qb, mult, shift, zp, lo=-128, hi=127):
    acc = (x.astype(np.int64) - zp_in) @ qw.astype(np.int64).T + qb
    return finish(acc, mult, shift, zp, lo, hi)


def pair(v):
    """An int or an (h, w) pair, as the language's kernel/stride/padding."""
    return (v, v) if isinstance(v, (int, np.integer)) else tuple(v)


def conv_acc(xc, w, b, stride=1, pad=0, dil=1, groups=1):
    """The sums of a conv2d: xc [C, H, W] already centered (q - zp_in, or
    floats), w [F, C/groups, KH, KW], b [F]; stride and pad ints or (h, w)
    pairs (pad also (top, bottom, left, right)); padding contributes nothing.  The dtype is xc's and w's."""
    sh, sw = pair(stride)
    # pad: (top, bottom, left, right) where they differ (padding = same of
    # an even kernel: PyTorch puts the odd one at the bottom/right)
    pt, pb, pl, pr = pad if len(pair(pad)) == 4 else (pair(pad)[0],) * 2 + (pair(pad)[1],) * 2
    C, H, W = xc.shape
    F, CG, KH, KW = w.shape
    dt = np.result_type(xc.dtype, w.dtype)
    xs = np.zeros((C, H + pt + pb, W + pl + pr), dt)
    xs[:, pt:pt + H, pl:pl + W] = xc
    OH = (H + pt + pb - dil * (KH - 1) - 1) // sh + 1
    OW = (W + pl + pr - dil * (KW - 1) - 1) // sw + 1
    FG = F // groups
    acc = np.zeros((F, OH, OW), dt)
    for f in range(F):
        g = f // FG
        for ky in range(KH):
            for kx in range(KW):
                patch = xs[g * CG:(g + 1) * CG, ky * dil:ky * dil + sh * (OH - 1) + 1:sh,
                           kx * dil:kx * dil + sw * (OW - 1) + 1:sw]
                acc[f] += np.tensordot(w[f, :, ky, kx].astype(dt), patch, axes=(0, 0))
        acc[f] += b[f]
    return acc


def conv2d(x, zp_in, qw, qb, mult, shift, zp, stride=1, pad=0, dil=1, groups=1, lo=-128, hi=127):
    """x [C, H, W] int8; padding contributes nothing (x - zp_in = 0)."""
    acc = conv_acc(x.astype(np.int64) - zp_in, qw.astype(np.int64), qb, stride, pad, dil, groups)
    return finish(acc, mult[:, None, None], shift[:, None, None], zp, lo, hi)


def maxpool(x, k, s=None, pad=0):
    s = s or k
    C, H, W = x.shape
    xp = np.full((C, H + 2 * pad, W + 2 * pad), -128, np.int8)
    xp[:, pad:pad + H, pad:pad + W] = x
    OH = (H + 2 * pad - k) // s + 1
    OW = (W + 2 * pad - k) // s + 1
    y = np.full((C, OH, OW), -128, np.int8)
    for ky in range(k):
        for kx in range(k):
            y = np.maximum(y, xp[:, ky:ky + s * (OH - 1) + 1:s, kx:kx + s * (OW - 1) + 1:s])
    return y


def softmax_q(x, s_in, zp_in, s_out, zp_out):
    """The float fallback: dequantize, softmax in float32, quantize."""
    f = dequantize(x, s_in, zp_in)
    e = np.exp(f - f.max())
    return quantize_input(e / e.sum(dtype=np.float32), s_out, zp_out)


def add(a, za, sa, b, zb, sb, zo, so, lo=-128, hi=127):
    """TFLite's int8 add: inputs << 20, scaled to 2 max(sa, sb), summed,
    scaled to the output (reference_ops::Add)."""
    twice = 2.0 * max(float(sa), float(sb))
    m1, s1 = quant_multiplier(float(sa) / twice)
    m2, s2 = quant_multiplier(float(sb) / twice)
    mo, sh = quant_multiplier(twice / (2.0 ** 20 * float(so)))
    u = requant((a.astype(np.int64) - za) * (1 << 20), m1, s1)
    v = requant((b.astype(np.int64) - zb) * (1 << 20), m2, s2)
    return np.clip(requant(u + v, mo, sh) + zo, lo, hi).astype(np.int8)


def avgpool(x, z, k, s=None, pad=0):
    """Mean of q - z over k x k windows (padding counts as 0, divisor k^2,
    PyTorch's count_include_pad), rounded half away from zero, plus z."""
    s = s or k
    C, H, W = x.shape
    xp = np.zeros((C, H + 2 * pad, W + 2 * pad), np.int64)
    xp[:, pad:pad + H, pad:pad + W] = x.astype(np.int64) - z
    OH = (H + 2 * pad - k) // s + 1
    OW = (W + 2 * pad - k) // s + 1
    acc = np.zeros((C, OH, OW), np.int64)
    for ky in range(k):
        for kx in range(k):
            acc += xp[:, ky:ky + s * (OH - 1) + 1:s, kx:kx + s * (OW - 1) + 1:s]
    return np.clip(div_away(acc, k * k) + z, -128, 127).astype(np.int8)


def global_avgpool(x, z):
    acc = (x.astype(np.int64) - z).reshape(x.shape[0], -1).sum(1)
    return np.clip(div_away(acc, x[0].size) + z, -128, 127).astype(np.int8)


def div_away(acc, n):
    """TFLite's average: (acc +- n/2) / n, C's division truncating."""
    t = np.where(acc > 0, acc + n // 2, acc - n // 2)
    return np.where(t >= 0, t // n, -((-t) // n))


def concat_requant(x, z_in, s_in, z_out, s_out):
    """One input of concat at the output's scale: m = s_in / s_out."""
    m, sh = quant_multiplier(float(s_in) / float(s_out))
    return np.clip(requant(x.astype(np.int64) - z_in, m, sh) + z_out, -128, 127).astype(np.int8)
