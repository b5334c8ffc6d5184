#!/usr/bin/python3
"""check_interop.py: weights move between nnc programs and PyTorch by name.

For every golden case (or the ones named), with the generated program
(`nnc CASE/model.nn --exe`):

  nnc -> torch  `prog train` runs a few steps (shuffled, the program's own
                order) from init.safetensors and saves its weights; the
                file is loaded into the case's torch.nn model with
                load_state_dict(strict=True) (same names, shapes, dtypes,
                nothing missing or extra), and `prog predict` with those
                weights must give torch's eval-mode output;
  torch -> nnc  a torch model initialised from another seed is trained a
                few steps in torch and its state_dict written as
                safetensors; `prog predict` and `prog eval` with it must
                give torch's output and loss.

Outputs are compared with the metric of compare.c (|a - b| <= rtol *
(|b| + rms(b)), rtol 1e-5); the loss printed by `prog eval` (6 decimals) to
1e-5 relative.  Needs torch and numpy, and build/nnc + build/libnnrt.a;
run it by hand from anywhere:

    /usr/bin/python3 tests/golden/check_interop.py [CASE ...]

Scratch files go to build/golden/interop/.  Exit status 0 when every case
passes.
"""

import os
import re
import shutil
import subprocess
import sys
import warnings

import numpy as np
import torch

sys.dont_write_bytecode = True  # no __pycache__ in tests/golden
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gen  # noqa: E402  (the case definitions and the file formats)

ROOT = os.path.abspath(os.path.join(gen.HERE, "..", ".."))
NNC = os.environ.get("NNC", os.path.join(ROOT, "build", "nnc"))
SCRATCH = os.path.join(ROOT, "build", "golden", "interop")
RTOL = 1e-5
TRAIN_STEPS = 5


def sh(*args):
    """Runs a command; returns stdout, raises with its stderr on failure."""
    p = subprocess.run([str(a) for a in args], capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError("%s exited with %d:\n%s%s" % (
            " ".join(str(a) for a in args), p.returncode, p.stdout, p.stderr))
    return p.stdout


def torch_forward(c, state, x):
    """The case's torch model with `state` loaded strictly; eval-mode
    output on x (float32)."""
    m = c["build"]()
    m.load_state_dict({k: torch.from_numpy(v) for k, v in state.items()},
                      strict=True)
    m.eval()
    with torch.no_grad():
        out, pred = m(torch.from_numpy(x))
    return m, out.numpy(), pred


def check_case(c):
    d = os.path.join(SCRATCH, c["name"])
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    g = os.path.join(gen.HERE, c["name"])
    prog = os.path.join(d, "prog")
    x_path, y_path = os.path.join(g, "x.npy"), os.path.join(g, "y.npy")
    x, y = np.load(x_path), np.load(y_path)
    sh(NNC, os.path.join(g, "model.nn"), "--exe", "-o", prog)
    report = []

    # nnc -> torch
    trained = os.path.join(d, "nnc_trained.safetensors")
    sh(prog, "train", "--init", os.path.join(g, "init.safetensors"),
       "--data", x_path, "--labels", y_path, "--steps", TRAIN_STEPS,
       "--batch", c["batch"], "--save", trained, "--quiet")
    state, meta = gen.read_safetensors(trained)
    init, _ = gen.read_safetensors(os.path.join(g, "init.safetensors"))
    moved = max(gen.worst_ratio(state[k], init[k]) for k in init)
    if moved < 100 * RTOL:
        raise RuntimeError("prog train did not change the weights")
    if meta.get("format") != "pt":
        raise RuntimeError("metadata %r lacks format=pt" % meta)
    _, want, _ = torch_forward(c, state, x)  # strict load or an exception
    pred_path = os.path.join(d, "nnc_out.npy")
    sh(prog, "predict", "--weights", trained, "--data", x_path,
       "--output", pred_path)
    r1 = gen.worst_ratio(np.load(pred_path), want)
    report.append("nnc->torch %.2g" % r1)

    # torch -> nnc
    torch.manual_seed(c["seed"] + 1000)
    m = c["build"]()
    opt = c["optim"](m.parameters())
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    if yt.dtype.is_floating_point:
        yt = yt.float()
    B = c["batch"]
    m.train()
    for k in range(TRAIN_STEPS):
        i = (k * B) % len(x)
        opt.zero_grad()
        c["loss"](m(xt[i:i + B])[1], yt[i:i + B]).backward()
        opt.step()
    state = gen.state_to_numpy(m)
    torch_file = os.path.join(d, "torch_trained.safetensors")
    gen.write_safetensors(torch_file, state)
    m.eval()
    with torch.no_grad():
        want, pred = (t.numpy() for t in m(xt))
        loss = float(c["loss"](torch.from_numpy(pred), yt))
    pred_path = os.path.join(d, "torch_out.npy")
    sh(prog, "predict", "--weights", torch_file, "--data", x_path,
       "--output", pred_path)
    r2 = gen.worst_ratio(np.load(pred_path), want)
    out = sh(prog, "eval", "--weights", torch_file, "--data", x_path,
             "--labels", y_path)
    mo = re.search(r"loss=([-+0-9.eE]+)", out)
    if not mo:
        raise RuntimeError("prog eval printed no loss=: %r" % out)
    r3 = abs(float(mo.group(1)) - loss) / abs(loss)
    report.append("torch->nnc %.2g, eval loss %s vs torch %.6f" % (
        r2, mo.group(1), loss))
    ok = r1 <= RTOL and r2 <= RTOL and r3 <= RTOL
    return ok, "; ".join(report)


def main(argv):
    warnings.filterwarnings("ignore", message="Using padding='same'")
    torch.set_num_threads(1)
    want = argv[1:]
    cases = [c for c in gen.CASES if not want or c["name"] in want]
    if want and len(cases) != len(set(want)):
        sys.exit("check_interop: unknown case among %s" % " ".join(want))
    failed = 0
    for c in cases:
        try:
            ok, msg = check_case(c)
        except Exception as e:  # report and go on with the next case
            ok, msg = False, str(e).strip()
        failed += not ok
        print("%s %-20s %s" % ("ok  " if ok else "FAIL", c["name"], msg))
    print("%d passed, %d failed" % (len(cases) - failed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
