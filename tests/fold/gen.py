#!/usr/bin/python3
"""gen.py: regenerates the PyTorch reference files of tests/fold/.

Batchnorm folding (compiler/passes/fold_batchnorm.c) is checked against PyTorch's
eval mode: for each case this writes tests/fold/CASE/

  model.nn           the nnc model (an `output`, no training)
  w.safetensors      weights: PyTorch's default initialisation after
                     torch.manual_seed, then batchnorm given non-trivial
                     affine parameters and running statistics (means of
                     several units, variances from 0.05 to 4, so that a
                     fold that forgets a term is far off)
  x.npy              float32 inputs [N, per-sample shape]
  out.npy            model.eval()(x), in float64 from the float32 weights
                     and data, rounded once to float32

tests/run_fold.sh compiles each with nnc --inference --weights and runs it.
Needs torch (Debian's python3-torch, 1.13) and numpy; run it by hand:
    /usr/bin/python3 tests/fold/gen.py
The committed files are the truth.
"""

import os
import sys

import numpy as np
import torch
import torch.nn as nn

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "golden"))
from gen import write_safetensors  # noqa: E402  (the golden files' writer)

HERE = os.path.dirname(os.path.abspath(__file__))
N = 16


def set_bn(bn):
    c = bn.weight.numel()
    with torch.no_grad():
        bn.weight.copy_(torch.empty(c).uniform_(0.5, 2.0) * torch.sign(torch.randn(c)))
        bn.bias.copy_(torch.randn(c) * 0.5)
        bn.running_mean.copy_(torch.randn(c) * 3.0)
        bn.running_var.copy_(torch.empty(c).uniform_(0.05, 4.0))
        bn.num_batches_tracked.fill_(11)


class ConvBnRelu(nn.Module):
    def __init__(self):
        super().__init__()
        self.logits = nn.Sequential(nn.Conv2d(2, 4, 3), nn.BatchNorm2d(4, eps=1e-3), nn.ReLU(),
                               nn.Flatten(), nn.Linear(4 * 4 * 4, 3))
        set_bn(self.logits[1])

    def forward(self, x):
        return self.logits(x)


class DenseBn(nn.Module):
    def __init__(self):
        super().__init__()
        self.y = nn.Sequential(nn.Linear(10, 8), nn.BatchNorm1d(8))
        set_bn(self.y[1])

    def forward(self, x):
        return self.y(x)


class ConvNoBias(nn.Module):
    def __init__(self):
        super().__init__()
        self.logits = nn.Sequential(nn.Conv2d(2, 4, 3, padding=1, groups=2, bias=False), nn.BatchNorm2d(4),
                               nn.MaxPool2d(2), nn.Flatten(), nn.Linear(4 * 3 * 3, 5))
        set_bn(self.logits[1])

    def forward(self, x):
        return self.logits(x)


class BnShared(nn.Module):
    """h = dense(x); y = batchnorm(h) + h: h has a second reader."""

    def __init__(self):
        super().__init__()
        self.h = nn.Sequential(nn.Linear(6, 8))
        self.b = nn.Sequential(nn.BatchNorm1d(8))
        set_bn(self.b[0])

    def forward(self, x):
        h = self.h(x)
        return self.b(h) + h


class BnAfterRelu(nn.Module):
    def __init__(self):
        super().__init__()
        self.y = nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.BatchNorm1d(8))
        set_bn(self.y[2])

    def forward(self, x):
        return self.y(x)


class BnNegVar(nn.Module):
    """running_var[0] = -0.5: that channel is NaN in eval mode, and folded
    weights would be NaN (run_fold.sh skips the outputs)."""

    def __init__(self):
        super().__init__()
        self.y = nn.Sequential(nn.Linear(6, 8), nn.BatchNorm1d(8))
        set_bn(self.y[1])
        with torch.no_grad():
            self.y[1].running_var[0] = -0.5

    def forward(self, x):
        return self.y(x)


# Cases whose model.nn says "keeps the batchnorm" must not fold: the
# layer's output has another reader, something sits in between, or the
# statistics would make the folded weights NaN.
CASES = {
    "conv_bn_relu": (ConvBnRelu, [2, 6, 6], """
# conv2d -> batchnorm (BatchNorm2d, eps 1e-3) -> relu: the batchnorm folds
# into the convolution, whose kernel then applies the relu too
model conv_bn_relu {
    input  x : f32[2, 6, 6]
    output logits = x -> conv2d(4, kernel = 3) -> batchnorm(eps = 0.001)
                    -> relu -> flatten -> dense(3)
}
"""),
    "dense_bn": (DenseBn, [10], """
# dense -> batchnorm (BatchNorm1d) as the model's output: the dense layer
# becomes the output
model dense_bn {
    input  x : f32[10]
    output y = x -> dense(8) -> batchnorm
}
"""),
    "conv_nobias_bn": (ConvNoBias, [2, 6, 6], """
# a grouped conv2d without a bias -> batchnorm: the folded convolution gets
# a bias, logits.0.bias
model conv_nobias_bn {
    input  x : f32[2, 6, 6]
    output logits = x -> conv2d(4, kernel = 3, padding = 1, groups = 2, bias = false)
                    -> batchnorm -> maxpool(2) -> flatten -> dense(5)
}
"""),
    "keep_shared": (BnShared, [6], """
# keeps the batchnorm: the dense output h is also read by the add, which
# must see it unscaled
model keep_shared {
    input  x : f32[6]
    h = x -> dense(8)
    b = h -> batchnorm
    output y = b + h
}
"""),
    "keep_after_relu": (BnAfterRelu, [6], """
# keeps the batchnorm: a relu sits between the dense layer and it
model keep_after_relu {
    input  x : f32[6]
    output y = x -> dense(8) -> relu -> batchnorm
}
"""),
    "keep_neg_var": (BnNegVar, [6], """
# keeps the batchnorm: running_var[0] is -0.5, so folding would give NaN
# weights (outputs NaN: not compared)
model keep_neg_var {
    input  x : f32[6]
    output y = x -> dense(8) -> batchnorm
}
"""),
}


def main():
    torch.set_num_threads(1)
    for seed, (name, (make, shape, text)) in enumerate(sorted(CASES.items())):
        torch.manual_seed(100 + seed)
        m = make()
        d = os.path.join(HERE, name)
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, "model.nn"), "w") as f:
            f.write(text.lstrip("\n"))
        sd = {k: v.detach().numpy() for k, v in m.state_dict().items()}
        write_safetensors(os.path.join(d, "w.safetensors"), sd)
        x = torch.randn([N] + shape).float()
        np.save(os.path.join(d, "x.npy"), x.numpy())
        m64 = m.double().eval()
        with torch.no_grad():
            out = m64(x.double()).float().numpy()
        np.save(os.path.join(d, "out.npy"), out)
        print("%s: %s -> %s" % (name, list(x.shape), list(out.shape)))


if __name__ == "__main__":
    main()
