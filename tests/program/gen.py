#!/usr/bin/env python3
"""Writes the reference of tests/run_program.sh's --steps replay:
tests/program/steps.nn trained in PyTorch for 7 optimizer steps of batch 4
over 12 samples in file order (two whole epochs, each followed by
StepLR.step(), then one step of the third epoch).

  x.npy [12, 4] float32, y.npy [12] int32, init.safetensors (PyTorch's
  default initialisation, torch.manual_seed(0)), after.safetensors (the
  parameters after the 7 steps, computed in float64 from the float32
  weights and data, as tests/golden/gen.py does).

Run from the repository root: python3 tests/program/gen.py (needs torch
and numpy; the files it writes are committed)."""
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "golden"))
from gen import write_safetensors  # noqa: E402  (the same file format)

HERE = os.path.dirname(os.path.abspath(__file__))
N, B, STEPS = 12, 4, 7


class Steps(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.logits = torch.nn.Sequential(torch.nn.Linear(4, 8),
                                          torch.nn.ReLU(),
                                          torch.nn.Linear(8, 3))

    def forward(self, x):
        return self.logits(x)


def main():
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    y = (np.arange(N) % 3).astype(np.int32)
    x = (rng.standard_normal((N, 4)) * 0.7).astype(np.float32)
    x[np.arange(N), y] += 2.0
    m = Steps()
    init = {k: v.detach().numpy().copy() for k, v in m.state_dict().items()}
    m = m.double()
    opt = torch.optim.SGD(m.parameters(), lr=0.2, momentum=0.9)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
    xt = torch.from_numpy(x).double()
    yt = torch.from_numpy(y).long()
    steps_per_epoch = (N + B - 1) // B
    for k in range(STEPS):
        first = (k % steps_per_epoch) * B
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(m(xt[first:first + B]),
                                                 yt[first:first + B])
        loss.backward()
        opt.step()
        if (k + 1) % steps_per_epoch == 0:
            sched.step()  # whole epochs only
    after = {k: v.detach().float().numpy() for k, v in m.state_dict().items()}
    np.save(os.path.join(HERE, "x.npy"), x)
    np.save(os.path.join(HERE, "y.npy"), y)
    write_safetensors(os.path.join(HERE, "init.safetensors"), init)
    write_safetensors(os.path.join(HERE, "after.safetensors"), after)


if __name__ == "__main__":
    main()
