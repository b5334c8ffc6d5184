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
                     k*B .. k*B+B-1), the loss with the .nn's options
                     (reduction, weights, ...), the torch.optim
                     optimizer built with exactly the .nn hyperparameters
                     (and the train block's clip_grad_norm_ and per-step
                     warm-up scheduler, when given); for a case with
                     `epochs`, after that many whole epochs in file order
                     with the lr_scheduler stepped after each (with the
                     epoch's mean training loss for ReduceLROnPlateau);
                     buffers included (batchnorm's running statistics and
                     its int64 num_batches_tracked)
  meta.json          B, the step count (and epochs) and what the case
                     covers; for an operator with kinks, how many of its
                     inputs fall in each region of its formula

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

Initialisers draw from nnc's own RNG and cannot match PyTorch bit for bit;
they are checked statistically, without Python, by tests/run_init_stats.sh
over the models of tests/golden/init_cases/ (not made by this script).
"""

import gzip
import json
import os
import struct
import sys
import textwrap
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
        # not np.ascontiguousarray: it makes a 0-d array (num_batches_tracked,
        # shape [] in PyTorch's state_dict) 1-d
        arr = np.asarray(arr)
        if not arr.flags.c_contiguous:
            arr = arr.copy(order="C")
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
    if np.isnan(a).any():   # a NaN fails compare.c whatever the tolerance
        return float("inf")
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
         covers="", mutants=None, epochs=None, sched=None, probe=None,
         clip=None, step_sched=None, sched_loss=False):
    """mutants: {description: {"build"|"loss"|"optim"|...: replacement}},
    each a plausible bug (a hyperparameter ignored, a PyTorch convention
    missed); generate() checks that every one of them would fail the test
    by at least SENSITIVITY times its tolerance, so the case really tests
    what it claims to.

    epochs: train whole epochs over x in file order instead of `steps`
    steps (the last batch may be short), calling sched(optimizer).step()
    after each epoch when sched is given (torch.optim.lr_scheduler);
    meta.json then records "epochs" and run_golden.sh passes --epochs.
    probe: (model, x) -> (tensor, breakpoints): the input of the operator
    under test and the points where its formula changes; generate()
    requires every region between them to hold a few values and records
    the counts.
    clip(parameters): called between backward and the optimizer step
    (torch.nn.utils.clip_grad_norm_); step_sched(optimizer): a scheduler
    stepped after every optimizer step (warm-up); sched_loss: the epoch
    scheduler is stepped with the epoch's training loss, the mean of the
    step losses weighted by their batch sizes (ReduceLROnPlateau)."""
    CASES.append(dict(name=name, nn=nn_text.strip() + "\n", build=build,
                      data=data, loss=loss, optim=optim, batch=batch,
                      steps=steps, seed=seed, covers=covers,
                      mutants=mutants or {}, epochs=epochs, sched=sched,
                      sched_every_step=False, sched_early=False,
                      probe=probe, clip=clip, step_sched=step_sched,
                      sched_loss=sched_loss))


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


# 5b. the two convolution algorithms (compiler/passes/conv_algo.c) ------------------
def conv_direct_net(third):
    return Chain(
        nn.Conv2d(2, 4, 3, padding=1), nn.ReLU(),
        nn.Conv2d(4, 4, 3, stride=2), nn.ReLU(),
        third(), nn.ReLU(),
        nn.Conv2d(4, 4, 7),
        nn.Flatten(),
        nn.Linear(16, 3))


case("conv_direct", """
# direct convolution (stride 1), im2col (stride 2; a 7x7 kernel keeping 2
# of 8 padded columns) and direct forward and dW with im2col dx (padding 2
# beyond the 2x2 kernel's reach)
model conv_direct {
    input  x : f32[2, 12, 12]
    target y : class[3]

    logits = x -> conv2d(4, kernel = 3, padding = 1) -> relu        # [4, 12, 12]
               -> conv2d(4, kernel = 3, stride = 2) -> relu         # [4, 5, 5]
               -> conv2d(4, kernel = 2, padding = 2) -> relu        # [4, 8, 8]
               -> conv2d(4, kernel = 7)                             # [4, 2, 2]
               -> flatten -> dense(3)

    loss      cross_entropy(logits, y)
    optimizer sgd(lr = 0.1, momentum = 0.9)
}
""",
     build=lambda: conv_direct_net(lambda: nn.Conv2d(4, 4, 2, padding=2)),
     data=lambda: random_data([2, 12, 12], nclasses=3, seed=11),
     loss=ce,
     optim=lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9),
     covers="conv2d direct and im2col products side by side",
     mutants={"padding 2 as 1 on top and 3 at the bottom":
              {"build": lambda: conv_direct_net(
                  lambda: PaddedConv2d(4, 4, 2, (2, 2, 1, 3)))}})


def act_grad_net(first=nn.Sigmoid, third=nn.ReLU):
    return Chain(
        nn.Conv2d(2, 4, 3, padding=1), first(),
        nn.MaxPool2d(3, stride=2, padding=1),
        nn.Tanh(),
        nn.Conv2d(4, 4, 3, stride=2, padding=1), third(),
        nn.Conv2d(4, 4, 3, padding=1),
        nn.Flatten(),
        nn.Linear(36, 8), nn.Sigmoid(),
        nn.Linear(8, 3))


case("act_grad_fold", """
# activation backward folded into the kernel computing its dy (fuse_act_grad):
# sigmoid into max pooling with overlapping windows, tanh into an im2col
# conv2d dx, relu into a direct conv2d dx, sigmoid into a dense dx
model act_grad_fold {
    input  x : f32[2, 10, 10]
    target y : class[3]

    logits = x -> conv2d(4, kernel = 3, padding = 1) -> sigmoid         # [4, 10, 10]
               -> maxpool(3, stride = 2, padding = 1)                   # [4, 5, 5]
               -> tanh
               -> conv2d(4, kernel = 3, stride = 2, padding = 1) -> relu  # [4, 3, 3]
               -> conv2d(4, kernel = 3, padding = 1)                    # [4, 3, 3]
               -> flatten -> dense(8) -> sigmoid -> dense(3)

    loss      cross_entropy(logits, y)
    optimizer sgd(lr = 0.5, momentum = 0.9)
}
""",
     build=act_grad_net,
     data=lambda: random_data([2, 10, 10], nclasses=3, seed=12),
     loss=ce,
     optim=lambda p: torch.optim.SGD(p, lr=0.5, momentum=0.9),
     covers="activation backward through overlapping max pooling, im2col and "
            "direct conv2d dx and dense dx",
     mutants={"sigmoid's backward skipped before the pooling":
              {"build": lambda: act_grad_net(first=lambda: Fn(
                  lambda x: x + (torch.sigmoid(x) - x).detach()))},
              "relu's backward skipped before the direct conv2d":
              {"build": lambda: act_grad_net(third=lambda: Fn(
                  lambda x: x + (torch.relu(x) - x).detach()))}})


def tanh_without_backward():
    """tanh forward, identity backward: a fused kernel that skips tanh's
    backward (a mutant of the conv + pool cases)."""
    return Fn(lambda x: x + (torch.tanh(x) - x).detach())


def conv_pool_net(first=nn.Tanh):
    return Chain(
        nn.Conv2d(1, 4, 3, padding=1), first(),
        nn.MaxPool2d(3, stride=2),
        nn.Conv2d(4, 4, 3, padding=1),
        nn.MaxPool2d(2, stride=1),
        nn.Conv2d(4, 3, 3, padding=1), nn.Sigmoid(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(12, 3))


case("conv_pool_fold", """
# direct conv2d + activation + maxpool as one kernel (fuse_conv_pool): tanh
# with overlapping windows, no activation with stride 1, sigmoid
model conv_pool_fold {
    input  x : f32[1, 12, 12]
    target y : class[3]

    logits = x -> conv2d(4, kernel = 3, padding = 1) -> tanh      # [4, 12, 12]
               -> maxpool(3, stride = 2)                          # [4, 5, 5]
               -> conv2d(4, kernel = 3, padding = 1)              # [4, 5, 5]
               -> maxpool(2, stride = 1)                          # [4, 4, 4]
               -> conv2d(3, kernel = 3, padding = 1) -> sigmoid   # [3, 4, 4]
               -> maxpool(2)                                      # [3, 2, 2]
               -> flatten -> dense(3)

    loss      cross_entropy(logits, y)
    optimizer adam(lr = 0.01)
}
""",
     build=conv_pool_net,
     data=lambda: random_data([1, 12, 12], nclasses=3, seed=13),
     loss=ce,
     optim=lambda p: torch.optim.Adam(p, lr=0.01),
     covers="conv2d, activation and max pooling in one kernel: overlapping "
            "windows, stride 1, no activation, sigmoid",
     mutants={"tanh's backward skipped before the overlapping pool":
              {"build": lambda: conv_pool_net(first=tanh_without_backward)}})


def conv_oc_net(first=nn.Tanh):
    return Chain(
        nn.Conv2d(2, 32, 3, padding=1), first(),
        nn.MaxPool2d(3, stride=2),
        nn.Conv2d(32, 16, 2), nn.Sigmoid(),
        nn.MaxPool2d(2, stride=1),
        nn.Flatten(),
        nn.Linear(288, 3))


case("conv_oc", """
# direct conv2d vectorised over the filters (conv_algo's y-oc), each fused
# with its activation and max pooling: 32 filters (two vectors of 16) over
# a padded input, then 16 filters read in place; register tiles with a
# partial last column block (8 lanes) and a partial last row block (16)
model conv_oc {
    input  x : f32[2, 17, 11]
    target y : class[3]

    logits = x -> conv2d(32, kernel = 3, padding = 1) -> tanh     # [32, 17, 11]
               -> maxpool(3, stride = 2)                          # [32, 8, 5]
               -> conv2d(16, kernel = 2) -> sigmoid               # [16, 7, 4]
               -> maxpool(2, stride = 1)                          # [16, 6, 3]
               -> flatten -> dense(3)

    loss      cross_entropy(logits, y)
    optimizer adam(lr = 0.01)
}
""",
     build=conv_oc_net,
     data=lambda: random_data([2, 17, 11], nclasses=3, seed=14),
     loss=ce,
     optim=lambda p: torch.optim.Adam(p, lr=0.01),
     covers="direct convolution vectorised over the output channels, fused "
            "with tanh or sigmoid and overlapping max pooling, padded and in place",
     mutants={"tanh's backward skipped before the overlapping pool":
              {"build": lambda: conv_oc_net(first=tanh_without_backward)}})


def conv_phase_net(first=nn.Tanh):
    return Chain(
        nn.Conv2d(2, 4, 3, padding=1, groups=2), first(),
        nn.MaxPool2d((1, 2)),
        nn.Conv2d(4, 4, 3, padding=1), nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(960, 3))


case("conv_phase", """
# direct conv2d in polyphase planes (fuse_conv_pool with tiling windows):
# two groups, padding, tanh, a [1, 2] pool; then a 2 x 2 pool over the
# padded width
model conv_phase {
    input  x : f32[2, 32, 62]
    target y : class[3]

    logits = x -> conv2d(4, kernel = 3, padding = 1, groups = 2) -> tanh   # [4, 32, 62]
               -> maxpool([1, 2])                                        # [4, 32, 31]
               -> conv2d(4, kernel = 3, padding = 1) -> relu             # [4, 32, 31]
               -> maxpool(2)                                             # [4, 16, 15]
               -> flatten -> dense(3)

    loss      cross_entropy(logits, y)
    optimizer adam(lr = 0.01)
}
""",
     build=conv_phase_net,
     data=lambda: random_data([2, 32, 62], nclasses=3, seed=15),
     loss=ce,
     optim=lambda p: torch.optim.Adam(p, lr=0.01),
     covers="direct convolution computed per window tap in polyphase planes, "
            "fused with tanh and a rectangular tiling max pool, two groups",
     mutants={"tanh's backward skipped before the pool":
              {"build": lambda: conv_phase_net(first=tanh_without_backward)}})


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


# 6b. the 1-D operators (conv1d, maxpool1d, avgpool1d, global_avgpool) -------
# nnc computes them as the 2-D ones on a [C, 1, L] view (lower_1d in
# compiler/ir/lower.c); these cases hold them to nn.Conv1d, nn.MaxPool1d and
# nn.AvgPool1d, with PyTorch's weight layout [out, in/groups, k].
def conv1d_args_net(same=None, maxpool=None, avgpool=None):
    return Chain(
        nn.Conv1d(4, 6, 3, stride=2, padding=1), nn.ReLU(),
        nn.Conv1d(6, 6, 3, dilation=2, groups=2), nn.ReLU(),
        same or nn.Conv1d(6, 6, 4, padding="same", groups=6), nn.Tanh(),
        maxpool or nn.MaxPool1d(3, stride=2, padding=1),
        avgpool or nn.AvgPool1d(3, stride=2, padding=1),
        nn.Flatten(),
        nn.Linear(18, 3))


class PaddedConv1d(nn.Conv1d):
    """A depthwise conv1d with explicit (left, right) zero padding, the
    same parameters as nn.Conv1d (for mutants)."""

    def __init__(self, c, k, pad):
        super().__init__(c, c, k, groups=c)
        self.pad = pad

    def forward(self, x):
        return super().forward(F.pad(x, self.pad))


case("conv1d_args", """
# conv1d stride/padding, dilation, groups, depthwise with an even kernel and
# padding = same; overlapping maxpool1d with padding, avgpool1d with padding
# (count_include_pad); an odd length
model conv1d_args {
    input  x : f32[4, 31]
    target y : class[3]

    logits = x -> conv1d(6, kernel = 3, stride = 2, padding = 1) -> relu  # [6, 16]
               -> conv1d(6, 3, dilation = 2, groups = 2) -> relu          # [6, 12]
               -> conv1d(6, 4, padding = same, groups = 6) -> tanh        # [6, 12]
               -> maxpool1d(3, stride = 2, padding = 1)                   # [6, 6]
               -> avgpool1d(3, stride = 2, padding = 1)                   # [6, 3]
               -> flatten -> dense(3)

    loss      cross_entropy(logits, y)
    optimizer adam(lr = 0.01)
}
""",
     build=conv1d_args_net,
     data=lambda: random_data([4, 31], nclasses=3, seed=161),
     loss=ce,
     optim=lambda p: torch.optim.Adam(p, lr=0.01),
     covers="conv1d stride/padding/dilation/groups/depthwise/same, maxpool1d "
            "overlapping with padding, avgpool1d padding, adam",
     mutants={"padding = same with the extra column first":
              {"build": lambda: conv1d_args_net(
                  same=PaddedConv1d(6, 4, (2, 1)))},
              "maxpool1d padding as zeros, not -inf":
              {"build": lambda: conv1d_args_net(maxpool=Fn(
                  lambda x: F.max_pool1d(F.pad(x, (1, 1)), 3, stride=2)))},
              "avgpool1d count_include_pad=False":
              {"build": lambda: conv1d_args_net(avgpool=nn.AvgPool1d(
                  3, stride=2, padding=1, count_include_pad=False))}})


def conv1d_net(first=nn.ReLU, gap=None):
    return Chain(
        nn.Conv1d(2, 8, 5, padding=2), first(),
        nn.MaxPool1d(2),
        nn.Conv1d(8, 8, 3),
        Fn(gap or (lambda v: v.mean(2))),
        nn.Linear(8, 4))


CONV1D_NN = """
# conv1d -> relu -> maxpool1d -> conv1d -> global_avgpool ([C, L] -> [C],
# one stage) -> dense, trained with %s
model %s {
    input  x : f32[2, 40]
    target y : class[4]

    logits = x -> conv1d(8, kernel = 5, padding = 2) -> relu   # [8, 40]
               -> maxpool1d(2)                                  # [8, 20]
               -> conv1d(8, kernel = 3)                         # [8, 18]
               -> global_avgpool                                # [8]
               -> dense(4)

    loss      cross_entropy(logits, y)
    optimizer %s
}
"""

CONV1D_MUTANTS = {
    "global_avgpool sums over L": {"build": lambda: conv1d_net(
        gap=lambda v: v.sum(2))},
    "relu's backward skipped before the pool": {"build": lambda: conv1d_net(
        first=lambda: Fn(lambda x: x + (torch.relu(x) - x).detach()))}}

case("conv1d_sgd", CONV1D_NN % ("sgd", "conv1d_sgd", "sgd(lr = 0.1, momentum = 0.9)"),
     build=conv1d_net,
     data=lambda: random_data([2, 40], nclasses=4, seed=162),
     loss=ce,
     optim=lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9),
     covers="conv1d, relu, maxpool1d, global_avgpool on [C, L], sgd",
     mutants=CONV1D_MUTANTS)

case("conv1d_adam", CONV1D_NN % ("adam", "conv1d_adam", "adam(lr = 0.01)"),
     build=conv1d_net,
     data=lambda: random_data([2, 40], nclasses=4, seed=163),
     loss=ce,
     optim=lambda p: torch.optim.Adam(p, lr=0.01),
     covers="conv1d, relu, maxpool1d, global_avgpool on [C, L], adam",
     mutants=CONV1D_MUTANTS)


class Residual1d(nn.Module):
    def __init__(self, gate=nn.Tanh):
        super().__init__()
        self.h = nn.Sequential(nn.Conv1d(2, 4, 3, padding="same"), nn.ReLU())
        self.g = nn.Sequential(nn.Conv1d(4, 4, 3, padding="same", bias=False),
                               gate())
        self.logits = nn.Sequential(nn.AvgPool1d(2), nn.Flatten(),
                                    nn.Linear(28, 3))

    def forward(self, x):
        h = self.h(x)
        z = self.logits(torch.add(h, self.g(h)))
        return z, z


case("conv1d_residual", """
# a [C, L] value read twice: by a conv1d (as [C, 1, L]) and by add (as
# [C, L]); conv1d without bias; avgpool1d dropping the odd last position
model conv1d_residual {
    input  x : f32[2, 15]
    target y : class[3]

    h      = x -> conv1d(4, kernel = 3, padding = same) -> relu               # [4, 15]
    g      = h -> conv1d(4, kernel = 3, padding = same, bias = false) -> tanh  # [4, 15]
    logits = add(h, g) -> avgpool1d(2) -> flatten -> dense(3)                 # [4, 7]

    loss      cross_entropy(logits, y)
    optimizer sgd(lr = 0.2, momentum = 0.5)
}
""",
     build=Residual1d,
     data=lambda: random_data([2, 15], nclasses=3, seed=164),
     loss=ce,
     optim=lambda p: torch.optim.SGD(p, lr=0.2, momentum=0.5),
     covers="conv1d without bias, a value used as [C, L] and as conv1d's "
            "input, add on [C, L], avgpool1d with an odd length",
     mutants={"tanh's backward skipped in the residual branch":
              {"build": lambda: Residual1d(gate=lambda: Fn(
                  lambda x: x + (torch.tanh(x) - x).detach()))}})


def conv1d_seq_net(gate=nn.Tanh):
    return Pred(nn.Conv1d(3, 6, 5, padding="same"), gate(),
                nn.Conv1d(6, 2, 3, padding=1, dilation=1))


case("conv1d_seq", """
# a sequence to a sequence: the output is conv1d's [2, 20] itself (mse
# against an f32[2, 20] target), a lowered value as the model's output
model conv1d_seq {
    input  x : f32[3, 20]
    target y : f32[2, 20]

    pred = x -> conv1d(6, kernel = 5, padding = same) -> tanh   # [6, 20]
             -> conv1d(2, kernel = 3, padding = 1)               # [2, 20]

    loss      mse(pred, y)
    optimizer sgd(lr = 0.05)
}
""",
     build=conv1d_seq_net,
     data=lambda: random_data([3, 20], target=[2, 20], seed=165),
     loss=F.mse_loss,
     optim=lambda p: torch.optim.SGD(p, lr=0.05),
     covers="conv1d output as the model's output, mse on [C, L]",
     mutants={"tanh's backward skipped": {"build": lambda: conv1d_seq_net(
         gate=lambda: Fn(lambda x: x + (torch.tanh(x) - x).detach()))}})


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


# ===========================================================================
# Operators, layers, losses and schedules of spec sections 5-7
# ===========================================================================
#
# Each case isolates one operator (or one small family) so that a failure
# names it.  Activations sit between two dense layers, with the rows of the
# first scaled so that the activation's input spreads from small to large
# magnitudes: every region of its formula (both sides of every kink and
# threshold) holds values, checked by the probe and recorded in meta.json.
# Mutants include wrong gradients with right forward values (grad_stage),
# so the training test is shown to check the backward rule, not just the
# forward output.

def grad_stage(fwd, bwd):
    """A parameterless stage computing fwd(x) whose gradient is bwd(x, dy)
    (a mutant whose forward pass is right and whose backward is not)."""
    class _F(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return fwd(x)

        @staticmethod
        def backward(ctx, dy):
            (x,) = ctx.saved_tensors
            return bwd(x, dy)
    return Fn(_F.apply)


def in_float32(f):
    """f computed in float32 whatever the model's dtype (a mutant that is
    only wrong where float32 overflows)."""
    return Fn(lambda x: f(x.float()).to(x.dtype))


def spread_rows(linear, lo, hi):
    """Scales output row i of `linear` (weight and bias) so that, for N(0, 1)
    inputs, output i has a standard deviation running geometrically from
    lo to hi, small and large rows interleaved.  PyTorch's default rows
    give about sqrt(1/3) (U(-1/sqrt(fan_in), ...) weights)."""
    n = linear.out_features
    s = np.geomspace(lo, hi, n) / np.sqrt(1.0 / 3.0)
    order = np.concatenate([np.arange(0, n, 2), np.arange(1, n, 2)[::-1]])
    s = torch.from_numpy(s[np.argsort(order)].astype(np.float32))
    with torch.no_grad():
        linear.weight.mul_(s[:, None])
        linear.bias.mul_(s)


def act_net(act, lo, hi, nin=8, hidden=16, k=4):
    """logits = x -> dense(hidden) -> ACT -> dense(k), the first layer's rows
    spread over [lo, hi] standard deviations."""
    m = Chain(nn.Linear(nin, hidden), act, nn.Linear(hidden, k))
    spread_rows(m.logits[0], lo, hi)
    return m


def act_probe(points):
    """The input of the activation logits.1 of an act_net."""
    return lambda m, x: (m.logits[0](x), points)


ACT_NN = """
{what}
model {name} {{
    input  x : f32[8]
    target y : class[4]

    logits = x -> dense(16) -> {act} -> dense(4)

    loss      cross_entropy(logits, y)
    optimizer sgd(lr = {lr}, momentum = 0.5)
}}
"""


def act_case(name, act_nn, act, what, lo, hi, points, mutants, seed, lr=0.5,
             covers=None):
    """An activation between two dense layers (see act_net); mutants:
    {description: wrong stage in place of the activation}."""
    what = textwrap.fill(what, 76, initial_indent="# ",
                         subsequent_indent="# ")
    case(name, ACT_NN.format(name=name, act=act_nn, what=what, lr=lr),
         build=lambda: act_net(act(), lo, hi),
         data=lambda: random_data([8], nclasses=4, seed=seed),
         loss=ce,
         optim=lambda p: torch.optim.SGD(p, lr=lr, momentum=0.5),
         covers=covers or act_nn,
         probe=act_probe(points),
         mutants={k: {"build": (lambda f: lambda: act_net(f(), lo, hi))(f)}
                  for k, f in mutants.items()})


def where(c, a, b):
    return torch.where(c, a, b)


act_case("act_leaky_relu", "leaky_relu(negative_slope = 0.2)",
         lambda: nn.LeakyReLU(0.2),
         "leaky_relu with a non-default negative_slope", 0.3, 4, [0],
         {"negative_slope ignored (0.01)": lambda: nn.LeakyReLU(0.01),
          "gradient 0 for x < 0 (relu's)": lambda: grad_stage(
              lambda x: F.leaky_relu(x, 0.2),
              lambda x, dy: dy * (x > 0).to(dy.dtype))},
         seed=101)

act_case("act_relu6", "relu6", nn.ReLU6,
         "relu6: inputs below 0, in [0, 6] and above 6", 1, 12, [0, 6],
         {"no clamp at 6 (relu)": nn.ReLU,
          "gradient 1 above 6": lambda: grad_stage(
              F.relu6, lambda x, dy: dy * (x > 0).to(dy.dtype))},
         seed=102)

act_case("act_elu", "elu(alpha = 0.5)", lambda: nn.ELU(0.5),
         "elu with a non-default alpha", 0.3, 5, [0],
         {"alpha ignored (1)": nn.ELU,
          "gradient exp(x) for x < 0, alpha missing": lambda: grad_stage(
              lambda x: F.elu(x, 0.5),
              lambda x, dy: dy * where(x > 0, torch.ones_like(x),
                                       torch.exp(x)))},
         seed=103)

act_case("act_selu", "selu", nn.SELU,
         "selu (PyTorch's alpha and scale)", 0.3, 5, [0],
         {"scale missing (elu with selu's alpha)":
              lambda: nn.ELU(1.6732632423543772848170429916717),
          "alpha 1 (scale * elu)":
              lambda: Fn(lambda x: 1.0507009873554804934193349852946
                         * F.elu(x))},
         seed=104)

act_case("act_celu", "celu(alpha = 2)", lambda: nn.CELU(2.0),
         "celu with alpha 2: alpha * (exp(x / alpha) - 1) below 0", 0.3, 5,
         [0],
         {"celu as elu: alpha * (exp(x) - 1)": lambda: nn.ELU(2.0),
          "alpha ignored (1)": nn.CELU},
         seed=105)

act_case("act_gelu", "gelu", nn.GELU,
         "gelu, exact (erf)", 0.3, 5, [-2, 0, 2],
         {"tanh approximation": lambda: nn.GELU(approximate="tanh"),
          "gradient Phi(x) only": lambda: grad_stage(
              F.gelu, lambda x, dy: dy * 0.5 * (1 + torch.erf(
                  x / np.sqrt(2.0))))},
         seed=106)

act_case("act_gelu_tanh", "gelu(approximate = tanh)",
         lambda: nn.GELU(approximate="tanh"),
         "gelu with the tanh approximation", 0.3, 5, [-2, 0, 2],
         {"exact erf gelu": nn.GELU,
          "no cubic term": lambda: Fn(lambda x: 0.5 * x * (1 + torch.tanh(
              np.sqrt(2 / np.pi) * x)))},
         seed=107)

act_case("act_hardsigmoid", "hardsigmoid", nn.Hardsigmoid,
         "hardsigmoid: below -3, between, above 3", 0.5, 10, [-3, 3],
         {"Keras' slope: clamp(0.2 x + 0.5, 0, 1)": lambda: Fn(
              lambda x: torch.clamp(0.2 * x + 0.5, 0, 1)),
          "gradient 1/6 outside (-3, 3)": lambda: grad_stage(
              F.hardsigmoid, lambda x, dy: dy / 6)},
         seed=108)

act_case("act_logsigmoid", "logsigmoid", nn.LogSigmoid,
         "logsigmoid down to x < -100 (float32 exp overflows past 88)",
         0.5, 150, [-88, -10, 0, 10],
         {"naive log(sigmoid(x)) in float32": lambda: in_float32(
              lambda x: torch.log(torch.sigmoid(x))),
          "naive -log(1 + exp(-x)) in float32": lambda: in_float32(
              lambda x: -torch.log(1 + torch.exp(-x))),
          "gradient exp(-x) / (1 + exp(-x)) in float32": lambda: grad_stage(
              F.logsigmoid, lambda x, dy: dy * (torch.exp(-x.float()) / (
                  1 + torch.exp(-x.float()))).to(dy.dtype))},
         seed=109, lr=0.05)

act_case("act_hardtanh", "hardtanh(min_val = -0.5, max_val = 2)",
         lambda: nn.Hardtanh(-0.5, 2.0),
         "hardtanh with non-default bounds", 0.3, 6, [-0.5, 2],
         {"bounds ignored (-1, 1)": nn.Hardtanh,
          "gradient 1 outside the bounds": lambda: grad_stage(
              lambda x: F.hardtanh(x, -0.5, 2.0), lambda x, dy: dy)},
         seed=110)

act_case("act_tanhshrink", "tanhshrink", nn.Tanhshrink,
         "tanhshrink: x - tanh(x)", 0.3, 5, [-1, 1],
         {"gradient 1 - tanh(x)^2 (tanh's)": lambda: grad_stage(
              F.tanhshrink, lambda x, dy: dy * (1 - torch.tanh(x) ** 2))},
         seed=111)

act_case("act_silu", "silu", nn.SiLU,
         "silu: x * sigmoid(x)", 0.3, 6, [-2, 0, 2],
         {"gradient sigmoid(x) only": lambda: grad_stage(
              F.silu, lambda x, dy: dy * torch.sigmoid(x)),
          "hardswish": nn.Hardswish},
         seed=112)

act_case("act_mish", "mish", nn.Mish,
         "mish: x * tanh(softplus(x))", 0.3, 6, [-2, 0, 2],
         {"gradient tanh(softplus(x)) only": lambda: grad_stage(
              F.mish, lambda x, dy: dy * torch.tanh(F.softplus(x))),
          "silu": nn.SiLU},
         seed=113)

act_case("act_softplus", "softplus(beta = 2, threshold = 3)",
         lambda: nn.Softplus(2.0, 3.0),
         "softplus with beta 2 and threshold 3: the identity where "
         "beta * x > 3, i.e. x > 1.5", 0.3, 6, [0, 1.5],
         {"threshold ignored": lambda: Fn(
              lambda x: torch.log1p(torch.exp(2.0 * x)) / 2.0),
          "beta ignored (1)": lambda: nn.Softplus(1.0, 3.0),
          "threshold compared with x, not beta * x": lambda: Fn(
              lambda x: where(x > 3.0, x,
                              torch.log1p(torch.exp(2.0 * x)) / 2.0))},
         seed=114)

act_case("act_softplus_large", "softplus", nn.Softplus,
         "softplus with default beta and threshold, x up to +-150 (float32 "
         "exp overflows past 88)", 0.5, 150, [0, 20, 88],
         {"threshold ignored, log(1 + exp(x)) in float32": lambda: in_float32(
              lambda x: torch.log(1 + torch.exp(x))),
          "gradient exp(x) / (1 + exp(x)) in float32": lambda: grad_stage(
              F.softplus, lambda x, dy: dy * (torch.exp(x.float()) / (
                  1 + torch.exp(x.float()))).to(dy.dtype))},
         seed=115, lr=0.05)

act_case("act_softsign", "softsign", nn.Softsign,
         "softsign: x / (1 + |x|)", 0.3, 6, [-1, 1],
         {"gradient 1 / (1 + |x|), not squared": lambda: grad_stage(
              F.softsign, lambda x, dy: dy / (1 + x.abs())),
          "x / (1 + x^2)": lambda: Fn(lambda x: x / (1 + x * x))},
         seed=116)

act_case("act_hardshrink", "hardshrink(lambd = 1.5)",
         lambda: nn.Hardshrink(1.5),
         "hardshrink with lambd 1.5", 0.3, 6, [-1.5, 1.5],
         {"lambd ignored (0.5)": nn.Hardshrink,
          "gradient 1 inside [-lambd, lambd]": lambda: grad_stage(
              lambda x: F.hardshrink(x, 1.5), lambda x, dy: dy)},
         seed=117)

act_case("act_softshrink", "softshrink(lambd = 1.5)",
         lambda: nn.Softshrink(1.5),
         "softshrink with lambd 1.5", 0.3, 6, [-1.5, 1.5],
         {"lambd ignored (0.5)": nn.Softshrink,
          "hardshrink": lambda: nn.Hardshrink(1.5)},
         seed=118)

act_case("act_threshold", "threshold(threshold = 0.5, value = -2)",
         lambda: nn.Threshold(0.5, -2.0),
         "threshold(0.5, -2): x if x > 0.5, else -2", 0.3, 5, [0.5],
         {"value ignored (0)": lambda: nn.Threshold(0.5, 0.0),
          "threshold at 0": lambda: nn.Threshold(0.0, -2.0),
          "gradient 1 below the threshold": lambda: grad_stage(
              lambda x: F.threshold(x, 0.5, -2.0), lambda x, dy: dy)},
         seed=119)

act_case("act_hardswish", "hardswish", nn.Hardswish,
         "hardswish: below -3, between, above 3", 0.5, 10, [-3, 3],
         {"x * Keras' hard sigmoid clamp(0.2 x + 0.5, 0, 1)": lambda: Fn(
              lambda x: x * torch.clamp(0.2 * x + 0.5, 0, 1)),
          "gradient (2x + 3) / 6 above 3 too": lambda: grad_stage(
              F.hardswish, lambda x, dy: dy * where(
                  x < -3, torch.zeros_like(x), (2 * x + 3) / 6))},
         seed=120)


# step: zero gradient, on side branches so that training has gradients --------
class StepNet(nn.Module):
    def __init__(self, step=None):
        super().__init__()
        self.h = nn.Sequential(nn.Linear(10, 12))
        self.logits = nn.Sequential(nn.Linear(24, 4))
        self.step = step or (lambda v: (v >= 0).to(v.dtype))

    def forward(self, x):
        h = self.h(x)
        a = self.step(F.relu(h))      # 1 everywhere: relu's zeros are >= 0
        b = self.step(h)
        z = self.logits(torch.cat([h * a, h * b], dim=1))
        return z, z


case("act_step", """
# step (x >= 0 ? 1 : 0, zero gradient) on side branches: gates that
# multiply h, so that h still trains; the step of relu(h) is 1 everywhere,
# relu's exact zeros included
model act_step {
    input  x : f32[10]
    target y : class[4]

    h      = x -> dense(12)
    a      = h -> relu -> step
    b      = h -> step
    logits = concat(h * a, h * b) -> dense(4)

    loss      cross_entropy(logits, y)
    optimizer sgd(lr = 0.5)
}
""",
     build=StepNet,
     data=lambda: random_data([10], nclasses=4, seed=121),
     loss=ce,
     optim=lambda p: torch.optim.SGD(p, lr=0.5),
     covers="step (forward at 0, zero gradient), * and concat of gates",
     probe=lambda m, x: (m.h(x), [0]),
     mutants={"step as x > 0 (0 at 0)": {"build": lambda: StepNet(
                  lambda v: (v > 0).to(v.dtype))},
              "straight-through gradient (identity)": {"build":
                  lambda: StepNet(grad_stage(
                      lambda v: (v >= 0).to(v.dtype), lambda v, dy: dy))}})


# glu on dim 0 and the last dim of a [C, L] value ------------------------------
class GluNet(nn.Module):
    def __init__(self, glu0=None, glu1=None):
        super().__init__()
        self.h = nn.Sequential(nn.Linear(10, 24), Reshape(4, 6))
        self.logits = nn.Sequential(nn.Linear(24, 4))
        self.glu0 = glu0 or (lambda v: F.glu(v, dim=axis(0)))
        self.glu1 = glu1 or (lambda v: F.glu(v, dim=axis(-1)))

    def forward(self, x):
        h = self.h(x)
        a = self.glu0(h).flatten(1)       # [2, 6]
        b = self.glu1(h).flatten(1)       # [4, 3]
        z = self.logits(torch.cat([a, b], dim=1))
        return z, z


def swapped_glu(v, dim):
    a, b = v.chunk(2, dim=dim)
    return torch.sigmoid(a) * b


case("act_glu", """
# glu(dim = 0) and glu() (the last axis) on a [4, 6] value
model act_glu {
    input  x : f32[10]
    target y : class[4]

    h      = x -> dense(24) -> reshape([4, 6])
    a      = h -> glu(dim = 0) -> flatten     # [2, 6]
    b      = h -> glu -> flatten              # [4, 3]
    logits = concat(a, b) -> dense(4)

    loss      cross_entropy(logits, y)
    optimizer sgd(lr = 0.5, momentum = 0.5)
}
""",
     build=GluNet,
     data=lambda: random_data([10], nclasses=4, seed=122),
     loss=ce,
     optim=lambda p: torch.optim.SGD(p, lr=0.5, momentum=0.5),
     covers="glu(dim = 0) and glu(dim = -1) on [C, L]",
     mutants={"glu(dim = 0) over the last axis": {"build": lambda: GluNet(
                  glu0=lambda v: F.glu(v, dim=-1).reshape(-1, 2, 6))},
              "halves swapped: sigmoid(a) * b": {"build": lambda: GluNet(
                  glu0=lambda v: swapped_glu(v, axis(0)),
                  glu1=lambda v: swapped_glu(v, -1))}})


# prelu: one slope and one per channel, on [C, H, W] and on [C] ----------------
class ChannelLastPReLU(nn.Module):
    """prelu with slope weight[i % C] for flat per-sample index i (the
    channel taken as the fastest axis), for a mutant."""

    def __init__(self, c):
        super().__init__()
        self.weight = nn.Parameter(torch.full((c,), 0.25))

    def forward(self, x):
        n = x[0].numel()
        a = self.weight[torch.arange(n) % self.weight.numel()]
        a = a.reshape(x.shape[1:])
        return torch.where(x >= 0, x, a * x)


class SharedPReLU(nn.Module):
    """prelu with weight[0] for every channel, for a mutant."""

    def __init__(self, c):
        super().__init__()
        self.weight = nn.Parameter(torch.full((c,), 0.25))

    def forward(self, x):
        return torch.where(x >= 0, x, self.weight[0] * x)


def prelu_net(per_channel=nn.PReLU):
    m = Chain(nn.Conv2d(2, 3, 3), per_channel(3),                 # [3, 4, 4]
              nn.Conv2d(3, 4, 3), nn.PReLU(),                     # [4, 2, 2]
              nn.Flatten(), nn.Linear(16, 12), per_channel(12),   # [12]
              nn.Linear(12, 8), nn.PReLU(init=0.1),               # [8]
              nn.Linear(8, 4))
    # slopes of both signs, different per channel (the .nn's init values
    # are for fresh models; these weights come from init.safetensors)
    with torch.no_grad():
        for i in (1, 3, 6, 8):
            w = m.logits[i].weight
            w.copy_(torch.empty_like(w).uniform_(-0.6, 0.9))
    return m


case("prelu", """
# prelu with one slope and with one per channel, on [C, H, W] and on [C];
# the slopes in init.safetensors differ per channel and take both signs
model prelu {
    input  x : f32[2, 6, 6]
    target y : class[4]

    logits = x -> conv2d(3, kernel = 3) -> prelu(num_parameters = 3)  # [3, 4, 4]
               -> conv2d(4, kernel = 3) -> prelu                      # [4, 2, 2]
               -> flatten -> dense(12) -> prelu(num_parameters = 12)  # [12]
               -> dense(8) -> prelu(init = 0.1)                       # [8]
               -> dense(4)

    loss      cross_entropy(logits, y)
    optimizer sgd(lr = 0.3, momentum = 0.5)
}
""",
     build=prelu_net,
     data=lambda: random_data([2, 6, 6], nclasses=4, seed=123),
     loss=ce,
     optim=lambda p: torch.optim.SGD(p, lr=0.3, momentum=0.5),
     covers="prelu num_parameters 1 and C on [C, H, W] and [C]",
     mutants={"per-channel slope indexed by the last axis":
              {"build": lambda: prelu_net(ChannelLastPReLU)},
              "weight[0] for every channel":
              {"build": lambda: prelu_net(SharedPReLU)}})


# normalize: per-channel lists on [C, H, W], on [C, H, W] inside the graph,
# and scalars ---------------------------------------------------------------
class Normalize(nn.Module):
    """nnc's normalize(mean, std): (x - mean[c]) / std[c] along axis 0."""

    def __init__(self, mean, std, channel_last=False, times_std=False):
        super().__init__()
        self.mean = mean if np.isscalar(mean) else list(mean)
        self.std = std if np.isscalar(std) else list(std)
        self.channel_last = channel_last
        self.times_std = times_std

    def forward(self, x):
        def shaped(v):
            if np.isscalar(v):
                return v
            t = torch.tensor(v, dtype=x.dtype)
            if self.channel_last:
                n = x[0].numel()
                return t[torch.arange(n) % len(v)].reshape(x.shape[1:])
            return t.reshape((-1,) + (1,) * (x.dim() - 2))
        m, s = shaped(self.mean), shaped(self.std)
        return (x - m) * s if self.times_std else (x - m) / s


def normalize_net(**bug):
    return Chain(Normalize([0.5, -1.0, 2.0], [0.25, 2.0, 0.5], **bug),
                 nn.Conv2d(3, 4, 3), Normalize([0.1, -0.2, 0.3, 0.0],
                                               [0.5, 2.0, 1.0, 4.0], **bug),
                 nn.Tanh(), nn.Flatten(), nn.Linear(36, 8),
                 Normalize(0.5, 2.0, **bug), nn.Linear(8, 4))


def normalize_data():
    x, y = random_data([3, 5, 5], nclasses=4, seed=124)
    m = np.array([0.5, -1.0, 2.0], np.float32).reshape(1, 3, 1, 1)
    s = np.array([0.25, 2.0, 0.5], np.float32).reshape(1, 3, 1, 1)
    return (x * s + m).astype(np.float32), y


case("normalize", """
# normalize(mean, std) with per-channel lists on the input [3, 5, 5] and
# on a conv2d output [4, 3, 3] (its gradient), and with scalars on [8];
# the input's channels have the means and deviations the first undoes
model normalize {
    input  x : f32[3, 5, 5]
    target y : class[4]

    logits = x -> normalize(mean = [0.5, -1, 2], std = [0.25, 2, 0.5])
               -> conv2d(4, kernel = 3)                              # [4, 3, 3]
               -> normalize([0.1, -0.2, 0.3, 0], [0.5, 2, 1, 4])
               -> tanh -> flatten -> dense(8)
               -> normalize(0.5, 2)
               -> dense(4)

    loss      cross_entropy(logits, y)
    optimizer sgd(lr = 0.3)
}
""",
     build=normalize_net,
     data=normalize_data,
     loss=ce,
     optim=lambda p: torch.optim.SGD(p, lr=0.3),
     covers="normalize per-channel lists on [C, H, W], scalars on [C]",
     mutants={"per-channel values indexed by the last axis":
              {"build": lambda: normalize_net(channel_last=True)},
              "multiplied by std": {"build":
                                    lambda: normalize_net(times_std=True)}})


# rrelu: the mean slope in predict; lower == upper in training ---------------
class RReluNet(nn.Module):
    def __init__(self, inner=None, outer=None):
        super().__init__()
        self.logits = nn.Sequential(nn.Linear(10, 16),
                                    inner or nn.RReLU(0.2, 0.2),
                                    nn.Linear(16, 4))
        self.outer = outer or nn.RReLU(0.1, 0.4)

    def forward(self, x):
        z = self.logits(x)
        return self.outer(z), z


case("rrelu", """
# rrelu: in training with lower == upper, so the random slope is 0.2 for
# sure; as the output (predict only, never trained) with lower 0.1 and
# upper 0.4, so predict's eval mode must use the mean slope 0.25
model rrelu {
    input  x : f32[10]
    target y : class[4]

    logits = x -> dense(16) -> rrelu(lower = 0.2, upper = 0.2) -> dense(4)
    output o = logits -> rrelu(lower = 0.1, upper = 0.4)

    loss      cross_entropy(logits, y)
    optimizer sgd(lr = 0.5)
}
""",
     build=RReluNet,
     data=lambda: random_data([10], nclasses=4, seed=125),
     loss=ce,
     optim=lambda p: torch.optim.SGD(p, lr=0.5),
     covers="rrelu eval (mean slope), rrelu training with lower == upper",
     probe=lambda m, x: (m.logits(x), [0]),
     mutants={"eval slope = lower": {"build": lambda: RReluNet(
                  outer=nn.LeakyReLU(0.1))},
              "lower and upper ignored (defaults)": {"build": lambda:
                  RReluNet(inner=nn.RReLU(), outer=nn.RReLU())},
              "training slope 1/2 (lower + upper) of the defaults": {
                  "build": lambda: RReluNet(inner=nn.LeakyReLU(
                      (0.125 + 1 / 3) / 2))}})


# batchnorm on [C], [C, L], [C, H, W] ----------------------------------------
class ManualBatchNorm(nn.Module):
    """BatchNorm written out with switchable misreadings (for mutants); the
    parameters and buffers of nn.BatchNorm1d/2d, by the same names."""

    def __init__(self, c, eps, momentum, keras_momentum=False,
                 biased_running_var=False, bessel_over_batch=False,
                 normalise_unbiased=False, eval_batch_stats=False,
                 no_count=False):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(c))
        self.bias = nn.Parameter(torch.zeros(c))
        self.register_buffer("running_mean", torch.zeros(c))
        self.register_buffer("running_var", torch.ones(c))
        self.register_buffer("num_batches_tracked",
                             torch.tensor(0, dtype=torch.long))
        self.eps, self.momentum = eps, momentum
        self.keras_momentum = keras_momentum
        self.biased_running_var = biased_running_var
        self.bessel_over_batch = bessel_over_batch
        self.normalise_unbiased = normalise_unbiased
        self.eval_batch_stats = eval_batch_stats
        self.no_count = no_count

    def forward(self, x):
        shape = (1, -1) + (1,) * (x.dim() - 2)
        axes = [0] + list(range(2, x.dim()))
        n = x.numel() // x.shape[1]
        if self.training or self.eval_batch_stats:
            mean = x.mean(axes)
            var = x.var(axes, unbiased=False)
            if self.training:
                with torch.no_grad():
                    mom = (1 - self.momentum if self.keras_momentum
                           else self.momentum)
                    nb = x.shape[0] if self.bessel_over_batch else n
                    vu = var if self.biased_running_var else var * nb / (nb - 1)
                    self.running_mean.mul_(1 - mom).add_(mom * mean)
                    self.running_var.mul_(1 - mom).add_(mom * vu)
                    if not self.no_count:
                        self.num_batches_tracked += 1
            if self.normalise_unbiased:
                var = var * n / (n - 1)
        else:
            mean, var = self.running_mean, self.running_var
        return ((x - mean.view(shape)) / torch.sqrt(var.view(shape) + self.eps)
                * self.weight.view(shape) + self.bias.view(shape))


def set_bn_state(bn, mean_std, var_lo, var_hi, tracked=7):
    """Non-default affine parameters and running statistics, so that
    predict (eval mode) really uses them."""
    c = bn.weight.numel()
    with torch.no_grad():
        bn.weight.copy_(torch.empty(c).uniform_(0.5, 1.5))
        bn.bias.copy_(torch.randn(c) * 0.3)
        bn.running_mean.copy_(torch.randn(c) * mean_std)
        bn.running_var.copy_(torch.empty(c).uniform_(var_lo, var_hi))
        bn.num_batches_tracked.fill_(tracked)


def bn_mutants(make):
    """make(**bug) -> model with ManualBatchNorm(**bug) in place of the
    reference's nn.BatchNorm."""
    mut = {"momentum as Keras' (1 - momentum)": dict(keras_momentum=True),
           "running_var from the biased variance":
               dict(biased_running_var=True),
           "normalised with the unbiased variance":
               dict(normalise_unbiased=True),
           "eval mode uses batch statistics": dict(eval_batch_stats=True),
           "num_batches_tracked not counted": dict(no_count=True)}
    return {k: {"build": (lambda b: lambda: make(**b))(b)}
            for k, b in mut.items()}


def bn_dense(bn=None, **bug):
    if bn is None:
        bn = (ManualBatchNorm(12, 1e-3, 0.3, **bug) if bug else
              nn.BatchNorm1d(12, eps=1e-3, momentum=0.3))
    m = Chain(nn.Linear(10, 12), bn, nn.ReLU(), nn.Linear(12, 4))
    set_bn_state(m.logits[1], 0.3, 0.1, 0.6)
    return m


case("batchnorm_dense", """
# batchnorm on [C] (BatchNorm1d on [N, C]) with momentum 0.3 and eps 1e-3;
# init.safetensors has non-default weight, bias and running statistics
# (predict uses them); after.safetensors has running_mean, running_var
# (updated with the unbiased batch variance) and num_batches_tracked
model batchnorm_dense {
    input  x : f32[10]
    target y : class[4]

    logits = x -> dense(12) -> batchnorm(momentum = 0.3, eps = 0.001)
               -> relu -> dense(4)

    loss      cross_entropy(logits, y)
    optimizer sgd(lr = 0.2, momentum = 0.5)
}
""",
     build=bn_dense,
     data=lambda: random_data([10], nclasses=4, seed=126),
     loss=ce,
     optim=lambda p: torch.optim.SGD(p, lr=0.2, momentum=0.5),
     covers="batchnorm [C]: momentum, eps, running stats, eval mode",
     mutants=dict(bn_mutants(lambda **b: bn_dense(**b)),
                  **{"eps default (1e-5)": {"build": lambda: bn_dense(
                      bn=nn.BatchNorm1d(12, momentum=0.3))}}))


def bn_seq(bn=None, **bug):
    if bn is None:
        bn = (ManualBatchNorm(4, 1e-2, 0.2, **bug) if bug else
              nn.BatchNorm1d(4, eps=1e-2, momentum=0.2))
    m = Chain(nn.Linear(10, 24), Reshape(4, 6), bn,
              nn.Tanh(), nn.Flatten(), nn.Linear(24, 4))
    set_bn_state(m.logits[2], 0.3, 0.1, 0.6)
    return m


case("batchnorm_seq", """
# batchnorm on [C, L] = [4, 6] (BatchNorm1d on [N, C, L]): statistics per
# channel over the batch and the 6 positions (48 values); momentum 0.2,
# eps 1e-2
model batchnorm_seq {
    input  x : f32[10]
    target y : class[4]

    logits = x -> dense(24) -> reshape([4, 6])
               -> batchnorm(momentum = 0.2, eps = 0.01)
               -> tanh -> flatten -> dense(4)

    loss      cross_entropy(logits, y)
    optimizer sgd(lr = 0.2, momentum = 0.5)
}
""",
     build=bn_seq,
     data=lambda: random_data([10], nclasses=4, seed=127),
     loss=ce,
     optim=lambda p: torch.optim.SGD(p, lr=0.2, momentum=0.5),
     covers="batchnorm [C, L]: momentum, eps, running stats, eval mode",
     mutants=dict(bn_mutants(lambda **b: bn_seq(**b)),
                  **{"Bessel's correction with N, not N * L":
                     {"build": lambda: bn_seq(bessel_over_batch=True)},
                     "eps default (1e-5)": {"build": lambda: bn_seq(
                         bn=nn.BatchNorm1d(4, momentum=0.2))}}))


def bn_conv(bn=None, **bug):
    if bn is None:
        bn = (ManualBatchNorm(3, 1e-3, 0.25, **bug) if bug else
              nn.BatchNorm2d(3, eps=1e-3, momentum=0.25))
    m = Chain(nn.Conv2d(2, 3, 3), bn, nn.ReLU(), nn.Flatten(),
              nn.Linear(48, 4))
    set_bn_state(m.logits[1], 0.3, 0.1, 0.6)
    return m


case("batchnorm_conv", """
# batchnorm on [C, H, W] = [3, 4, 4] (BatchNorm2d): statistics per channel
# over the batch and the 16 positions; momentum 0.25, eps 1e-3
model batchnorm_conv {
    input  x : f32[2, 6, 6]
    target y : class[4]

    logits = x -> conv2d(3, kernel = 3)
               -> batchnorm(momentum = 0.25, eps = 0.001)
               -> relu -> flatten -> dense(4)

    loss      cross_entropy(logits, y)
    optimizer sgd(lr = 0.2, momentum = 0.5)
}
""",
     build=bn_conv,
     data=lambda: random_data([2, 6, 6], nclasses=4, seed=128),
     loss=ce,
     optim=lambda p: torch.optim.SGD(p, lr=0.2, momentum=0.5),
     covers="batchnorm [C, H, W]: momentum, eps, running stats, eval mode",
     mutants=dict(bn_mutants(lambda **b: bn_conv(**b)),
                  **{"Bessel's correction with N, not N * H * W":
                     {"build": lambda: bn_conv(bessel_over_batch=True)},
                     "eps default (1e-5)": {"build": lambda: bn_conv(
                         bn=nn.BatchNorm2d(3, momentum=0.25))}}))


# layernorm on [D] and on [C, D] ---------------------------------------------
class ManualLayerNorm(nn.Module):
    """LayerNorm over the last dimension with misreadings (for mutants)."""

    def __init__(self, d, eps=1e-5, all_axes=False, unbiased=False):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(d))
        self.bias = nn.Parameter(torch.zeros(d))
        self.eps, self.all_axes, self.unbiased = eps, all_axes, unbiased

    def forward(self, x):
        axes = tuple(range(1, x.dim())) if self.all_axes else (-1,)
        mean = x.mean(axes, keepdim=True)
        var = x.var(axes, unbiased=self.unbiased, keepdim=True)
        return (x - mean) / torch.sqrt(var + self.eps) * self.weight + self.bias


class LayerNormNet(nn.Module):
    def __init__(self, ln1=None, ln2=None):
        super().__init__()
        self.h = nn.Sequential(nn.Linear(10, 12),
                               ln1 or nn.LayerNorm(12, eps=1e-2), nn.Tanh())
        self.logits = nn.Sequential(nn.Linear(12, 12), Reshape(3, 4),
                                    ln2 or nn.LayerNorm(4), nn.Flatten(),
                                    nn.Linear(12, 4))
        with torch.no_grad():
            for ln in (self.h[1], self.logits[2]):
                ln.weight.copy_(torch.empty_like(ln.weight).uniform_(0.5, 1.5))
                ln.bias.copy_(torch.randn_like(ln.bias) * 0.3)

    def forward(self, x):
        z = self.logits(self.h(x))
        return z, z


case("layernorm", """
# layernorm with eps 1e-2 on [12], and with the default eps on [3, 4]
# (over the last axis only, as nn.LayerNorm(4)); non-default weight and
# bias in init.safetensors
model layernorm {
    input  x : f32[10]
    target y : class[4]

    h      = x -> dense(12) -> layernorm(eps = 0.01) -> tanh
    logits = h -> dense(12) -> reshape([3, 4]) -> layernorm -> flatten
               -> dense(4)

    loss      cross_entropy(logits, y)
    optimizer sgd(lr = 0.3, momentum = 0.5)
}
""",
     build=LayerNormNet,
     data=lambda: random_data([10], nclasses=4, seed=129),
     loss=ce,
     optim=lambda p: torch.optim.SGD(p, lr=0.3, momentum=0.5),
     covers="layernorm on [D] and [C, D], eps",
     mutants={"eps default (1e-5)": {"build": lambda: LayerNormNet(
                  ln1=nn.LayerNorm(12))},
              "unbiased variance": {"build": lambda: LayerNormNet(
                  ln1=ManualLayerNorm(12, 1e-2, unbiased=True),
                  ln2=ManualLayerNorm(4, unbiased=True))},
              "[3, 4] normalised over all 12 elements": {
                  "build": lambda: LayerNormNet(
                      ln2=ManualLayerNorm(4, all_axes=True))}})


# dropout: p = 0 and p = 1 in training (deterministic), identity in predict --
class DropoutNet(nn.Module):
    def __init__(self, drop1=None, out=None):
        super().__init__()
        self.h = nn.Sequential(nn.Linear(10, 16), nn.ReLU(), nn.Dropout(0.0))
        self.z = nn.Sequential(drop1 or nn.Dropout(1.0))
        self.logits = nn.Sequential(nn.Linear(16, 4))
        self.out = out or nn.Dropout(0.5)

    def forward(self, x):
        h = self.h(x)
        z = self.logits(h + self.z(h))
        return self.out(z), z


class NoInvertDropout(nn.Module):
    """Old-style dropout: identity in training is not what it does, but
    in eval it scales by 1 - p (for a mutant of eval mode only)."""

    def __init__(self, p):
        super().__init__()
        self.p = p

    def forward(self, x):
        return x * (1 - self.p) if not self.training else x


case("dropout", """
# dropout in training with p = 0 (the identity) and p = 1 (zeros: the
# branch z adds nothing and passes no gradient), so training is
# deterministic; in predict every dropout is the identity, so logits there
# are dense(h + h), and the output dropout(0.5) passes them unchanged
model dropout {
    input  x : f32[10]
    target y : class[4]

    h      = x -> dense(16) -> relu -> dropout(p = 0)
    z      = h -> dropout(p = 1)
    logits = (h + z) -> dense(4)
    output o = logits -> dropout

    loss      cross_entropy(logits, y)
    optimizer sgd(lr = 0.5)
}
""",
     build=DropoutNet,
     data=lambda: random_data([10], nclasses=4, seed=130),
     loss=ce,
     optim=lambda p: torch.optim.SGD(p, lr=0.5),
     covers="dropout p = 0 and p = 1 in training, identity in eval",
     mutants={"dropout active in eval (p = 1 gives zeros)": {
                  "build": lambda: DropoutNet(drop1=Fn(lambda v: v * 0))},
              "eval scales by 1 - p": {"build": lambda: DropoutNet(
                  out=NoInvertDropout(0.5))},
              "p = 1 treated as p = 0 in training": {
                  "build": lambda: DropoutNet(drop1=nn.Dropout(0.0))}})


# lppool p = 2 and p = 3 ---------------------------------------------------------
class LpPoolNet(nn.Module):
    def __init__(self, pool2=None, pool3=None):
        super().__init__()
        self.c = nn.Sequential(nn.Conv2d(2, 3, 2))                  # [3, 8, 8]
        self.a = nn.Sequential(pool2 or nn.LPPool2d(2, 2), nn.Flatten())
        self.b = nn.Sequential(nn.Sigmoid(),
                               pool3 or nn.LPPool2d(3, (3, 2), (2, 3)),
                               nn.Flatten())
        self.logits = nn.Sequential(nn.Linear(48 + 27, 4))

    def forward(self, x):
        c = self.c(x)
        z = self.logits(torch.cat([self.a(c), self.b(c)], dim=1))
        return z, z


def lp_mean(p, k, s=None):
    """(mean of x^p over the window)^(1/p): the window size forgotten."""
    return Fn(lambda x: F.avg_pool2d(x.pow(p), k, s).pow(1.0 / p))


case("lppool", """
# lppool with p = 2 (L2 pooling, kernel 2) on values of both signs, and
# with p = 3 and a rectangular kernel and stride on positive values (a
# negative sum has no real cube root; PyTorch gives NaN)
model lppool {
    input  x : f32[2, 9, 9]
    target y : class[4]

    c      = x -> conv2d(3, kernel = 2)                                # [3, 8, 8]
    a      = c -> lppool(2, 2) -> flatten                              # [3, 4, 4]
    b      = c -> sigmoid -> lppool(p = 3, kernel = [3, 2], stride = [2, 3])
               -> flatten                                              # [3, 3, 3]
    logits = concat(a, b) -> dense(4)

    loss      cross_entropy(logits, y)
    optimizer sgd(lr = 0.5, momentum = 0.5)
}
""",
     build=LpPoolNet,
     data=lambda: random_data([2, 9, 9], nclasses=4, seed=131),
     loss=ce,
     optim=lambda p: torch.optim.SGD(p, lr=0.5, momentum=0.5),
     covers="lppool p = 2 and p = 3, rectangular kernel and stride",
     mutants={"window mean, not sum": {"build": lambda: LpPoolNet(
                  lp_mean(2, 2), lp_mean(3, (3, 2), (2, 3)))},
              "p ignored (2)": {"build": lambda: LpPoolNet(
                  pool3=nn.LPPool2d(2, (3, 2), (2, 3)))}})


# global_avgpool, reshape with -1, add/mul/concat by name ----------------------
class StructNet(nn.Module):
    def __init__(self, gap=None, cat_axis=1):
        super().__init__()
        self.f = nn.Sequential(nn.Conv2d(2, 4, 3, padding=1), nn.ReLU(),
                               Fn(gap or (lambda v: v.mean((2, 3)))))
        self.q = nn.Sequential(nn.Flatten(), nn.Linear(72, 4), nn.Tanh())
        self.a = nn.Sequential(nn.Linear(4, 12), Reshape(3, 4))
        self.b = nn.Sequential(nn.Linear(4, 12), Reshape(3, 4),
                               nn.Softmax(dim=axis(0)))
        self.logits = nn.Sequential(nn.Flatten(), nn.Linear(24, 4))
        self.cat_axis = cat_axis

    def forward(self, x):
        p = self.f(x)
        q = self.q(x)
        a = self.a(torch.add(p, q))
        b = self.b(torch.mul(p, q))
        z = self.logits(torch.cat([a, b], dim=axis(self.cat_axis)))
        return z, z


case("structure", """
# global_avgpool (one stage: f.2), reshape with -1, and add, mul and
# concat (axis = 1 of [3, 4] values) written as calls
model structure {
    input  x : f32[2, 6, 6]
    target y : class[4]

    f      = x -> conv2d(4, kernel = 3, padding = 1) -> relu
               -> global_avgpool                        # [4]
    q      = x -> flatten -> dense(4) -> tanh           # [4]
    a      = add(f, q) -> dense(12) -> reshape([-1, 4]) # [3, 4]
    b      = mul(f, q) -> dense(12) -> reshape([3, -1])
               -> softmax(dim = 0)                      # [3, 4]
    logits = concat(a, b, axis = 1) -> flatten -> dense(4)   # [3, 8]

    loss      cross_entropy(logits, y)
    optimizer sgd(lr = 0.5, momentum = 0.5)
}
""",
     build=StructNet,
     data=lambda: random_data([2, 6, 6], nclasses=4, seed=132),
     loss=ce,
     optim=lambda p: torch.optim.SGD(p, lr=0.5, momentum=0.5),
     covers="global_avgpool, reshape -1, add(), mul(), concat(axis = 1)",
     mutants={"global_avgpool sums": {"build": lambda: StructNet(
                  gap=lambda v: v.sum((2, 3)))},
              "concat along axis 0": {"build": lambda: StructNet(
                  cat_axis=0)}})


# losses: l1, huber, binary_cross_entropy, nll -----------------------------------
class Pred(nn.Module):
    """`NAME = x -> s0 -> s1 ...` (Chain under another name, pred by
    default)."""

    def __init__(self, *stages, name="pred"):
        super().__init__()
        self.name = name
        setattr(self, name, nn.Sequential(*stages))

    def forward(self, x):
        z = getattr(self, self.name)(x)
        return z, z


def sum_over_outputs(loss):
    """A mean over the batch only, summing each sample's elements."""
    return lambda p, y: loss(p, y, reduction="sum") / p.shape[0]


case("loss_l1", """
# l1 loss on float targets, the mean over all N * 3 elements
model loss_l1 {
    input  x : f32[8]
    target y : f32[3]

    pred = x -> dense(16) -> tanh -> dense(3)

    loss      l1(pred, y)
    optimizer sgd(lr = 0.2, momentum = 0.5)
}
""",
     build=lambda: Pred(nn.Linear(8, 16), nn.Tanh(), nn.Linear(16, 3)),
     data=lambda: random_data([8], target=[3], seed=133),
     loss=F.l1_loss,
     optim=lambda p: torch.optim.SGD(p, lr=0.2, momentum=0.5),
     covers="l1",
     mutants={"mse": {"loss": F.mse_loss},
              "summed over outputs, mean over the batch only":
                  {"loss": sum_over_outputs(F.l1_loss)}})


def huber_data():
    x, y = random_data([8], target=[3], seed=134)
    return x, (1.2 * y).astype(np.float32)


case("loss_huber", """
# huber with delta 0.7; the residuals lie on both sides of delta
model loss_huber {
    input  x : f32[8]
    target y : f32[3]

    pred = x -> dense(16) -> tanh -> dense(3)

    loss      huber(pred, y, delta = 0.7)
    optimizer sgd(lr = 0.3, momentum = 0.5)
}
""",
     build=lambda: Pred(nn.Linear(8, 16), nn.Tanh(), nn.Linear(16, 3)),
     data=huber_data,
     loss=lambda p, y: F.huber_loss(p, y, delta=0.7),
     optim=lambda p: torch.optim.SGD(p, lr=0.3, momentum=0.5),
     covers="huber(delta) with |r| < delta and > delta",
     probe=lambda m, x: (m(x)[0] - torch.from_numpy(huber_data()[1]).double(),
                         [-0.7, 0, 0.7]),
     mutants={"delta ignored (1)": {"loss": F.huber_loss},
              "smooth_l1 (huber / delta)": {"loss": lambda p, y:
                  F.smooth_l1_loss(p, y, beta=0.7)},
              "summed over outputs, mean over the batch only":
                  {"loss": sum_over_outputs(
                      lambda p, y, **k: F.huber_loss(p, y, delta=0.7, **k))}})


def bce_net():
    m = Chain(nn.Linear(8, 16), nn.Tanh(), nn.Linear(16, 6))
    spread_rows(m.logits[2], 1, 200)
    return m


def bce_data():
    g = torch.Generator().manual_seed(135)
    x = torch.randn(24, 8, generator=g)
    y = torch.rand(24, 6, generator=g)
    y[:, :2] = (y[:, :2] > 0.5).float()     # some hard 0/1 targets too
    return x.numpy().astype(np.float32), y.numpy().astype(np.float32)


def naive_bce(p, y):
    """-[t log sigmoid(z) + (1 - t) log(1 - sigmoid(z))] in float32."""
    s = torch.sigmoid(p.float())
    t = y.float()
    return -(t * torch.log(s) + (1 - t) * torch.log(1 - s)).mean().to(p.dtype)


case("loss_bce", """
# binary_cross_entropy from logits, targets in [0, 1] (probabilities and a
# few hard 0/1); the logits reach +-100, where float32 1 - sigmoid(z) is 0
model loss_bce {
    input  x : f32[8]
    target y : f32[6]

    logits = x -> dense(16) -> tanh -> dense(6)

    loss      binary_cross_entropy(logits, y)
    optimizer sgd(lr = 0.02, momentum = 0.5)
}
""",
     build=bce_net,
     data=bce_data,
     loss=F.binary_cross_entropy_with_logits,
     optim=lambda p: torch.optim.SGD(p, lr=0.02, momentum=0.5),
     covers="binary_cross_entropy with logits, soft and hard targets, "
            "large logits",
     probe=lambda m, x: (m(x)[0], [-30, 0, 30]),
     mutants={"naive log(sigmoid) formula in float32": {"loss": naive_bce},
              "targets rounded to 0/1": {"loss": lambda p, y:
                  F.binary_cross_entropy_with_logits(p, torch.round(y))},
              "summed over outputs, mean over the batch only":
                  {"loss": sum_over_outputs(
                      F.binary_cross_entropy_with_logits)}})


def nll(p, y, **k):
    return F.nll_loss(p, y.long(), **k)


case("loss_nll", """
# nll of log_softmax output (log-probabilities), class targets
model loss_nll {
    input  x : f32[10]
    target y : class[5]

    logp = x -> dense(16) -> relu -> dense(5) -> log_softmax

    loss      nll(logp, y)
    optimizer sgd(lr = 0.5)
}
""",
     build=lambda: Pred(nn.Linear(10, 16), nn.ReLU(), nn.Linear(16, 5),
                        nn.LogSoftmax(dim=-1), name="logp"),
     data=lambda: random_data([10], nclasses=5, seed=136),
     loss=nll,
     optim=lambda p: torch.optim.SGD(p, lr=0.5),
     covers="nll after log_softmax",
     mutants={"summed over the batch": {"loss": lambda p, y:
                  nll(p, y, reduction="sum")},
              "mean over all N * K log-probabilities": {"loss": lambda p, y:
                  nll(p, y) / p.shape[1]}})


# activations exactly at their kinks ------------------------------------------
# PyTorch's value and gradient at a kink are conventions (leaky_relu'(0) is
# the slope, hardswish'(-3) = -0.5 and hardswish'(3) = 1.5, elu'(0) = alpha,
# threshold(t, v) at exactly t gives v, softplus at beta * x = threshold
# takes the log branch).  They matter in practice: a conv2d with zero biases
# over an image's black background gives exact zeros.  Each branch's dense
# has zero weights and biases exactly at the kinks in init.safetensors, so
# predict and the first training step see every sample exactly there.
KINKS = [  # (branch, .nn stage, kinks, torch stage)
    ("a", "leaky_relu(negative_slope = 0.2)", [0.0],
     lambda: nn.LeakyReLU(0.2)),
    ("b", "relu6", [0.0, 6.0], nn.ReLU6),
    ("c", "elu(alpha = 0.5)", [0.0], lambda: nn.ELU(0.5)),
    ("d", "selu", [0.0], nn.SELU),
    ("e", "hardtanh(min_val = -0.5, max_val = 2)", [-0.5, 2.0],
     lambda: nn.Hardtanh(-0.5, 2.0)),
    ("f", "hardsigmoid", [-3.0, 3.0], nn.Hardsigmoid),
    ("g", "hardswish", [-3.0, 3.0], nn.Hardswish),
    ("h", "hardshrink(lambd = 1.5)", [-1.5, 1.5],
     lambda: nn.Hardshrink(1.5)),
    ("i", "softshrink(lambd = 1.5)", [-1.5, 1.5],
     lambda: nn.Softshrink(1.5)),
    ("j", "threshold(threshold = 0.5, value = -2)", [0.5],
     lambda: nn.Threshold(0.5, -2.0)),
    ("k", "softplus(beta = 2, threshold = 3)", [1.5],
     lambda: nn.Softplus(2.0, 3.0)),
    ("l", "relu", [0.0], nn.ReLU),
    ("m", "rrelu(lower = 0.2, upper = 0.2)", [0.0],
     lambda: nn.RReLU(0.2, 0.2)),
    ("n", "prelu(init = 0.3)", [0.0], lambda: nn.PReLU(init=0.3)),
]


class KinkNet(nn.Module):
    def __init__(self, **replace):
        super().__init__()
        for b, _, kinks, act in KINKS:
            lin = nn.Linear(8, len(kinks))
            with torch.no_grad():
                lin.weight.zero_()
                lin.bias.copy_(torch.tensor(kinks))
            setattr(self, b, nn.Sequential(lin, (replace.get(b) or act)()))
        width = sum(len(k) for _, _, k, _ in KINKS)
        self.logits = nn.Sequential(nn.Linear(width, 4))

    def forward(self, x):
        h = torch.cat([getattr(self, b)(x) for b, _, _, _ in KINKS], dim=1)
        z = self.logits(h)
        return z, z


class OneSidedPReLU(nn.Module):
    """prelu with the positive branch taken at 0 (x >= 0), for a mutant."""

    def __init__(self):
        super().__init__()
        self.weight = nn.Parameter(torch.full((1,), 0.3))

    def forward(self, x):
        return grad_stage(lambda v: torch.where(v >= 0, v, self.weight * v),
                          lambda v, dy: dy * torch.where(
                              v >= 0, torch.ones_like(v),
                              self.weight.detach().expand_as(v)))(x)


def deriv(fwd, d):
    """grad_stage(fwd, dy * d(x))."""
    return lambda: grad_stage(fwd, lambda x, dy: dy * d(x))



ONE = torch.ones_like
SELU_A, SELU_S = 1.6732632423543772848170429916717, \
    1.0507009873554804934193349852946
KINK_MUTANTS = {
    "leaky_relu'(0) = 1": ("a", deriv(lambda x: F.leaky_relu(x, 0.2),
        lambda x: torch.where(x >= 0, ONE(x), 0.2 * ONE(x)))),
    "relu6'(0) = relu6'(6) = 1": ("b", deriv(F.relu6,
        lambda x: ((x >= 0) & (x <= 6)).to(x.dtype))),
    "elu'(0) = 1, not alpha": ("c", deriv(lambda x: F.elu(x, 0.5),
        lambda x: torch.where(x >= 0, ONE(x), 0.5 * torch.exp(x)))),
    "selu'(0) = scale, not scale * alpha": ("d", deriv(F.selu,
        lambda x: torch.where(x >= 0, SELU_S * ONE(x),
                              SELU_S * SELU_A * torch.exp(x)))),
    "hardtanh' = 1 at the bounds": ("e", deriv(
        lambda x: F.hardtanh(x, -0.5, 2.0),
        lambda x: ((x >= -0.5) & (x <= 2)).to(x.dtype))),
    "hardsigmoid' = 1/6 at -3 and 3": ("f", deriv(F.hardsigmoid,
        lambda x: ((x >= -3) & (x <= 3)).to(x.dtype) / 6)),
    "hardswish' = 0 at -3 and 1 at 3 (one-sided)": ("g", deriv(F.hardswish,
        lambda x: torch.where(x <= -3, 0 * x, torch.where(
            x >= 3, ONE(x), (2 * x + 3) / 6)))),
    "hardshrink keeps x at |x| = lambd": ("h", lambda: Fn(
        lambda x: torch.where(x.abs() >= 1.5, x, 0 * x))),
    "softshrink' = 1 at |x| = lambd": ("i", deriv(
        lambda x: F.softshrink(x, 1.5),
        lambda x: (x.abs() >= 1.5).to(x.dtype))),
    "threshold keeps x at x = threshold": ("j", lambda: Fn(
        lambda x: torch.where(x >= 0.5, x, -2.0 * ONE(x)))),
    "softplus is x at beta * x = threshold": ("k", lambda: Fn(
        lambda x: torch.where(2 * x >= 3, x, F.softplus(x, 2.0, 1e9)))),
    "relu'(0) = 1": ("l", deriv(F.relu, lambda x: (x >= 0).to(x.dtype))),
    "rrelu'(0) = 1 in training": ("m", deriv(
        lambda x: F.leaky_relu(x, 0.2),
        lambda x: torch.where(x >= 0, ONE(x), 0.2 * ONE(x)))),
    "prelu'(0) = 1": ("n", OneSidedPReLU),
}

case("act_kinks", """
# every activation with a kink or threshold, its input exactly there: the
# dense layers a..n have zero weights and biases at the kinks in
# init.safetensors, so predict and the first step see nothing else
# (PyTorch's conventions: leaky_relu'(0) = slope, relu6'(0) = relu6'(6) = 0,
# elu'(0) = alpha, hardswish'(-3) = -0.5 and (3) = 1.5, threshold(t, v) at
# t is v, softplus at beta * x = threshold is the log branch, ...)
model act_kinks {
    input  x : f32[8]
    target y : class[4]

""" + "".join("    %s = x -> dense(%d) -> %s%s# %s\n" % (
    b, len(k), s, " " * max(1, 44 - len(s) - len(str(len(k)))),
    ", ".join("%g" % v for v in k)) for b, s, k, _ in KINKS) + """
    logits = concat(%s) -> dense(4)

    loss      cross_entropy(logits, y)
    optimizer sgd(lr = 0.5)
}
""" % ", ".join(b for b, _, _, _ in KINKS),
     build=KinkNet,
     data=lambda: random_data([8], nclasses=4, seed=140),
     loss=ce,
     optim=lambda p: torch.optim.SGD(p, lr=0.5),
     covers="values and gradients exactly at kinks and thresholds",
     mutants={k: {"build": (lambda b, f: lambda: KinkNet(**{b: f}))(b, f)}
              for k, (b, f) in KINK_MUTANTS.items()})


# learning-rate schedules, stepped once per epoch -------------------------------
SCHED_NN = """
# lr_schedule = {sched}:
# {epochs} epochs of 2 steps (16 samples, batch 8, in file order), the
# schedule stepped after each epoch as PyTorch's {torch_name}{note}
model {name} {{
    input  x : f32[10]
    target y : class[4]

    logits = x -> dense(16) -> relu -> dense(4)

    loss      cross_entropy(logits, y)
    optimizer {optim}
    train     {{ batch = 8, epochs = {epochs}, shuffle = false,
                lr_schedule = {sched} }}
}}
"""


def sched_case(name, sched_nn, torch_name, optim_nn, optim, sched, seed,
               covers, mutants=None, epochs=3, note=""):
    muts = {"schedule ignored (constant lr)": {"sched": None},
            "stepped after every optimizer step":
                {"sched_every_step": True},
            "stepped once before the first epoch too":
                {"sched_early": True}}
    muts.update(mutants or {})
    case(name, SCHED_NN.format(name=name, sched=sched_nn, epochs=epochs,
                               torch_name=torch_name, optim=optim_nn,
                               note=note),
         build=lambda: Chain(nn.Linear(10, 16), nn.ReLU(), nn.Linear(16, 4)),
         data=lambda: random_data([10], nclasses=4, n=16, seed=seed),
         loss=ce, optim=optim, epochs=epochs, sched=sched, covers=covers,
         mutants=muts)


sched_case("sched_step", "step(step_size = 2, gamma = 0.2)", "StepLR",
           "sgd(lr = 0.3, momentum = 0.5)",
           lambda p: torch.optim.SGD(p, lr=0.3, momentum=0.5),
           lambda o: torch.optim.lr_scheduler.StepLR(o, 2, gamma=0.2),
           seed=137, covers="lr_schedule step(step_size, gamma), epochs",
           mutants={"step_size ignored (1)": {"sched": lambda o:
                        torch.optim.lr_scheduler.StepLR(o, 1, gamma=0.2)}})

sched_case("sched_exponential", "exponential(gamma = 0.5)", "ExponentialLR",
           "adam(lr = 0.01)",
           lambda p: torch.optim.Adam(p, lr=0.01),
           lambda o: torch.optim.lr_scheduler.ExponentialLR(o, 0.5),
           seed=138, covers="lr_schedule exponential(gamma), adam, epochs")

def clamped_cosine(o, t_max, eta_min, lr):
    """A cosine schedule that stays at eta_min after t_max (PyTorch's
    climbs back to lr by 2 t_max), for a mutant."""
    def factor(e):
        e = min(e, t_max)
        return (eta_min + (lr - eta_min) * (1 + np.cos(np.pi * e / t_max))
                / 2) / lr
    return torch.optim.lr_scheduler.LambdaLR(o, factor)


sched_case("sched_cosine", "cosine(t_max = 2, eta_min = 0.05)",
           "CosineAnnealingLR", "sgd(lr = 0.5)",
           lambda p: torch.optim.SGD(p, lr=0.5),
           lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(
               o, 2, eta_min=0.05),
           seed=139, epochs=5,
           note=":\n# lr 0.5, 0.275, 0.05 (eta_min at t_max), then back up: "
                "0.275, 0.5",
           covers="lr_schedule cosine(t_max, eta_min) past t_max, epochs",
           mutants={"eta_min ignored (0)": {"sched": lambda o:
                        torch.optim.lr_scheduler.CosineAnnealingLR(o, 2)},
                    "t_max + 1": {"sched": lambda o:
                        torch.optim.lr_scheduler.CosineAnnealingLR(
                            o, 3, eta_min=0.05)},
                    "held at eta_min after t_max": {"sched": lambda o:
                        clamped_cosine(o, 2, 0.05, 0.5)}})


# loss options (version 2): weight, ignore_index, pos_weight, reduction ---------
def wt(w, like):
    return torch.tensor(w, dtype=like.dtype)


CE_W = [0.5, 2.0, 1.0, 3.0, 0.25, 1.5]


def ce_w(p, y, w=CE_W, **k):
    return ce(p, y, weight=wt(w, p) if w is not None else None, **k)


def kept(y, ignore):
    """The samples whose label is not ignore_index."""
    return y.long() != ignore


case("loss_ce_weight_ignore", """
# cross_entropy with class weights and ignore_index: the weighted mean
# sum_s w[y_s] nll_s / sum_s w[y_s] over the samples not labelled 2
model loss_ce_weight_ignore {
    input  x : f32[10]
    target y : class[6]

    logits = x -> dense(16) -> relu -> dense(6)

    loss      cross_entropy(logits, y, weight = [0.5, 2, 1, 3, 0.25, 1.5],
                            ignore_index = 2)
    optimizer sgd(lr = 0.5, momentum = 0.5)
}
""",
     build=lambda: Chain(nn.Linear(10, 16), nn.ReLU(), nn.Linear(16, 6)),
     data=lambda: random_data([10], nclasses=6, seed=201),
     loss=lambda p, y: ce_w(p, y, ignore_index=2),
     optim=lambda p: torch.optim.SGD(p, lr=0.5, momentum=0.5),
     covers="cross_entropy weight (weighted mean) and ignore_index",
     mutants={"weight ignored": {"loss": lambda p, y:
                  ce(p, y, ignore_index=2)},
              "ignore_index ignored": {"loss": ce_w},
              "mean over the samples, not their weights": {"loss":
                  lambda p, y: ce_w(p, y, ignore_index=2, reduction="sum")
                  / kept(y, 2).sum()},
              "ignored samples' weights in the mean": {"loss":
                  lambda p, y: ce_w(p, y, ignore_index=2, reduction="sum")
                  / wt(CE_W, p)[y.long()].sum()}})


def ce_smooth_unweighted(p, y, w, eps, ignore=-100):
    """label smoothing whose uniform part ignores the class weights."""
    lp = F.log_softmax(p, dim=1)
    nll = F.nll_loss(lp, y.long(), weight=wt(w, p), reduction="sum",
                     ignore_index=ignore)
    smooth = -(lp.sum(dim=1) * kept(y, ignore)).sum()
    return (1 - eps) * nll + eps / p.shape[1] * smooth


CE_W5 = [1.0, 0.2, 2.5, 0.7, 1.3]

case("loss_ce_weight_smoothing", """
# cross_entropy with class weights, label_smoothing and reduction = sum:
# the smoothing term is weighted too, as PyTorch 1.13 does
model loss_ce_weight_smoothing {
    input  x : f32[10]
    target y : class[5]

    logits = x -> dense(16) -> relu -> dense(5)

    loss      cross_entropy(logits, y, label_smoothing = 0.3,
                            weight = [1, 0.2, 2.5, 0.7, 1.3], reduction = sum)
    optimizer sgd(lr = 0.05, momentum = 0.5)
}
""",
     build=lambda: Chain(nn.Linear(10, 16), nn.ReLU(), nn.Linear(16, 5)),
     data=lambda: random_data([10], nclasses=5, seed=202),
     loss=lambda p, y: ce_w(p, y, CE_W5, label_smoothing=0.3,
                            reduction="sum"),
     optim=lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.5),
     covers="cross_entropy weight + label_smoothing, reduction sum",
     mutants={"smoothing term unweighted": {"loss": lambda p, y:
                  ce_smooth_unweighted(p, y, CE_W5, 0.3)},
              "mean instead of sum": {"loss": lambda p, y:
                  ce_w(p, y, CE_W5, label_smoothing=0.3)},
              "weight ignored": {"loss": lambda p, y:
                  ce(p, y, label_smoothing=0.3, reduction="sum")}})


case("loss_ce_prob_weight", """
# cross_entropy with probability targets, class weights and label
# smoothing: sum_k w_k t'_k (lse - z_k), the mean over the samples
model loss_ce_prob_weight {
    input  x : f32[12]
    target y : f32[5]

    logits = x -> dense(16) -> relu -> dense(5)

    loss      cross_entropy(logits, y, weight = [1, 0.2, 2.5, 0.7, 1.3],
                            label_smoothing = 0.1)
    optimizer sgd(lr = 0.3)
}
""",
     build=lambda: Chain(nn.Linear(12, 16), nn.ReLU(), nn.Linear(16, 5)),
     data=lambda: probability_data(12, 5, seed=203),
     loss=lambda p, y: ce_w(p, y, CE_W5, label_smoothing=0.1),
     optim=lambda p: torch.optim.SGD(p, lr=0.3),
     covers="cross_entropy probability targets + weight + label_smoothing",
     mutants={"weight ignored": {"loss": lambda p, y:
                  ce(p, y, label_smoothing=0.1)},
              "divided by the weights' sum": {"loss": lambda p, y:
                  ce_w(p, y, CE_W5, label_smoothing=0.1) * p.shape[0]
                  / (wt(CE_W5, p) * y).sum()}})


NLL_W = [2.0, 0.5, 1.0, 4.0, 0.3]


case("loss_nll_weight_ignore", """
# nll of log_softmax with class weights and ignore_index (-O2 computes it
# as one cross_entropy kernel, -O0 as log_softmax then nll)
model loss_nll_weight_ignore {
    input  x : f32[10]
    target y : class[5]

    logp = x -> dense(16) -> relu -> dense(5) -> log_softmax

    loss      nll(logp, y, weight = [2, 0.5, 1, 4, 0.3], ignore_index = 1)
    optimizer sgd(lr = 0.5)
}
""",
     build=lambda: Pred(nn.Linear(10, 16), nn.ReLU(), nn.Linear(16, 5),
                        nn.LogSoftmax(dim=-1), name="logp"),
     data=lambda: random_data([10], nclasses=5, seed=204),
     loss=lambda p, y: nll(p, y, weight=wt(NLL_W, p), ignore_index=1),
     optim=lambda p: torch.optim.SGD(p, lr=0.5),
     covers="nll weight (weighted mean) and ignore_index, fused and not",
     mutants={"weight ignored": {"loss": lambda p, y:
                  nll(p, y, ignore_index=1)},
              "ignore_index ignored": {"loss": lambda p, y:
                  nll(p, y, weight=wt(NLL_W, p))},
              "mean over the samples, not their weights": {"loss":
                  lambda p, y: nll(p, y, weight=wt(NLL_W, p), ignore_index=1,
                                   reduction="sum") / kept(y, 1).sum()}})


def pointwise_sum_case(name, loss_nn, loss, seed, lr):
    case(name, """
# %s with reduction = sum: summed over the batch and the outputs
model %s {
    input  x : f32[8]
    target y : f32[3]

    pred = x -> dense(16) -> tanh -> dense(3)

    loss      %s
    optimizer sgd(lr = %g, momentum = 0.5)
}
""" % (loss_nn.split("(")[0], name, loss_nn, lr),
         build=lambda: Pred(nn.Linear(8, 16), nn.Tanh(), nn.Linear(16, 3)),
         data=lambda: huber_data() if seed == 134 else
         random_data([8], target=[3], seed=seed),
         loss=lambda p, y: loss(p, y, reduction="sum"),
         optim=lambda p: torch.optim.SGD(p, lr=lr, momentum=0.5),
         covers=loss_nn.split("(")[0] + " reduction sum",
         mutants={"mean instead of sum": {"loss": loss},
                  "mean over the batch only": {"loss":
                      sum_over_outputs(loss)}})


pointwise_sum_case("loss_mse_sum", "mse(pred, y, reduction = sum)",
                   F.mse_loss, 205, 0.005)
pointwise_sum_case("loss_l1_sum", "l1(pred, y, reduction = sum)",
                   F.l1_loss, 206, 0.01)
pointwise_sum_case("loss_huber_sum",
                   "huber(pred, y, delta = 0.7, reduction = sum)",
                   lambda p, y, **k: F.huber_loss(p, y, delta=0.7, **k),
                   134, 0.01)


POS_W = [3.0, 0.5, 1.0, 2.0, 0.25, 5.0]


def bce_pw(p, y, pw=POS_W, **k):
    return F.binary_cross_entropy_with_logits(
        p, y, pos_weight=wt(pw, p) if pw is not None else None, **k)


case("loss_bce_pos_weight", """
# binary_cross_entropy from logits with a pos_weight per output
model loss_bce_pos_weight {
    input  x : f32[8]
    target y : f32[6]

    logits = x -> dense(16) -> tanh -> dense(6)

    loss      binary_cross_entropy(logits, y,
                                   pos_weight = [3, 0.5, 1, 2, 0.25, 5])
    optimizer sgd(lr = 0.02, momentum = 0.5)
}
""",
     build=bce_net,
     data=bce_data,
     loss=bce_pw,
     optim=lambda p: torch.optim.SGD(p, lr=0.02, momentum=0.5),
     covers="binary_cross_entropy pos_weight per output, large logits",
     mutants={"pos_weight ignored": {"loss": lambda p, y: bce_pw(p, y, None)},
              "pos_weight reversed": {"loss": lambda p, y:
                  bce_pw(p, y, POS_W[::-1])},
              "pos_weight on the negatives": {"loss": lambda p, y:
                  F.binary_cross_entropy_with_logits(
                      p, y, weight=(wt(POS_W, p) - 1) * (1 - y) + 1)}})


case("loss_bce_pos_weight_sum", """
# binary_cross_entropy with one pos_weight for every output, reduction = sum
model loss_bce_pos_weight_sum {
    input  x : f32[8]
    target y : f32[6]

    logits = x -> dense(16) -> tanh -> dense(6)

    loss      binary_cross_entropy(logits, y, pos_weight = 3, reduction = sum)
    optimizer sgd(lr = 0.001, momentum = 0.5)
}
""",
     build=bce_net,
     data=bce_data,
     loss=lambda p, y: bce_pw(p, y, [3.0], reduction="sum"),
     optim=lambda p: torch.optim.SGD(p, lr=0.001, momentum=0.5),
     covers="binary_cross_entropy scalar pos_weight, reduction sum",
     mutants={"pos_weight ignored": {"loss": lambda p, y:
                  bce_pw(p, y, None, reduction="sum")},
              "mean instead of sum": {"loss": lambda p, y:
                  bce_pw(p, y, [3.0])}})


# training options (version 2): clip_grad_norm, warmup, plateau ---------------
def clip_each(max_norm):
    """Each parameter's gradient clipped on its own, for a mutant."""
    def f(params):
        for q in params:
            torch.nn.utils.clip_grad_norm_([q], max_norm)
    return f


case("train_clip", """
# clip_grad_norm = 0.5: the global L2 norm of all gradients is clipped
# before each step (torch.nn.utils.clip_grad_norm_); every step clips
model train_clip {
    input  x : f32[10]
    target y : class[4]

    logits = x -> dense(16) -> relu -> dense(4)

    loss      cross_entropy(logits, y)
    optimizer sgd(lr = 0.5, momentum = 0.5)
    train     { batch = 8, clip_grad_norm = 0.5 }
}
""",
     build=lambda: Chain(nn.Linear(10, 16), nn.ReLU(), nn.Linear(16, 4)),
     data=lambda: random_data([10], nclasses=4, seed=207),
     loss=ce,
     optim=lambda p: torch.optim.SGD(p, lr=0.5, momentum=0.5),
     clip=lambda ps: torch.nn.utils.clip_grad_norm_(ps, 0.5),
     covers="clip_grad_norm (global norm, norm_type 2)",
     mutants={"no clipping": {"clip": None},
              "each parameter clipped on its own": {"clip": clip_each(0.5)},
              "clipped to 1": {"clip": lambda ps:
                  torch.nn.utils.clip_grad_norm_(ps, 1.0)}})


def warmup(n, shift=1):
    """LambdaLR whose step s = k + 1 (1-based) uses lr min(1, s / n)."""
    return lambda o: torch.optim.lr_scheduler.LambdaLR(
        o, lambda k: min(1.0, (k + shift) / n))


case("train_warmup", """
# warmup = 4: step s (1-based) uses lr * min(1, s / 4), PyTorch's
# LambdaLR(lambda k: min(1, (k + 1) / 4)) stepped after every step
model train_warmup {
    input  x : f32[10]
    target y : class[4]

    logits = x -> dense(16) -> relu -> dense(4)

    loss      cross_entropy(logits, y)
    optimizer adam(lr = 0.05)
    train     { batch = 8, warmup = 4 }
}
""",
     build=lambda: Chain(nn.Linear(10, 16), nn.ReLU(), nn.Linear(16, 4)),
     data=lambda: random_data([10], nclasses=4, n=48, seed=208),
     loss=ce,
     optim=lambda p: torch.optim.Adam(p, lr=0.05),
     steps=6,
     step_sched=warmup(4),
     covers="warmup (linear, per step), adam",
     mutants={"no warm-up": {"step_sched": None},
              "ramp from 0 ((s - 1) / N)": {"step_sched": warmup(4, 0)},
              "ramp over N + 1 steps": {"step_sched": warmup(5)}})


def plateau(factor, patience):
    return lambda o: torch.optim.lr_scheduler.ReduceLROnPlateau(
        o, mode="min", factor=factor, patience=patience)


case("sched_plateau", """
# lr_schedule = plateau(factor = 0.5, patience = 1): ReduceLROnPlateau
# stepped after each epoch with the epoch's training loss (the mean of the
# step losses); the large lr makes the loss rise, so the lr is halved
model sched_plateau {
    input  x : f32[10]
    target y : class[4]

    logits = x -> dense(16) -> relu -> dense(4)

    loss      cross_entropy(logits, y)
    optimizer sgd(lr = 3, momentum = 0.5)
    train     { batch = 8, epochs = 8, shuffle = false,
                lr_schedule = plateau(factor = 0.5, patience = 1) }
}
""",
     build=lambda: Chain(nn.Linear(10, 16), nn.ReLU(), nn.Linear(16, 4)),
     data=lambda: random_data([10], nclasses=4, n=16, seed=209),
     loss=ce,
     optim=lambda p: torch.optim.SGD(p, lr=3.0, momentum=0.5),
     epochs=8, sched=plateau(0.5, 1), sched_loss=True,
     covers="lr_schedule plateau(factor, patience), epochs",
     mutants={"schedule ignored (constant lr)": {"sched": None},
              "patience ignored (0)": {"sched": plateau(0.5, 0)},
              "factor ignored (0.1)": {"sched": plateau(0.1, 1)},
              "patience + 1": {"sched": plateau(0.5, 2)}})


# element-wise chains fused into one loop (fuse_elementwise) -------------------
class EwFusion(nn.Module):
    """The network of tests/cases/ew_fusion.nn, with switchable misreadings
    of its chains (for mutants)."""

    def __init__(self, ungated=False, swapped=False, relu_first=False,
                 out_order=False):
        super().__init__()
        self.h = nn.Sequential(nn.Linear(10, 16), nn.Tanh())
        self.h2 = nn.Sequential(nn.Linear(10, 16))
        self.h3 = nn.Sequential(nn.Linear(16, 16))
        self.logits = nn.Sequential(nn.ReLU(), nn.Linear(16, 4))
        self.ungated, self.swapped = ungated, swapped
        self.relu_first, self.out_order = relu_first, out_order

    def forward(self, x):
        h = self.h(x)
        h2 = self.h2(x)
        g = h * (h2 if self.ungated else torch.sigmoid(h2)) + self.h3(h)
        u = F.gelu(F.silu(g)) if self.swapped else F.silu(F.gelu(g))
        if self.relu_first:
            z = self.logits[1](F.relu(u) + h)
        else:
            z = self.logits(u + h)
        if self.out_order:
            o = F.hardswish(F.softsign(F.mish(z)))
        else:
            o = F.hardswish(F.mish(F.softsign(z)))
        return o, z


case("ew_fusion", """
# chains of element-wise operators, which -O2 computes in one loop each
# (fuse_elementwise; the kernels are pinned by tests/cases/ew_fusion.*):
# forward h * sigmoid(h2) + h3, silu -> (+ h) -> relu and the output's
# softsign -> mish -> hardswish; backward silu's gradient into gelu's,
# mul's into sigmoid's, and h's three contributions summed into tanh's
model ew_fusion {
    input  x : f32[10]
    target y : class[4]

    h      = x -> dense(16) -> tanh
    h2     = x -> dense(16)
    h3     = h -> dense(16)
    g      = h * sigmoid(h2) + h3
    u      = g -> gelu -> silu
    logits = (u + h) -> relu -> dense(4)
    output o = logits -> softsign -> mish -> hardswish

    loss      cross_entropy(logits, y)
    optimizer sgd(lr = 0.5, momentum = 0.5)
}
""",
     build=EwFusion,
     data=lambda: random_data([10], nclasses=4, seed=141),
     loss=ce,
     optim=lambda p: torch.optim.SGD(p, lr=0.5, momentum=0.5),
     covers="fused element-wise chains: mul + add, silu + add + relu, "
            "softsign -> mish -> hardswish; their gradients",
     mutants={"gate without its sigmoid": {"build": lambda:
                  EwFusion(ungated=True)},
              "gelu and silu in the other order": {"build": lambda:
                  EwFusion(swapped=True)},
              "relu before the residual add": {"build": lambda:
                  EwFusion(relu_first=True)},
              "mish before softsign": {"build": lambda:
                  EwFusion(out_order=True)}})


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
    if c["epochs"]:
        return out, run_epochs(c, m, opt, xt, yt)
    step_sched = c["step_sched"](opt) if c["step_sched"] else None
    for k in range(c["steps"]):
        opt.zero_grad()
        _, pred = m(xt[k * B:(k + 1) * B])
        loss = c["loss"](pred, yt[k * B:(k + 1) * B])
        loss.backward()
        if c["clip"]:
            c["clip"](m.parameters())
        opt.step()
        if step_sched:
            step_sched.step()
    return out, state_to_numpy(m)


def run_epochs(c, m, opt, xt, yt):
    """c["epochs"] epochs in file order, the scheduler stepped after each
    (or, for mutants, after each step, or once before training)."""
    B = c["batch"]
    sched = c["sched"](opt) if c["sched"] else None
    if sched and c["sched_early"]:
        sched.step()
    for _ in range(c["epochs"]):
        total, count = 0.0, 0
        for k in range(0, xt.shape[0], B):
            opt.zero_grad()
            _, pred = m(xt[k:k + B])
            loss = c["loss"](pred, yt[k:k + B])
            loss.backward()
            if c["clip"]:
                c["clip"](m.parameters())
            opt.step()
            total += loss.item() * pred.shape[0]
            count += pred.shape[0]
            if sched and c["sched_every_step"]:
                sched.step(*([total / count] if c["sched_loss"] else []))
        if sched and not c["sched_every_step"]:
            sched.step(*([total / count] if c["sched_loss"] else []))
    return state_to_numpy(m)


def probe_regions(c, init, x, least=4):
    """Counts of the probed operator input between its breakpoints, on all
    of x, from the init weights: ({"(a, b)": count}, every count >= least)."""
    m = c["build"]()
    m.load_state_dict({k: torch.from_numpy(v) for k, v in init.items()})
    m = m.double().eval()
    with torch.no_grad():
        v, points = c["probe"](m, torch.from_numpy(x).double())
    v = v.flatten().numpy()
    edges = [-np.inf] + list(points) + [np.inf]
    counts = {}
    for lo, hi in zip(edges[:-1], edges[1:]):
        counts["(%g, %g)" % (lo, hi)] = int(np.sum((v > lo) & (v < hi)))
    return counts, min(counts.values()) >= least



# The MLPerf Tiny reference models of examples/tiny/ ---------------------------
# Three of the four networks as the examples write them (read from
# examples/tiny/), two sgd steps on random data: the depthwise, strided and
# residual shapes of real embedded models, end to end.  MobileNetV1 is not
# a case: 28 layers of batchnorm and relu make its float32 training steps
# differ from float64 by 0.5% to 100% (relu kinks flipping, batchnorm of
# near-constant channels), far outside the tolerance, for every seed and
# batch tried; its forward pass uses no operator these three do not.
class GlobalAvgPool(nn.Module):
    """nnc's global_avgpool is one stage: pooling and flatten."""

    def forward(self, x):
        return x.mean(dim=tuple(range(2, x.dim())))


def tiny_nn(name):
    with open(os.path.join(HERE, "..", "..", "examples", "tiny",
                           name + ".nn")) as f:
        return f.read()


def _cbr(cin, cout, k, stride=1, padding=0, groups=1, relu=True):
    m = [nn.Conv2d(cin, cout, k, stride=stride, padding=padding,
                   groups=groups), nn.BatchNorm2d(cout)]
    return m + [nn.ReLU()] if relu else m


class TinyResNet8(nn.Module):
    def __init__(self):
        super().__init__()
        S = nn.Sequential
        self.s0 = S(*_cbr(3, 16, 3, padding=1))
        self.a1 = S(*_cbr(16, 16, 3, padding=1),
                    *_cbr(16, 16, 3, padding=1, relu=False))
        self.a2 = S(*_cbr(16, 32, 3, stride=2, padding=1),
                    *_cbr(32, 32, 3, padding=1, relu=False))
        self.b2 = S(nn.Conv2d(16, 32, 1, stride=2))
        self.a3 = S(*_cbr(32, 64, 3, stride=2, padding=1),
                    *_cbr(64, 64, 3, padding=1, relu=False))
        self.b3 = S(nn.Conv2d(32, 64, 1, stride=2))
        self.logits = S(nn.ReLU(), GlobalAvgPool(), nn.Linear(64, 10))

    def forward(self, x):
        s0 = self.s0(x)
        s1 = torch.relu(s0 + self.a1(s0))
        s2 = torch.relu(self.b2(s1) + self.a2(s1))
        z = self.logits(self.b3(s2) + self.a3(s2))
        return z, z


class TinyDsCnn(nn.Module):
    def __init__(self):
        super().__init__()
        self.h0 = nn.Sequential(*_cbr(1, 64, (10, 4), stride=2,
                                      padding=(5, 1)))
        for i in range(1, 5):
            setattr(self, "h%d" % i, nn.Sequential(
                *_cbr(64, 64, 3, padding=1, groups=64), *_cbr(64, 64, 1)))
        self.logits = nn.Sequential(nn.AvgPool2d((25, 5)), nn.Flatten(),
                                    nn.Linear(64, 12))

    def forward(self, x):
        for i in range(5):
            x = getattr(self, "h%d" % i)(x)
        z = self.logits(x)
        return z, z


class TinyAutoencoder(nn.Module):
    def __init__(self):
        super().__init__()

        def stack(widths, last=None):
            m = []
            for a, b in zip(widths, widths[1:]):
                m += [nn.Linear(a, b), nn.BatchNorm1d(b), nn.ReLU()]
            return m + ([nn.Linear(widths[-1], last)] if last else [])
        self.code = nn.Sequential(*stack([640, 128, 128, 128, 128, 8]))
        self.recon = nn.Sequential(*stack([8, 128, 128, 128, 128], 640))

    def forward(self, x):
        z = self.recon(self.code(x))
        return z, z


def autoencoder_data():
    x, _ = random_data([640], target=[640], n=16, seed=504)
    return x, x.copy()


for _name, _build, _data, _loss, _covers in [
        ("resnet8", TinyResNet8,
         lambda: random_data([3, 32, 32], nclasses=10, n=8, seed=501), ce,
         "ResNet-8: residual stacks, stride-2 3x3 and 1x1 shortcut convs"),
        ("ds_cnn", TinyDsCnn,
         lambda: random_data([1, 49, 10], nclasses=12, n=8, seed=502), ce,
         "DS-CNN: 10x4 stride-2 conv, depthwise 3x3 (groups 64), 1x1, "
         "25x5 average pooling"),
        ("fc_autoencoder", TinyAutoencoder, autoencoder_data, F.mse_loss,
         "FC autoencoder: 10 dense + batchnorm1d + relu, mse to the input")]:
    # sgd, not the examples' adam: a convolution's bias before batchnorm
    # has a gradient of zero up to rounding, which adam's first step turns
    # into a full step of lr either way (float32 against float64: 4%)
    case("tiny_" + _name, tiny_nn(_name).replace(
             "adam(lr = 0.001)", "sgd(lr = 0.05, momentum = 0.9)"),
         build=_build, data=_data, loss=_loss,
         optim=lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9),
         batch=8 if _name == "fc_autoencoder" else 4,
         steps=2, covers="examples/tiny: " + _covers)


def generate(c):
    d = os.path.join(HERE, c["name"])
    os.makedirs(d, exist_ok=True)
    m = build_model(c)
    init = state_to_numpy(m)
    x, y = c["data"]()
    assert x.dtype == np.float32
    assert y.dtype in (np.int32, np.float32)
    n = x.shape[0]
    if c["epochs"]:
        c = dict(c, steps=c["epochs"] * -(-n // c["batch"]))
    assert c["epochs"] or c["batch"] * c["steps"] <= n, c["name"]

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

    # Coverage: the operator's input falls in every region of its formula.
    regions = None
    if c["probe"]:
        regions, covered = probe_regions(c, init, x)
        print("    regions %s" % " ".join(
            "%s:%d" % kv for kv in regions.items()))
        if not covered:
            print("    SOME REGION HOLDS TOO FEW VALUES")
            ok = False

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
        sensitivity[what] = float("%.3g" % s) if np.isfinite(s) else "inf"

    with open(os.path.join(d, "model.nn"), "w") as f:
        f.write(c["nn"])
    write_safetensors(os.path.join(d, "init.safetensors"), init)
    np.save(os.path.join(d, "x.npy"), x)
    np.save(os.path.join(d, "y.npy"), y)
    np.save(os.path.join(d, "out.npy"), out.astype(np.float32))
    write_safetensors(os.path.join(d, "after.safetensors"), after)
    meta = {"batch": c["batch"], "steps": c["steps"]}
    if c["epochs"]:
        meta["epochs"] = c["epochs"]
    meta.update({"samples": n, "seed": c["seed"], "covers": c["covers"],
            "reference": "torch %s, float64 from float32 weights and data"
                         % torch.__version__,
            "fp32_margin": {"out": float("%.3g" % r_out),
                            "after": float("%.3g" % r_after)},
            "mutants_fail_by_tolerances": sensitivity})
    if regions:
        meta["operator_input_regions"] = regions
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
    # the mutant that steps a schedule before training does so on purpose
    warnings.filterwarnings("ignore", message="Detected call of")
    bad = [c["name"] for c in CASES
           if (not want or c["name"] in want) and not generate(c)]
    if bad:
        sys.exit("gen.py: ill-conditioned or insensitive: %s"
                 % ", ".join(bad))


if __name__ == "__main__":
    main(sys.argv)
