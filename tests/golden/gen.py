#!/usr/bin/python3
"""gen.py: regenerates the PyTorch golden files of tests/golden/.

Every case is a small model written twice: once in the .nn language (what
nnc compiles) and once with torch.nn, its modules named so that the
state_dict keys are the parameter names nnc gives (spec section 4).  For
each case this writes tests/golden/CASE/:

  model.nn           the nnc model
  init.safetensors   PyTorch's default initialisation after torch.manual_seed
  x.npy              float32 inputs [N, per-sample shape] (Fashion-MNIST
                     images for the image models, random numbers otherwise)
  y.npy              int32 labels [N] or float32 targets [N, ...]
  out.npy            the eval-mode forward output of the model's `output`
                     value (the loss's first argument unless the .nn has an
                     `output` statement) on all of x, from the init weights
  after.safetensors  the parameters after `steps` optimizer steps of batch
                     size B over x in file order (step k takes samples
                     k*B .. k*B+B-1), mean reduction, the torch.optim
                     optimizer built with exactly the .nn hyperparameters
  meta.json          B, the step count and what the case covers

The reference numbers are computed in float64 from the float32 weights and
data (so the files carry no PyTorch rounding, only the final rounding to
float32); the same computation in float32 is run as well and its distance
to the float64 result, under the metric of compare.c, is printed as the
case's conditioning margin.  A case whose float32 run is not well inside
the tolerances of tests/run_golden.sh is rejected: the test would then be
measuring rounding, not correctness.

Needs torch (Debian's python3-torch, 1.13) and numpy; run it by hand:
    /usr/bin/python3 tests/golden/gen.py [CASE ...]
CI does not run it: the committed files are the truth.
"""

import gzip
import json
import os
import struct
import sys
import warnings

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
FASHION = "/usr/share/datasets/fashion-mnist"

# Tolerances of tests/run_golden.sh (relative to |b| + rms(b), compare.c).
RTOL_PREDICT = 1e-5
RTOL_TRAIN = 1e-4
# A case is accepted only if float32 PyTorch stays within this fraction of
# the tolerances of the float64 reference.  Adam, RMSprop and the like
# divide a gradient by its own running magnitude, so an element whose
# gradient is a nearly cancelling sum over the batch carries that sum's
# relative rounding error into an absolute update of about lr (an element
# whose first gradient is 4e-8, the sum of terms totalling 1e-2, moves by
# 0.8 lr, and 2% more or less of that under another summation order).
# fp32 LeNet with adam over Fashion-MNIST samples 600..623 is off by 3e-4
# that way, more than RTOL_TRAIN; samples 500..523 by 5e-6.  Cases are
# chosen (data, hyperparameters) to stay well inside the tolerance.
MARGIN = 0.2
# Every mutant of a case must miss the reference by this many tolerances.
SENSITIVITY = 10


# ---------------------------------------------------------------------------
# File formats (no safetensors package: the format is small)
# ---------------------------------------------------------------------------

_ST_DTYPES = {np.dtype("<f4"): "F32", np.dtype("<f8"): "F64",
              np.dtype("<i8"): "I64", np.dtype("<i4"): "I32",
              np.dtype("u1"): "U8"}
_ST_NUMPY = {v: k for k, v in _ST_DTYPES.items()}


def write_safetensors(path, tensors):
    """tensors: ordered {name: numpy array}.  8-byte little-endian header
    length, JSON header padded with spaces to a multiple of 8, data."""
    header = {}
    blobs = []
    offset = 0
    for name, arr in tensors.items():
        arr = np.ascontiguousarray(arr)
        arr = arr.astype(arr.dtype.newbyteorder("<"), copy=False)
        raw = arr.tobytes()
        header[name] = {"dtype": _ST_DTYPES[arr.dtype],
                        "shape": list(arr.shape),
                        "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    header["__metadata__"] = {"format": "pt"}
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for raw in blobs:
            f.write(raw)


def read_safetensors(path):
    """Returns ({name: numpy array}, metadata) in header order."""
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n].decode("utf-8"))
    meta = header.pop("__metadata__", {})
    base = 8 + n
    out = {}
    for name, info in header.items():
        b, e = info["data_offsets"]
        dt = _ST_NUMPY[info["dtype"]]
        out[name] = np.frombuffer(data[base + b:base + e], dtype=dt).reshape(
            info["shape"]).copy()
    return out, meta


def state_to_numpy(module):
    """A module's state_dict as float32 (int64 buffers kept) numpy arrays."""
    out = {}
    for name, t in module.state_dict().items():
        t = t.detach().cpu()
        out[name] = (t.numpy().astype(np.int64) if t.dtype == torch.int64
                     else t.float().numpy())
    return out


def read_idx_gz(path):
    """An IDX file (MNIST's format), gzip-compressed, as a numpy array."""
    with gzip.open(path, "rb") as f:
        data = f.read()
    zero, dtype, rank = struct.unpack(">HBB", data[:4])
    assert zero == 0 and dtype == 0x08, path
    dims = struct.unpack(">" + "I" * rank, data[4:4 + 4 * rank])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * rank).reshape(dims)


def fashion(n, offset=0):
    """n Fashion-MNIST training images [n, 1, 28, 28] in [0, 1] and labels."""
    img = read_idx_gz(os.path.join(FASHION, "train-images-idx3-ubyte.gz"))
    lab = read_idx_gz(os.path.join(FASHION, "train-labels-idx1-ubyte.gz"))
    x = img[offset:offset + n].astype(np.float32) / np.float32(255.0)
    return x.reshape(n, 1, 28, 28), lab[offset:offset + n].astype(np.int32)


# ---------------------------------------------------------------------------
# The metric of compare.c
# ---------------------------------------------------------------------------

def worst_ratio(a, b):
    """max |a - b| / (|b| + rms(b)): the smallest rtol at which compare.c
    accepts candidate a against reference b (inf if the scale is 0 and
    they differ)."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    rms = np.sqrt(np.mean(b * b)) if b.size else 0.0
    den = np.abs(b) + rms
    diff = np.abs(a - b)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.where(diff == 0, 0.0, diff / den)
    return float(np.max(r)) if r.size else 0.0


# ---------------------------------------------------------------------------
# torch building blocks for parameterless stages
# ---------------------------------------------------------------------------

class Reshape(nn.Module):
    """nnc's reshape([d1, ...]): per-sample shape, the batch kept."""

    def __init__(self, *shape):
        super().__init__()
        self.shape = shape

    def forward(self, x):
        return x.reshape((x.shape[0],) + self.shape)


def axis(d):
    """nnc's per-sample axis d as PyTorch's dim on the batched tensor."""
    return d + 1 if d >= 0 else d


class Fn(nn.Module):
    """A parameterless stage from a function (for mutants)."""

    def __init__(self, f):
        super().__init__()
        self.f = f

    def forward(self, x):
        return self.f(x)


class PaddedConv2d(nn.Conv2d):
    """A conv2d with explicit (left, right, top, bottom) zero padding, the
    same parameters as nn.Conv2d (for mutants)."""

    def __init__(self, cin, cout, k, pad):
        super().__init__(cin, cout, k)
        self.pad = pad

    def forward(self, x):
        return super().forward(F.pad(x, self.pad))


# ---------------------------------------------------------------------------
# Wrong optimizers, for mutants: plausible misreadings of torch.optim
# ---------------------------------------------------------------------------

class FirstStepDampenedSGD(torch.optim.Optimizer):
    """SGD whose momentum buffer starts at zero, so dampening also scales
    the first gradient (torch.optim.SGD starts the buffer at the gradient)."""

    def __init__(self, params, lr, momentum, dampening, weight_decay):
        super().__init__(params, dict(lr=lr, momentum=momentum,
                                      dampening=dampening,
                                      weight_decay=weight_decay))

    @torch.no_grad()
    def step(self):
        for g in self.param_groups:
            for p in g["params"]:
                d = p.grad + g["weight_decay"] * p
                st = self.state[p]
                buf = st.setdefault("buf", torch.zeros_like(p))
                buf.mul_(g["momentum"]).add_(d, alpha=1 - g["dampening"])
                p.add_(buf, alpha=-g["lr"])


class _ManualAdam(torch.optim.Optimizer):
    """Adam written out, with two switchable misreadings."""

    correct = True
    max_after_correction = False

    def __init__(self, params, lr, betas=(0.9, 0.999), eps=1e-8,
                 weight_decay=0.0):
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps,
                                      weight_decay=weight_decay))

    @torch.no_grad()
    def step(self):
        for g in self.param_groups:
            b1, b2 = g["betas"]
            for p in g["params"]:
                d = p.grad + g["weight_decay"] * p
                st = self.state[p]
                if not st:
                    st["t"] = 0
                    st["m"] = torch.zeros_like(p)
                    st["v"] = torch.zeros_like(p)
                    st["vmax"] = torch.zeros_like(p)
                st["t"] += 1
                t = st["t"]
                st["m"].mul_(b1).add_(d, alpha=1 - b1)
                st["v"].mul_(b2).addcmul_(d, d, value=1 - b2)
                c1 = 1 - b1 ** t if self.correct else 1.0
                c2 = 1 - b2 ** t if self.correct else 1.0
                vhat = st["v"] / c2
                if self.max_after_correction:
                    st["vmax"] = torch.maximum(st["vmax"], vhat)
                    vhat = st["vmax"]
                p.add_(st["m"] / c1 / (vhat.sqrt() + g["eps"]), alpha=-g["lr"])


class NoBiasCorrectionAdam(_ManualAdam):
    correct = False


class BiasCorrectedMaxAdam(_ManualAdam):
    """amsgrad taking the max of the bias-corrected second moment (torch
    takes it of the raw one and corrects afterwards)."""
    max_after_correction = True


# ---------------------------------------------------------------------------
# The cases
# ---------------------------------------------------------------------------
#
# Each case: name, the .nn text, build() -> nn.Module whose forward returns
# (output, loss input), data(), loss(pred, y), optim(params), B, steps.
# The module's attribute names are the .nn names (section 4 of the spec).

CASES = []


def case(name, nn_text, build, data, loss, optim, batch=8, steps=3, seed=0,
         covers="", mutants=None):
    """mutants: {description: {"build"|"loss"|"optim": replacement}}, each
    a plausible bug (a hyperparameter ignored, a PyTorch convention
    missed); generate() checks that every one of them would fail the test
    by at least SENSITIVITY times its tolerance, so the case really tests
    what it claims to."""
    CASES.append(dict(name=name, nn=nn_text.strip() + "\n", build=build,
                      data=data, loss=loss, optim=optim, batch=batch,
                      steps=steps, seed=seed, covers=covers,
                      mutants=mutants or {}))


def random_data(shape, nclasses=None, target=None, n=24, seed=1):
    """Random inputs N(0, 1) and either int32 labels in 0..nclasses-1 or
    float32 targets of shape `target` (N(0, 1))."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn((n,) + tuple(shape), generator=g).numpy()
    if nclasses is not None:
        y = torch.randint(0, nclasses, (n,), generator=g).numpy().astype(np.int32)
    else:
        y = torch.randn((n,) + tuple(target), generator=g).numpy()
    return x.astype(np.float32), y


def probability_data(nin, k, n=24, seed=1):
    """Random inputs and random probability targets (a softmax of noise)."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, nin, generator=g)
    y = torch.softmax(2.0 * torch.randn(n, k, generator=g), dim=1)
    return x.numpy().astype(np.float32), y.numpy().astype(np.float32)


def ce(pred, y, **kw):
    if y.dtype in (torch.int32, torch.int64):
        y = y.long()
    return F.cross_entropy(pred, y, **kw)


class Chain(nn.Module):
    """`logits = x -> s0 -> s1 ...` plus an optional output function."""

    def __init__(self, *stages, out=None):
        super().__init__()
        self.logits = nn.Sequential(*stages)
        self._out = out

    def forward(self, x):
        z = self.logits(x)
        return (self._out(z) if self._out else z), z


# 1. MLP, relu, cross_entropy, sgd with momentum ---------------------------
case("mlp_sgd_momentum", """
# MLP: dense + relu, cross_entropy on class labels, sgd with momentum
model mlp_sgd_momentum {
    input  x : f32[20]
    target y : class[5]

    logits = x -> dense(32) -> relu -> dense(16) -> relu -> dense(5)

    loss      cross_entropy(logits, y)
    optimizer sgd(lr = 0.1, momentum = 0.9)
    train     { batch = 8 }
}
""",
     build=lambda: Chain(nn.Linear(20, 32), nn.ReLU(), nn.Linear(32, 16),
                         nn.ReLU(), nn.Linear(16, 5)),
     data=lambda: random_data([20], nclasses=5),
     loss=ce,
     optim=lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9),
     covers="dense, relu, cross_entropy(class), sgd momentum",
     mutants={"momentum ignored":
              {"optim": lambda p: torch.optim.SGD(p, lr=0.1)}})


# 2. sgd nesterov + weight decay, labelled layers --------------------------
class Labelled(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(10, 24)
        # h.0 is the labelled stage fc1: stages count whether labelled or not
        self.h = nn.Sequential(nn.Identity(), nn.Tanh(), nn.Linear(24, 12),
                               nn.ReLU())
        self.head = nn.Linear(12, 4)

    def forward(self, x):
        z = self.head(self.h(self.fc1(x)))
        return z, z


case("sgd_nesterov", """
# sgd(nesterov, weight_decay); labelled stages (fc1, head) and v.i names
model sgd_nesterov {
    input  x : f32[10]
    target y : class[4]

    h      = x -> fc1: dense(24) -> tanh -> dense(12) -> relu
    logits = h -> head: dense(4)

    loss      cross_entropy(logits, y)
    optimizer sgd(lr = 0.05, momentum = 0.9, nesterov = true,
                  weight_decay = 0.01)
}
""",
     build=Labelled,
     data=lambda: random_data([10], nclasses=4, seed=2),
     loss=ce,
     optim=lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9, nesterov=True,
                                     weight_decay=0.01),
     covers="labels, sgd nesterov + weight_decay",
     mutants={"nesterov ignored": {"optim": lambda p: torch.optim.SGD(
                  p, lr=0.05, momentum=0.9, weight_decay=0.01)},
              "weight_decay ignored": {"optim": lambda p: torch.optim.SGD(
                  p, lr=0.05, momentum=0.9, nesterov=True)}})


# 3. sgd dampening + weight decay -------------------------------------------
case("sgd_dampening", """
# sgd(momentum, dampening, weight_decay): dampening acts from the 2nd step
model sgd_dampening {
    input  x : f32[10]
    target y : class[4]

    logits = x -> dense(16) -> relu -> dense(4)

    loss      cross_entropy(logits, y)
    optimizer sgd(lr = 0.1, momentum = 0.8, dampening = 0.3,
                  weight_decay = 0.005)
}
""",
     build=lambda: Chain(nn.Linear(10, 16), nn.ReLU(), nn.Linear(16, 4)),
     data=lambda: random_data([10], nclasses=4, seed=3),
     loss=ce,
     optim=lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.8, dampening=0.3,
                                     weight_decay=0.005),
     covers="sgd dampening + weight_decay",
     mutants={"dampening ignored": {"optim": lambda p: torch.optim.SGD(
                  p, lr=0.1, momentum=0.8, weight_decay=0.005)},
              "dampening on the first step too": {"optim": lambda p:
                  FirstStepDampenedSGD(p, lr=0.1, momentum=0.8, dampening=0.3,
                                       weight_decay=0.005)},
              "weight_decay ignored": {"optim": lambda p: torch.optim.SGD(
                  p, lr=0.1, momentum=0.8, dampening=0.3)}})


# 4. plain sgd + weight decay, batch not dividing N -------------------------
case("sgd_weight_decay", """
# sgd without momentum, with weight_decay; batch 5 over 24 samples
model sgd_weight_decay {
    input  x : f32[10]
    target y : class[3]

    logits = x -> dense(12) -> relu -> dense(3)

    loss      cross_entropy(logits, y)
    optimizer sgd(lr = 0.2, weight_decay = 0.02)
    train     { batch = 5 }
}
""",
     build=lambda: Chain(nn.Linear(10, 12), nn.ReLU(), nn.Linear(12, 3)),
     data=lambda: random_data([10], nclasses=3, seed=4),
     loss=ce,
     optim=lambda p: torch.optim.SGD(p, lr=0.2, weight_decay=0.02),
     batch=5,
     covers="sgd weight_decay, batch 5",
     mutants={"weight_decay ignored":
              {"optim": lambda p: torch.optim.SGD(p, lr=0.2)}})


# 5. convolutions and pools, adam -------------------------------------------
def conv_net(same_conv):
    """same_conv() makes the 4th convolution (created in place, so that the
    initialisation draws in module order)."""
    return Chain(
        nn.Conv2d(1, 6, 3, stride=2, padding=1), nn.ReLU(),
        nn.Conv2d(6, 6, 3, dilation=2), nn.ReLU(),
        nn.Conv2d(6, 4, 3, padding=1, groups=2), nn.ReLU(),
        same_conv(), nn.ReLU(),
        nn.MaxPool2d(3, stride=2, padding=1),
        nn.AvgPool2d(2),
        nn.Flatten(),
        nn.Linear(16, 10))


case("conv_adam", """
# conv2d stride/padding, dilation, groups, padding = same with an even
# kernel, maxpool with padding, avgpool, flatten, dense; adam
model conv_adam {
    input  x : f32[1, 28, 28]
    target y : class[10]

    logits = x -> conv2d(6, kernel = 3, stride = 2, padding = 1) -> relu  # [6, 14, 14]
               -> conv2d(6, kernel = 3, dilation = 2) -> relu             # [6, 10, 10]
               -> conv2d(4, kernel = 3, padding = 1, groups = 2) -> relu  # [4, 10, 10]
               -> conv2d(4, kernel = 4, padding = same) -> relu           # [4, 10, 10]
               -> maxpool(3, stride = 2, padding = 1)                     # [4, 5, 5]
               -> avgpool(2)                                              # [4, 2, 2]
               -> flatten
               -> dense(10)

    loss      cross_entropy(logits, y)
    optimizer adam(lr = 0.01)
}
""",
     build=lambda: conv_net(lambda: nn.Conv2d(4, 4, 4, padding="same")),
     data=lambda: fashion(24),
     loss=ce,
     optim=lambda p: torch.optim.Adam(p, lr=0.01),
     covers="conv2d stride/padding/dilation/groups/same, maxpool padding, "
            "avgpool, flatten, adam",
     mutants={"padding = same with the extra row and column first":
              {"build": lambda: conv_net(
                  lambda: PaddedConv2d(4, 4, 4, (2, 1, 2, 1)))},
              "adam's bias correction ignored": {"optim": lambda p:
                  NoBiasCorrectionAdam(p, lr=0.01)}})


# 6. rectangular kernels and pools with padding -----------------------------
class Rect(nn.Module):
    def __init__(self, avgpool=None, maxpool=None):
        super().__init__()
        self.pred = nn.Sequential(
            nn.Conv2d(2, 3, (3, 2), stride=(1, 2), padding=(1, 0)),
            nn.Tanh(),
            maxpool or nn.MaxPool2d((3, 2), stride=(2, 1), padding=(1, 0)),
            avgpool or nn.AvgPool2d(3, stride=2, padding=1),
            nn.Flatten(),
            nn.Linear(18, 4))

    def forward(self, x):
        z = self.pred(x)
        return z, z


case("conv_rect_pools", """
# rectangular conv2d kernel/stride/padding; rectangular maxpool with padding;
# avgpool with padding (count_include_pad); mse + sgd
model conv_rect_pools {
    input  x : f32[2, 9, 10]
    target y : f32[4]

    pred = x -> conv2d(3, kernel = [3, 2], stride = [1, 2], padding = [1, 0])  # [3, 9, 5]
             -> tanh
             -> maxpool([3, 2], stride = [2, 1], padding = [1, 0])              # [3, 5, 4]
             -> avgpool(3, stride = 2, padding = 1)                             # [3, 3, 2]
             -> flatten
             -> dense(4)

    loss      mse(pred, y)
    optimizer sgd(lr = 0.05, momentum = 0.5)
}
""",
     build=Rect,
     data=lambda: random_data([2, 9, 10], target=[4], seed=6),
     loss=F.mse_loss,
     optim=lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.5),
     covers="rectangular conv/pools, avgpool padding, mse",
     mutants={"avgpool count_include_pad=False": {"build": lambda: Rect(
                  nn.AvgPool2d(3, stride=2, padding=1,
                               count_include_pad=False))},
              "maxpool padding as zeros, not -inf": {"build": lambda: Rect(
                  maxpool=Fn(lambda x: F.max_pool2d(
                      F.pad(x, (0, 0, 1, 1)), (3, 2), stride=(2, 1))))},
              "mse summed over outputs, mean over the batch only":
                  {"loss": lambda p, y: F.mse_loss(p, y, reduction="sum")
                   / p.shape[0]}})


# 7. sigmoid, tanh, mse ------------------------------------------------------
class SigTanh(nn.Module):
    def __init__(self):
        super().__init__()
        self.pred = nn.Sequential(nn.Linear(8, 16), nn.Sigmoid(),
                                  nn.Linear(16, 8), nn.Tanh(), nn.Linear(8, 3))

    def forward(self, x):
        z = self.pred(x)
        return z, z


case("sigmoid_tanh_mse", """
# sigmoid and tanh, mse on float targets, plain sgd
model sigmoid_tanh_mse {
    input  x : f32[8]
    target y : f32[3]

    pred = x -> dense(16) -> sigmoid -> dense(8) -> tanh -> dense(3)

    loss      mse(pred, y)
    optimizer sgd(lr = 0.1)
}
""",
     build=SigTanh,
     data=lambda: random_data([8], target=[3], seed=7),
     loss=F.mse_loss,
     optim=lambda p: torch.optim.SGD(p, lr=0.1),
     covers="sigmoid, tanh, mse, sgd")


# 8. cross_entropy with probability targets and label smoothing --------------
case("ce_prob_smoothing", """
# cross_entropy with probability targets f32[K] and label_smoothing
model ce_prob_smoothing {
    input  x : f32[12]
    target y : f32[5]

    logits = x -> dense(16) -> relu -> dense(5)

    loss      cross_entropy(logits, y, label_smoothing = 0.1)
    optimizer sgd(lr = 0.3)
}
""",
     build=lambda: Chain(nn.Linear(12, 16), nn.ReLU(), nn.Linear(16, 5)),
     data=lambda: probability_data(12, 5, seed=8),
     loss=lambda p, y: ce(p, y, label_smoothing=0.1),
     optim=lambda p: torch.optim.SGD(p, lr=0.3),
     covers="cross_entropy probability targets + label_smoothing",
     mutants={"label_smoothing ignored": {"loss": ce}})


# 9. cross_entropy with class targets and label smoothing --------------------
case("ce_class_smoothing", """
# cross_entropy with class labels and label_smoothing; rmsprop defaults
model ce_class_smoothing {
    input  x : f32[12]
    target y : class[6]

    logits = x -> dense(16) -> relu -> dense(6)

    loss      cross_entropy(logits, y, label_smoothing = 0.2)
    optimizer rmsprop(lr = 0.01)
}
""",
     build=lambda: Chain(nn.Linear(12, 16), nn.ReLU(), nn.Linear(16, 6)),
     data=lambda: random_data([12], nclasses=6, seed=9),
     loss=lambda p, y: ce(p, y, label_smoothing=0.2),
     optim=lambda p: torch.optim.RMSprop(p, lr=0.01),
     covers="cross_entropy class + label_smoothing, rmsprop defaults",
     mutants={"label_smoothing ignored": {"loss": ce}})


# 10. softmax as the output --------------------------------------------------
case("softmax_output", """
# an output statement: softmax of the logits; adam defaults
model softmax_output {
    input  x : f32[10]
    target y : class[5]

    logits = x -> dense(16) -> relu -> dense(5)
    output probs = logits -> softmax

    loss      cross_entropy(logits, y)
    optimizer adam()
}
""",
     build=lambda: Chain(nn.Linear(10, 16), nn.ReLU(), nn.Linear(16, 5),
                         out=lambda z: F.softmax(z, dim=-1)),
     data=lambda: random_data([10], nclasses=5, seed=10),
     loss=ce,
     optim=lambda p: torch.optim.Adam(p),
     covers="output softmax, adam defaults")


# 11. log_softmax as the output ----------------------------------------------
case("log_softmax_output", """
# an output statement: log_softmax of the logits; sgd
model log_softmax_output {
    input  x : f32[10]
    target y : class[5]

    logits = x -> dense(16) -> tanh -> dense(5)
    output logp = logits -> log_softmax

    loss      cross_entropy(logits, y)
    optimizer sgd(lr = 0.5)
}
""",
     build=lambda: Chain(nn.Linear(10, 16), nn.Tanh(), nn.Linear(16, 5),
                         out=lambda z: F.log_softmax(z, dim=-1)),
     data=lambda: random_data([10], nclasses=5, seed=11),
     loss=ce,
     optim=lambda p: torch.optim.SGD(p, lr=0.5),
     covers="output log_softmax")


# 12. softmax and log_softmax inside the graph -------------------------------
class SoftmaxGraph(nn.Module):
    def __init__(self, softmax_dim=0):
        super().__init__()
        self.a = nn.Sequential(nn.Linear(12, 12), Reshape(3, 4),
                               nn.Softmax(dim=axis(softmax_dim)), nn.Flatten())
        self.b = nn.Sequential(nn.Linear(12, 12), Reshape(3, 4),
                               nn.LogSoftmax(dim=axis(-1)), nn.Flatten())
        self.logits = nn.Sequential(nn.Linear(12, 5), nn.LogSoftmax(dim=-1))

    def forward(self, x):
        z = self.logits(self.a(x) * self.b(x))
        return F.softmax(z, dim=-1), z


case("softmax_graph", """
# softmax(dim = 0) and log_softmax inside the graph on a reshaped [3, 4]
# value; cross_entropy of log-probabilities; a softmax output
model softmax_graph {
    input  x : f32[12]
    target y : class[5]

    a      = x -> dense(12) -> reshape([3, 4]) -> softmax(dim = 0) -> flatten
    b      = x -> dense(12) -> reshape([3, 4]) -> log_softmax -> flatten
    logits = (a * b) -> dense(5) -> log_softmax
    output probs = logits -> softmax

    loss      cross_entropy(logits, y)
    optimizer sgd(lr = 0.5, momentum = 0.9)
}
""",
     build=SoftmaxGraph,
     data=lambda: random_data([12], nclasses=5, seed=12),
     loss=ce,
     optim=lambda p: torch.optim.SGD(p, lr=0.5, momentum=0.9),
     covers="softmax(dim=0), log_softmax in the graph, reshape, *",
     mutants={"softmax(dim = 0) taken over the last axis":
              {"build": lambda: SoftmaxGraph(softmax_dim=-1)}})


# 13. residual with +, *, concat; adamw ---------------------------------------
class Residual(nn.Module):
    def __init__(self):
        super().__init__()
        self.h = nn.Sequential(nn.Linear(12, 12), nn.ReLU())
        self.r = nn.Sequential(nn.Linear(12, 12), nn.Tanh())
        self.g = nn.Sequential(nn.Linear(12, 12), nn.Sigmoid())
        self.logits = nn.Sequential(nn.Linear(48, 4))

    def forward(self, x):
        h = self.h(x)
        s = (h + self.r(h)) * self.g(h)
        sm = s.reshape(-1, 3, 4)
        hm = h.reshape(-1, 3, 4)
        c0 = torch.cat([sm, hm], dim=axis(0)).flatten(1)     # [6, 4]
        c1 = torch.cat([sm, hm], dim=axis(-1)).flatten(1)    # [3, 8]
        z = self.logits(torch.cat([c0, c1], dim=axis(0)))
        return z, z


case("residual_adamw", """
# a residual graph: +, *, concat on axis 0 and -1 of reshaped values; adamw
model residual_adamw {
    input  x : f32[12]
    target y : class[4]

    h  = x -> dense(12) -> relu
    r  = h -> dense(12) -> tanh
    g  = h -> dense(12) -> sigmoid
    s  = (h + r) * g
    sm = s -> reshape([3, 4])
    hm = h -> reshape([3, 4])
    c0 = concat(sm, hm, axis = 0) -> flatten     # [6, 4] -> [24]
    c1 = concat(sm, hm, axis = -1) -> flatten    # [3, 8] -> [24]
    logits = concat(c0, c1) -> dense(4)

    loss      cross_entropy(logits, y)
    optimizer adamw(lr = 0.01, weight_decay = 0.1)
}
""",
     build=Residual,
     data=lambda: random_data([12], nclasses=4, seed=13),
     loss=ce,
     optim=lambda p: torch.optim.AdamW(p, lr=0.01, weight_decay=0.1),
     covers="+, *, concat axis 0/-1, reshape, fan-out, adamw",
     mutants={"adamw's decay as adam's L2 term": {"optim": lambda p:
                  torch.optim.Adam(p, lr=0.01, weight_decay=0.1)},
              "weight_decay ignored": {"optim": lambda p:
                  torch.optim.AdamW(p, lr=0.01, weight_decay=0)}})


# 14. adam with amsgrad and weight decay --------------------------------------
case("adam_amsgrad", """
# adam with amsgrad, weight_decay and non-default betas and eps; beta2 is
# low so that the second moment shrinks within 3 steps and amsgrad's max
# matters
model adam_amsgrad {
    input  x : f32[10]
    target y : class[4]

    logits = x -> dense(16) -> relu -> dense(4)

    loss      cross_entropy(logits, y)
    optimizer adam(lr = 0.01, beta1 = 0.8, beta2 = 0.5, eps = 1e-6,
                   weight_decay = 0.01, amsgrad = true)
}
""",
     build=lambda: Chain(nn.Linear(10, 16), nn.ReLU(), nn.Linear(16, 4)),
     data=lambda: random_data([10], nclasses=4, seed=14),
     loss=ce,
     optim=lambda p: torch.optim.Adam(p, lr=0.01, betas=(0.8, 0.5), eps=1e-6,
                                      weight_decay=0.01, amsgrad=True),
     covers="adam amsgrad + weight_decay + betas + eps",
     mutants={"amsgrad ignored": {"optim": lambda p: torch.optim.Adam(
                  p, lr=0.01, betas=(0.8, 0.5), eps=1e-6, weight_decay=0.01)},
              "amsgrad's max taken after bias correction": {"optim":
                  lambda p: BiasCorrectedMaxAdam(
                      p, lr=0.01, betas=(0.8, 0.5), eps=1e-6,
                      weight_decay=0.01)},
              "weight_decay ignored": {"optim": lambda p: torch.optim.Adam(
                  p, lr=0.01, betas=(0.8, 0.5), eps=1e-6, amsgrad=True)},
              "eps default": {"optim": lambda p: torch.optim.Adam(
                  p, lr=0.01, betas=(0.8, 0.5), weight_decay=0.01,
                  amsgrad=True)}})


# 15. adagrad -----------------------------------------------------------------
case("adagrad", """
# adagrad with lr_decay and weight_decay
model adagrad {
    input  x : f32[10]
    target y : class[4]

    logits = x -> dense(16) -> relu -> dense(4)

    loss      cross_entropy(logits, y)
    optimizer adagrad(lr = 0.05, lr_decay = 0.01, weight_decay = 0.001)
}
""",
     build=lambda: Chain(nn.Linear(10, 16), nn.ReLU(), nn.Linear(16, 4)),
     data=lambda: random_data([10], nclasses=4, seed=15),
     loss=ce,
     optim=lambda p: torch.optim.Adagrad(p, lr=0.05, lr_decay=0.01,
                                         weight_decay=0.001),
     covers="adagrad lr_decay + weight_decay",
     mutants={"lr_decay ignored": {"optim": lambda p: torch.optim.Adagrad(
                  p, lr=0.05, weight_decay=0.001)},
              "weight_decay ignored": {"optim": lambda p:
                  torch.optim.Adagrad(p, lr=0.05, lr_decay=0.01)}})


# 16. rmsprop centered with momentum ------------------------------------------
case("rmsprop_centered", """
# rmsprop with momentum, centered, weight_decay and a non-default alpha
model rmsprop_centered {
    input  x : f32[10]
    target y : class[4]

    logits = x -> dense(16) -> relu -> dense(4)

    loss      cross_entropy(logits, y)
    optimizer rmsprop(lr = 0.005, alpha = 0.9, momentum = 0.5,
                      centered = true, weight_decay = 0.002)
}
""",
     build=lambda: Chain(nn.Linear(10, 16), nn.ReLU(), nn.Linear(16, 4)),
     data=lambda: random_data([10], nclasses=4, seed=16),
     loss=ce,
     optim=lambda p: torch.optim.RMSprop(p, lr=0.005, alpha=0.9, momentum=0.5,
                                         centered=True, weight_decay=0.002),
     covers="rmsprop momentum + centered + weight_decay + alpha",
     mutants={"centered ignored": {"optim": lambda p: torch.optim.RMSprop(
                  p, lr=0.005, alpha=0.9, momentum=0.5, weight_decay=0.002)},
              "momentum ignored": {"optim": lambda p: torch.optim.RMSprop(
                  p, lr=0.005, alpha=0.9, centered=True,
                  weight_decay=0.002)},
              "weight_decay ignored": {"optim": lambda p:
                  torch.optim.RMSprop(p, lr=0.005, alpha=0.9, momentum=0.5,
                                      centered=True)}})


# 17. adadelta ----------------------------------------------------------------
case("adadelta", """
# adadelta with weight_decay and a non-default rho
model adadelta {
    input  x : f32[10]
    target y : class[4]

    logits = x -> dense(16) -> relu -> dense(4)

    loss      cross_entropy(logits, y)
    optimizer adadelta(lr = 1.0, rho = 0.8, weight_decay = 0.001)
}
""",
     build=lambda: Chain(nn.Linear(10, 16), nn.ReLU(), nn.Linear(16, 4)),
     data=lambda: random_data([10], nclasses=4, seed=17),
     loss=ce,
     optim=lambda p: torch.optim.Adadelta(p, lr=1.0, rho=0.8,
                                          weight_decay=0.001),
     covers="adadelta rho + weight_decay",
     mutants={"rho default": {"optim": lambda p: torch.optim.Adadelta(
                  p, lr=1.0, weight_decay=0.001)},
              "weight_decay ignored": {"optim": lambda p:
                  torch.optim.Adadelta(p, lr=1.0, rho=0.8)}})


# 18. fashion_lenet from examples/ --------------------------------------------
def _lenet_nn():
    path = os.path.join(HERE, "..", "..", "examples", "fashion_lenet.nn")
    with open(path) as f:
        return f.read()


case("fashion_lenet", _lenet_nn(),
     build=lambda: Chain(
         nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
         nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
         nn.Flatten(),
         nn.Linear(400, 120), nn.ReLU(),
         nn.Linear(120, 84), nn.ReLU(),
         nn.Linear(84, 10)),
     data=lambda: fashion(24, offset=500),   # see MARGIN
     loss=ce,
     optim=lambda p: torch.optim.Adam(p, lr=0.001),
     covers="examples/fashion_lenet.nn (LeNet-5, adam)")


# ---------------------------------------------------------------------------
# Running a case
# ---------------------------------------------------------------------------

def build_model(c):
    """The case's torch model with PyTorch's initialisation from its seed."""
    torch.manual_seed(c["seed"])
    return c["build"]()


def run(c, init, x, y, dtype):
    """Forward output on all of x (eval mode) and the parameters after the
    training steps, both as float32 numpy, computing in `dtype`."""
    m = c["build"]()
    m.load_state_dict({k: torch.from_numpy(v) for k, v in init.items()},
                      strict=True)
    m = m.to(dtype)
    xt = torch.from_numpy(x).to(dtype)
    yt = torch.from_numpy(y)
    if yt.dtype.is_floating_point:
        yt = yt.to(dtype)
    m.eval()
    with torch.no_grad():
        out = m(xt)[0].float().numpy()
    m.train()
    opt = c["optim"](m.parameters())
    B = c["batch"]
    for k in range(c["steps"]):
        opt.zero_grad()
        _, pred = m(xt[k * B:(k + 1) * B])
        loss = c["loss"](pred, yt[k * B:(k + 1) * B])
        loss.backward()
        opt.step()
    return out, state_to_numpy(m)


def generate(c):
    d = os.path.join(HERE, c["name"])
    os.makedirs(d, exist_ok=True)
    m = build_model(c)
    init = state_to_numpy(m)
    x, y = c["data"]()
    assert x.dtype == np.float32
    assert y.dtype in (np.int32, np.float32)
    n = x.shape[0]
    assert c["batch"] * c["steps"] <= n, c["name"]

    out, after = run(c, init, x, y, torch.float64)
    out32, after32 = run(c, init, x, y, torch.float32)

    # Conditioning: float32 PyTorch against the float64 reference.
    r_out = worst_ratio(out32, out)
    r_after = max(worst_ratio(after32[k], after[k]) for k in after)
    r_moved = min(worst_ratio(after[k], init[k]) for k in after)
    ok = r_out <= MARGIN * RTOL_PREDICT and r_after <= MARGIN * RTOL_TRAIN
    print("%-20s out %-12s after %-14s fp32 margin: out %.2g, after %.2g; "
          "smallest update %.2g%s" % (
              c["name"], list(out.shape), "%d tensors" % len(after), r_out,
              r_after, r_moved, "" if ok else "  ILL-CONDITIONED"))

    # Sensitivity: each mutant must fail the test by far.
    sensitivity = {}
    for what, change in c["mutants"].items():
        mc = dict(c, **change)
        mout, mafter = run(mc, init, x, y, torch.float64)
        s = max(worst_ratio(mout, out) / RTOL_PREDICT,
                max(worst_ratio(mafter[k], after[k]) for k in after)
                / RTOL_TRAIN)
        print("    mutant %-50s fails by %8.3g tolerances%s" % (
            what, s, "" if s >= SENSITIVITY else "  TOO CLOSE"))
        ok = ok and s >= SENSITIVITY
        sensitivity[what] = float("%.3g" % s)

    with open(os.path.join(d, "model.nn"), "w") as f:
        f.write(c["nn"])
    write_safetensors(os.path.join(d, "init.safetensors"), init)
    np.save(os.path.join(d, "x.npy"), x)
    np.save(os.path.join(d, "y.npy"), y)
    np.save(os.path.join(d, "out.npy"), out.astype(np.float32))
    write_safetensors(os.path.join(d, "after.safetensors"), after)
    meta = {"batch": c["batch"], "steps": c["steps"], "samples": n,
            "seed": c["seed"], "covers": c["covers"],
            "reference": "torch %s, float64 from float32 weights and data"
                         % torch.__version__,
            "fp32_margin": {"out": float("%.3g" % r_out),
                            "after": float("%.3g" % r_after)},
            "mutants_fail_by_tolerances": sensitivity}
    with open(os.path.join(d, "meta.json"), "w") as f:
        json.dump(meta, f, indent=2)
        f.write("\n")
    return ok


def main(argv):
    want = set(argv[1:])
    names = [c["name"] for c in CASES]
    unknown = want - set(names)
    if unknown:
        sys.exit("gen.py: unknown case(s): %s" % ", ".join(sorted(unknown)))
    torch.set_num_threads(1)
    # padding='same' with an even kernel: PyTorch warns that it pads a copy.
    warnings.filterwarnings("ignore", message="Using padding='same'")
    bad = [c["name"] for c in CASES
           if (not want or c["name"] in want) and not generate(c)]
    if bad:
        sys.exit("gen.py: ill-conditioned or insensitive: %s"
                 % ", ".join(bad))


if __name__ == "__main__":
    main(sys.argv)
