"""PyTorch reference for `cotrain bench`: the same network as cotrain's, with
the same batch and thread count. CONFIG_JSON is cotrain's model spec
(models.Spec): arch "vgg" is its VGG (VGG-19-BN or a reduced configuration,
fully convolutional readout), arch "resnet18"/"resnet34" torchvision's
ResNet with the CIFAR stem (3×3 stride-1 conv1, no max-pool) at base width
"width". Grayscale input is broadcast to the input channels.

Usage: python3 torch_ref.py MODE CONFIG_JSON BATCH INPUT THREADS DEVICE
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
import torchvision

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


class ResNet(nn.Module):
    def __init__(self, depth, width, classes, in_ch):
        super().__init__()
        block = torchvision.models.resnet.BasicBlock
        layers = {18: [2, 2, 2, 2], 34: [3, 4, 6, 3]}[depth]
        net = torchvision.models.resnet.ResNet(block, layers, num_classes=classes)
        if width != 64:
            # torchvision fixes the base width at 64; rebuild the stages at `width`.
            net.inplanes = width
            net.layer1 = net._make_layer(block, width, layers[0])
            net.layer2 = net._make_layer(block, 2 * width, layers[1], stride=2)
            net.layer3 = net._make_layer(block, 4 * width, layers[2], stride=2)
            net.layer4 = net._make_layer(block, 8 * width, layers[3], stride=2)
            net.bn1 = nn.BatchNorm2d(width)
            net.fc = nn.Linear(8 * width, classes)
        net.conv1 = nn.Conv2d(in_ch, width, 3, 1, 1, bias=False)
        net.maxpool = nn.Identity()
        self.net, self.in_ch = net, in_ch

    def forward(self, x):
        return self.net(x.expand(-1, self.in_ch, -1, -1))


if cfg.get("arch", "vgg") == "vgg":
    m = VGG(cfg["Stages"], cfg["Head"], cfg["Classes"], cfg["InputChannels"], cfg["Dropout"])
    classes = cfg["Classes"]
else:
    m = ResNet(int(cfg["arch"][len("resnet"):]), cfg["width"], cfg["classes"], cfg["input_channels"])
    classes = cfg["classes"]
m = m.to(device)
opt = torch.optim.SGD(m.parameters(), lr=0.01, momentum=0.75, weight_decay=5e-4)
x = torch.randn(batch, 1, size, size, device=device)
y = torch.randint(0, classes, (batch,), device=device)
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
