"""Our normalisation layers against PyTorch's BatchNorm1d/2d, LayerNorm and GroupNorm, in
training and evaluation mode, in float64: outputs, gradients and running averages.

PyTorch is a benchmarks-only extra (not in requirements.txt); without it these tests are
skipped. It runs in its own process (``python -c``) so that it never shares a process, threads
or BLAS settings with our numpy side. Our momentum is the weight of the old running average
(CS231n's), PyTorch's the weight of the new one, so ours 0.9 is PyTorch's 0.1.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys

import numpy as np
import pytest

from cs231n_lib.gradient_check import rel_error
from cs231n_lib.layers import (
    batchnorm_backward,
    batchnorm_forward,
    layernorm_backward,
    layernorm_forward,
    spatial_batchnorm_backward,
    spatial_batchnorm_forward,
    spatial_groupnorm_backward,
    spatial_groupnorm_forward,
)

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("torch") is None,
    reason="PyTorch is not installed (a benchmarks-only extra: pip install torch)",
)

TORCH_SIDE = r"""
import sys
import numpy as np
import torch

torch.set_num_threads(1)
data = dict(np.load(sys.argv[1]))
kind = str(data["kind"])
steps = data["xs"]  # (steps, N, ...)
C = steps.shape[2] if kind != "layernorm" else steps.shape[-1]
eps, momentum = 1e-5, 0.1
layer = {
    "batchnorm1d": lambda: torch.nn.BatchNorm1d(C, eps=eps, momentum=momentum),
    "batchnorm2d": lambda: torch.nn.BatchNorm2d(C, eps=eps, momentum=momentum),
    "layernorm": lambda: torch.nn.LayerNorm(C, eps=eps),
    "groupnorm": lambda: torch.nn.GroupNorm(int(data["G"]), C, eps=eps),
}[kind]().double()
with torch.no_grad():
    layer.weight.copy_(torch.from_numpy(data["gamma"]))
    layer.bias.copy_(torch.from_numpy(data["beta"]))
layer.train()
result = {}
for i, (x, dout) in enumerate(zip(steps, data["douts"])):
    xt = torch.from_numpy(x).requires_grad_(True)
    layer.weight.grad = layer.bias.grad = None
    out = layer(xt)
    out.backward(torch.from_numpy(dout))
    result[f"out{i}"] = out.detach().numpy()
    result[f"dx{i}"] = xt.grad.numpy()
    result[f"dgamma{i}"] = layer.weight.grad.numpy()
    result[f"dbeta{i}"] = layer.bias.grad.numpy()
layer.eval()
with torch.no_grad():
    result["eval"] = layer(torch.from_numpy(data["x_eval"])).numpy()
if kind.startswith("batchnorm"):
    result["running_mean"] = layer.running_mean.numpy()
    result["running_var"] = layer.running_var.numpy()
np.savez(sys.argv[2], **result)
"""


def torch_results(tmp_path, **arrays) -> dict[str, np.ndarray]:
    inputs, outputs = tmp_path / "in.npz", tmp_path / "out.npz"
    np.savez(inputs, **arrays)
    proc = subprocess.run(
        [sys.executable, "-c", TORCH_SIDE, str(inputs), str(outputs)],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    with np.load(outputs) as data:
        return {k: data[k] for k in data.files}


def ours(kind, xs, douts, x_eval, gamma, beta, G=None):
    """Run our layer over the same steps; returns what the torch side returns."""
    result = {}
    param = {"mode": "train", "eps": 1e-5, "momentum": 0.9}
    for i, (x, dout) in enumerate(zip(xs, douts, strict=True)):
        if kind == "batchnorm1d":
            out, cache = batchnorm_forward(x, gamma, beta, param)
            grads = batchnorm_backward(dout, cache)
        elif kind == "batchnorm2d":
            out, cache = spatial_batchnorm_forward(x, gamma, beta, param)
            grads = spatial_batchnorm_backward(dout, cache)
        elif kind == "layernorm":
            out, cache = layernorm_forward(x, gamma, beta, param)
            grads = layernorm_backward(dout, cache)
        else:
            out, cache = spatial_groupnorm_forward(x, gamma, beta, G, param)
            grads = spatial_groupnorm_backward(dout, cache)
        result[f"out{i}"] = out
        for name, g in zip(("dx", "dgamma", "dbeta"), grads, strict=True):
            result[f"{name}{i}"] = g
    param["mode"] = "test"
    result["eval"] = {
        "batchnorm1d": lambda: batchnorm_forward(x_eval, gamma, beta, param)[0],
        "batchnorm2d": lambda: spatial_batchnorm_forward(x_eval, gamma, beta, param)[0],
        "layernorm": lambda: layernorm_forward(x_eval, gamma, beta, param)[0],
        "groupnorm": lambda: spatial_groupnorm_forward(x_eval, gamma, beta, G, param)[0],
    }[kind]()
    if kind.startswith("batchnorm"):
        result["running_mean"] = param["running_mean"]
        result["running_var"] = param["running_var"]
    return result


CASES = [
    ("batchnorm1d", (16, 7), 7, None),
    ("batchnorm2d", (4, 5, 6, 3), 5, None),
    ("layernorm", (6, 9), 9, None),
    ("groupnorm", (3, 6, 4, 5), 6, 3),
    ("groupnorm", (2, 4, 3, 3), 4, 1),
]


@pytest.mark.parametrize(
    ("kind", "shape", "C", "G"), CASES, ids=[c[0] + str(c[3] or "") for c in CASES]
)
def test_equals_pytorch_in_train_and_eval_mode(tmp_path, kind, shape, C, G):
    r = np.random.default_rng(42)
    steps = 3
    xs = r.standard_normal((steps, *shape)) * 3 + 2  # a shift and a scale to normalise away
    douts = r.standard_normal((steps, *shape))
    x_eval = r.standard_normal(shape) * 3 + 2
    gamma, beta = r.standard_normal(C), r.standard_normal(C)
    arrays = dict(xs=xs, douts=douts, x_eval=x_eval, gamma=gamma, beta=beta)
    theirs = torch_results(tmp_path, kind=np.array(kind), G=np.array(G or 0), **arrays)
    mine = ours(kind, G=G, **arrays)
    assert set(mine) == set(theirs)
    for key in sorted(theirs):
        err = rel_error(mine[key], theirs[key])
        assert err < 1e-9, f"{kind} {key}: relative error {err:.1e} against PyTorch"
