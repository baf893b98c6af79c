"""Generates torch_fixtures.json: PyTorch (float64) outputs of the layers,
losses, optimizer steps and LR schedule that cotrain's nn package mirrors.

Run with Debian's python3-torch: /usr/bin/python3 torch_fixtures.py
Arrays are stored in PyTorch's layouts (NCHW, conv weights [out, in, kh, kw]);
the Go test converts them to cotrain's channels-last layouts.
"""
import json

import torch
import torch.nn as tnn
import torch.nn.functional as F

torch.manual_seed(2021)
torch.set_default_dtype(torch.float64)
out = {}


def put(name, t):
    out[name] = {"shape": list(t.shape), "data": t.detach().reshape(-1).tolist()}


# Convolution 3x3, padding 1, with bias.
x = torch.randn(2, 3, 5, 6)
conv = tnn.Conv2d(3, 4, 3, padding=1)
put("conv.x", x); put("conv.w", conv.weight); put("conv.b", conv.bias); put("conv.y", conv(x))

# Batch norm: one training forward (batch statistics, running-stat update), then eval.
x = torch.randn(4, 3, 3, 5) * 2 + 1
bn = tnn.BatchNorm2d(3)
with torch.no_grad():
    bn.weight.copy_(torch.tensor([1.5, -0.5, 2.0]))
    bn.bias.copy_(torch.tensor([0.1, 0.2, -0.3]))
bn.train()
put("bn.x", x); put("bn.scale", bn.weight); put("bn.offset", bn.bias); put("bn.y_train", bn(x))
put("bn.running_mean", bn.running_mean); put("bn.running_var", bn.running_var)
bn.eval()
put("bn.y_eval", bn(x))

# Pooling.
x = torch.randn(2, 3, 5, 6)
put("pool.x", x); put("pool.max2", F.max_pool2d(x, 2)); put("pool.global", F.adaptive_max_pool2d(x, 1).flatten(1))

# ELU(x - 1) + 1.
x = torch.linspace(-3, 3, 13)
put("elu.x", x); put("elu.y", F.elu(x - 1) + 1)

# Gaussian readout: bilinear grid_sample (align_corners=True) at per-image grids,
# weighted by per-neuron features plus bias.
feat = torch.randn(2, 3, 4, 5)
grid = torch.rand(2, 6, 1, 2) * 1.8 - 0.9
w = torch.randn(3, 6)
b = torch.randn(6)
sampled = F.grid_sample(feat, grid, mode="bilinear", padding_mode="zeros", align_corners=True)  # [N, C, n, 1]
y = (sampled.squeeze(-1) * w.unsqueeze(0)).sum(1) + b
put("readout.feat", feat); put("readout.grid", grid.squeeze(2)); put("readout.w", w); put("readout.b", b); put("readout.y", y)

# Losses.
logits = torch.randn(4, 5)
labels = torch.tensor([0, 3, 4, 1])
put("ce.logits", logits); out["ce.labels"] = labels.tolist(); put("ce.loss", F.cross_entropy(logits, labels))
pred = torch.rand(3, 4) * 3 + 0.1
target = torch.poisson(torch.rand(3, 4) * 4)
put("poisson.pred", pred); put("poisson.target", target)
put("poisson.loss", (pred - target * torch.log(pred + 1e-12)).sum())
put("mse.loss", F.mse_loss(pred, target))


# Optimizers: three steps on L = sum((A p - t)^2) + sum(q^2 * c).
def opt_run(make, prefix):
    g = torch.Generator().manual_seed(5)
    a = torch.randn(4, 3, generator=g)
    t = torch.randn(4, generator=g)
    c = torch.rand(2, 2, generator=g)
    p = torch.randn(3, generator=g).requires_grad_()
    q = torch.randn(2, 2, generator=g).requires_grad_()
    put(prefix + ".a", a); put(prefix + ".t", t); put(prefix + ".c", c)
    put(prefix + ".p0", p); put(prefix + ".q0", q)
    opt = make([p, q])
    for step in range(3):
        opt.zero_grad()
        loss = ((a @ p - t) ** 2).sum() + (q ** 2 * c).sum()
        loss.backward()
        opt.step()
        put(f"{prefix}.p{step + 1}", p); put(f"{prefix}.q{step + 1}", q)


opt_run(lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.75, weight_decay=5e-4), "sgd")
opt_run(lambda ps: torch.optim.Adam(ps, lr=0.05, weight_decay=5e-4), "adam")

# ReduceLROnPlateau on a fixed metric sequence (mode max, relative threshold, cooldown).
p = torch.zeros(1, requires_grad=True)
opt = torch.optim.SGD([p], lr=0.1)
sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, mode="max", factor=0.4, patience=2, threshold=1e-2,
                                                   threshold_mode="rel", cooldown=1, min_lr=0.005)
metrics = [1.0, 1.5, 1.505, 1.51, 1.4, 1.52, 1.52, 1.52, 1.52, 1.6, 1.6, 1.6, 1.6, 1.6, 1.6, 1.6, 1.6, 1.6, 1.6]
lrs = []
for m in metrics:
    sched.step(m)
    lrs.append(opt.param_groups[0]["lr"])
out["plateau.metrics"] = metrics
out["plateau.lrs"] = lrs
out["torch_version"] = torch.__version__

with open("torch_fixtures.json", "w") as f:
    json.dump(out, f)
