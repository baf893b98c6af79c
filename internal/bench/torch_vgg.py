"""PyTorch reference for `cotrain bench`: the same VGG as cotrain's (VGG-19-BN
or a reduced configuration, fully convolutional readout, grayscale input
broadcast to 3 channels), the same batch and thread count.

Usage: python3 torch_vgg.py MODE CONFIG_JSON BATCH INPUT THREADS DEVICE
(MODE: train, forward, or attack: one PGD step)
After building the model it prints "ready", then for each line "step" read
on stdin runs one step and prints "step SECONDS"; "quit" (or EOF) ends.
cotrain alternates these steps with its own, so both see the same machine.
"""
import json
import sys
import time

import torch
import torch.nn as nn

mode, cfg, batch, size, threads = sys.argv[1], json.loads(sys.argv[2]), *map(int, sys.argv[3:6])
device = torch.device(sys.argv[6] if len(sys.argv) > 6 else "cpu")
torch.set_num_threads(threads)
torch.manual_seed(0)


class VGG(nn.Module):
    def __init__(self, stages, head, classes, in_ch, dropout):
        super().__init__()
        layers, c = [], in_ch
        for stage in stages:
            for ch in stage:
                layers += [nn.Conv2d(c, ch, 3, padding=1), nn.BatchNorm2d(ch), nn.ReLU(inplace=True)]
                c = ch
            layers.append(nn.MaxPool2d(2))
        self.features = nn.Sequential(*layers)
        h = []
        for w in head:
            h += [nn.Conv2d(c, w, 1), nn.ReLU(inplace=True), nn.Dropout(dropout)]
            c = w
        h += [nn.Conv2d(c, classes, 1), nn.AdaptiveMaxPool2d(1), nn.Flatten()]
        self.classifier = nn.Sequential(*h)
        self.in_ch = in_ch

    def forward(self, x):
        return self.classifier(self.features(x.expand(-1, self.in_ch, -1, -1)))


m = VGG(cfg["stages"], cfg["head"], cfg["classes"], cfg["input_channels"], cfg["dropout"]).to(device)
opt = torch.optim.SGD(m.parameters(), lr=0.01, momentum=0.75, weight_decay=5e-4)
x = torch.randn(batch, 1, size, size, device=device)
y = torch.randint(0, cfg["classes"], (batch,), device=device)
sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
if mode in ("forward", "attack"):
    m.eval()
if mode == "attack":
    # One L-inf PGD step on pixel images in [0, 1] (normalized inside, as
    # cotrain's attack package does): eps 0.03, step 0.01.
    x0 = torch.rand(batch, 1, size, size, device=device)
    xa = x0.clone()
    eps, alpha = 0.03, 0.01


def step():
    global xa
    if mode == "attack":
        xa.requires_grad_(True)
        loss = nn.functional.cross_entropy(m((xa - 0.5) / 0.25), y, reduction="sum")
        (g,) = torch.autograd.grad(loss, xa)
        with torch.no_grad():
            xa = torch.min(torch.max(xa + alpha * g.sign(), x0 - eps), x0 + eps).clamp(0, 1)
        xa.cpu()  # the iterate reaches the host, as cotrain's does
    elif mode == "train":
        opt.zero_grad()
        loss = nn.functional.cross_entropy(m(x), y)
        loss.backward()
        opt.step()
    else:
        with torch.no_grad():
            m(x)


print("ready", flush=True)
for line in sys.stdin:
    if line.strip() != "step":
        break
    sync()
    t = time.perf_counter()
    step()
    sync()
    print(f"step {time.perf_counter() - t:.6f}", flush=True)
