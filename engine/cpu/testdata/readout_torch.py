"""PyTorch reference for nn.GaussianReadout's training step, timed side by side
with cotrain's BenchmarkGaussianReadout.

One step, as in the Go benchmark: batch 128, 458 neurons, a feature map
[128, C, H, W]; grid = clamp(mu + sigma * eps, -1, 1) with fresh normal eps;
F.grid_sample (bilinear, zeros padding, align_corners=True) at one point per
neuron; y = sum_c sampled * features + bias; loss = sum(y^2); backward to the
map, mu, sigma, features and bias.

Run with Debian's interpreter (torch 1.13), two threads:

    /usr/bin/python3 engine/cpu/testdata/readout_torch.py \
        [--go LABEL=path/to/nn.test ...] [--rounds 5]

Each --go binary is a compiled nn test binary (go test -c -o nn.test ./nn);
rounds alternate PyTorch and every binary, and the best time per step of
each is reported with the ratio to PyTorch.
"""

import argparse
import re
import subprocess
import time

import torch
import torch.nn.functional as F

SHAPES = [(8, 32), (16, 256)]
BATCH, NEURONS = 128, 458


def torch_step_ms(h, c, steps=3):
    """Best wall time of one training step in milliseconds."""
    g = torch.Generator().manual_seed(1)
    x = torch.zeros(BATCH, c, h, h, requires_grad=True)
    mu = (torch.rand(NEURONS, 2, generator=g) * 0.6 - 0.3).requires_grad_()
    sigma = (torch.rand(NEURONS, 2, generator=g) * 0.6).requires_grad_()
    features = torch.full((c, NEURONS), 1.0 / c, requires_grad=True)
    bias = torch.zeros(NEURONS, requires_grad=True)
    params = [x, mu, sigma, features, bias]

    def step():
        eps = torch.randn(BATCH, NEURONS, 2)
        grid = torch.clamp(mu + sigma * eps, -1, 1).unsqueeze(2)  # [N, n, 1, 2]
        sampled = F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros",
                                align_corners=True)  # [N, C, n, 1]
        y = (sampled.squeeze(3) * features).sum(1) + bias  # [N, n]
        loss = (y * y).sum()
        grads = torch.autograd.grad(loss, params)
        return grads

    step()  # warm-up
    best = float("inf")
    for _ in range(steps):
        t0 = time.perf_counter()
        step()
        best = min(best, time.perf_counter() - t0)
    return 1e3 * best


def go_step_ms(binary, h, c):
    """ms per step reported by BenchmarkGaussianReadout for one map shape."""
    name = "GaussianReadout/%dx%dx%d$" % (h, h, c)
    out = subprocess.run([binary, "-test.run", "XXX", "-test.bench", name,
                          "-test.benchtime", "3x"], check=True,
                         capture_output=True, text=True).stdout
    m = re.search(r"\s(\d+) ns/op", out)
    if not m:
        raise RuntimeError("no benchmark result in:\n" + out)
    return int(m.group(1)) / 1e6


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--go", action="append", default=[],
                    help="LABEL=path of a compiled nn test binary")
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    torch.set_num_threads(2)
    gos = [s.split("=", 1) for s in args.go]
    for h, c in SHAPES:
        best = {"pytorch": float("inf")}
        for label, _ in gos:
            best[label] = float("inf")
        for _ in range(args.rounds):
            best["pytorch"] = min(best["pytorch"], torch_step_ms(h, c))
            for label, path in gos:
                best[label] = min(best[label], go_step_ms(path, h, c))
        ref = best["pytorch"]
        print("%dx%dx%d (best of %d rounds)" % (h, h, c, args.rounds))
        for label, ms in best.items():
            print("  %-10s %8.1f ms/step  %5.2f x pytorch" % (label, ms, ms / ref))


if __name__ == "__main__":
    main()
