"""PyTorch side of torchmap's tests (Debian's python3-torch and python3-torchvision).

  /usr/bin/python3 torchfixtures.py make DIR [MODEL…]
      write the fixtures of the models (default: the small ones committed in testdata;
      the tests generate resnet18, and with COTRAIN_TORCH_FULL=1 vgg19bn and resnet34)
  /usr/bin/python3 torchfixtures.py check MODEL DIR FILE [MODEL DIR FILE …]
      load each FILE (written by cotrain export) with torch.load(weights_only=True) into
      MODEL's PyTorch module with load_state_dict(strict=True), run it in eval mode on
      DIR/MODEL.input.npy and print, one JSON line per model, the largest differences
      from DIR/MODEL.logits.npy (and readouts).

Each fixture MODEL has MODEL.pt (the state dict), MODEL.input.npy (N×C×H×W images),
MODEL.logits.npy (classifiers) and, for the models with readouts, MODEL.readout.npy (the Gaussian
readouts' ELU+1 outputs of all sessions, concatenated), all in eval mode.

The models:
  vgg19bn_small  torchvision.models.vgg.VGG on configuration "E" with narrow channels
                 and a narrow dense classifier (same module names as vgg19_bn)
  mtl_small      neural_cotraining's MTL_VGG layout, rebuilt here from the spec
                 (mtl_vgg_core.v1_block = features[:17], unshared_block = features[17:],
                 the conv classification readout, legacy Gaussian2d readouts per session)
  predictor_small  its neural branch alone (v1_block and three readouts): the Monkey Predictor
  vgg19bn        torchvision.models.vgg19_bn(), 224×224 (full)
  resnet18/34    torchvision.models.resnet18/34()
"""
import json
import os
import sys
from collections import OrderedDict

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision
from torchvision.models.vgg import VGG, make_layers

SMALL_E = [8, 8, "M", 16, 16, "M", 16, 16, 16, 16, "M", 32, 32, 32, 32, "M", 32, 32, 32, 32, "M"]


def randomize(model, seed):
    """Random weights and batch-norm statistics, so that eval mode is not trivial."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.weight.copy_(1 + 0.2 * torch.randn(m.weight.shape, generator=g))
                m.bias.copy_(0.1 * torch.randn(m.bias.shape, generator=g))
                m.running_mean.copy_(0.1 * torch.randn(m.running_mean.shape, generator=g))
                m.running_var.copy_(0.5 + torch.rand(m.running_var.shape, generator=g))
                m.num_batches_tracked.fill_(12)
            elif isinstance(m, (nn.Conv2d, nn.Linear)) and m.bias is not None:
                m.bias.copy_(0.05 * torch.randn(m.bias.shape, generator=g))
    return model.eval()


def vgg19bn_small():
    torch.manual_seed(1)
    m = VGG(make_layers(SMALL_E, batch_norm=True), num_classes=10)
    m.classifier = nn.Sequential(
        nn.Linear(32 * 7 * 7, 24), nn.ReLU(True), nn.Dropout(),
        nn.Linear(24, 24), nn.ReLU(True), nn.Dropout(),
        nn.Linear(24, 10))
    return randomize(m, 1)


class Gaussian2d(nn.Module):
    """The legacy neuralpredictors Gaussian2d in eval mode (spec §2.3)."""

    def __init__(self, c, n, seed):
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        self.mu = nn.Parameter(torch.rand(1, n, 1, 2, generator=g) * 1.6 - 0.8)
        self.sigma = nn.Parameter(torch.rand(1, n, 1, 2, generator=g) * 0.6)
        self.features = nn.Parameter(torch.randn(1, c, 1, n, generator=g) / c)
        self.bias = nn.Parameter(torch.randn(n, generator=g) * 0.1)

    def forward(self, x):
        n = self.mu.shape[1]
        grid = torch.clamp(self.mu, -1, 1).expand(x.shape[0], n, 1, 2)
        y = F.grid_sample(x, grid, align_corners=True)
        feat = self.features.view(1, x.shape[1], n)
        return (y.squeeze(-1) * feat).sum(1).view(x.shape[0], n) + self.bias


class Core(nn.Module):
    def __init__(self, features, layer, classification):
        super().__init__()
        children = list(features.children())
        self.v1_block = nn.Sequential(*children[:layer])
        if classification:
            self.unshared_block = nn.Sequential(*children[layer:])


class MTL(nn.Module):
    """MTL_VGG's module tree: mtl_vgg_core, v1_readout, classification_readout
    (without classes, the neural branch alone: the Monkey Predictor)."""

    def __init__(self, cfg, sessions, classes, head):
        super().__init__()
        self.mtl_vgg_core = Core(make_layers(cfg, batch_norm=True), 17, classes > 0)
        c_tap = cfg[6]  # conv3_1
        self.v1_readout = nn.ModuleDict(
            OrderedDict((k, Gaussian2d(c_tap, n, i + 10)) for i, (k, n) in enumerate(sessions)))
        if classes == 0:
            return
        last = [c for c in cfg if c != "M"][-1]
        self.classification_readout = nn.Sequential(
            nn.Conv2d(last, head, 1, 1, bias=True), nn.ReLU(True), nn.Dropout(),
            nn.Conv2d(head, head, 1, 1, bias=True), nn.ReLU(True), nn.Dropout(),
            nn.Conv2d(head, classes, 1, 1, bias=True), nn.AdaptiveMaxPool2d(1), nn.Flatten())

    def forward(self, x):
        if x.shape[1] == 1:
            x = x.expand(-1, 3, -1, -1)
        tap = self.mtl_vgg_core.v1_block(x)
        neural = torch.cat([F.elu(r(tap) - 1) + 1 for r in self.v1_readout.values()], 1)
        if not hasattr(self, "classification_readout"):
            return None, neural
        return self.classification_readout(self.mtl_vgg_core.unshared_block(tap)), neural


def mtl_small():
    torch.manual_seed(2)
    m = MTL(SMALL_E, [("3631896544452", 5), ("3632669014376", 3)], 7, 16)
    return randomize(m, 2)


def predictor_small():
    torch.manual_seed(5)
    m = MTL(SMALL_E, [("3631896544452", 4), ("3632669014376", 6), ("3633367034377", 2)], 0, 0)
    return randomize(m, 5)


def build(name):
    if name == "vgg19bn_small":
        return vgg19bn_small(), (2, 3, 32, 32)
    if name == "mtl_small":
        return mtl_small(), (2, 1, 32, 32)
    if name == "predictor_small":
        return predictor_small(), (2, 1, 32, 32)
    torch.manual_seed(3)
    if name == "vgg19bn":
        return randomize(torchvision.models.vgg19_bn(), 3), (1, 3, 224, 224)
    if name in ("resnet18", "resnet34"):
        return randomize(getattr(torchvision.models, name)(), 4), (2, 3, 64, 64)
    raise SystemExit("unknown model " + name)


def outputs(model, x):
    with torch.no_grad():
        out = model(x)
    if isinstance(out, tuple):
        return (None if out[0] is None else out[0].numpy()), out[1].numpy()
    return out.numpy(), None


def make(name, d):
    model, shape = build(name)
    g = torch.Generator().manual_seed(100)
    x = torch.randn(*shape, generator=g)
    torch.save(model.state_dict(), os.path.join(d, name + ".pt"))
    np.save(os.path.join(d, name + ".input.npy"), x.numpy())
    logits, readout = outputs(model, x)
    if logits is not None:
        np.save(os.path.join(d, name + ".logits.npy"), logits)
    if readout is not None:
        np.save(os.path.join(d, name + ".readout.npy"), readout)


def check(d, name, path):
    model, _ = build(name)
    sd = torch.load(path, weights_only=True)  # the safe loader takes the export too
    model.load_state_dict(sd, strict=True)
    model.eval()
    x = torch.from_numpy(np.load(os.path.join(d, name + ".input.npy")))
    logits, readout = outputs(model, x)
    result = {"model": name}
    if logits is not None:
        result["logits"] = float(np.abs(logits - np.load(os.path.join(d, name + ".logits.npy"))).max())
    if readout is not None:
        result["readout"] = float(np.abs(readout - np.load(os.path.join(d, name + ".readout.npy"))).max())
    print(json.dumps(result))


if __name__ == "__main__":
    if len(sys.argv) < 3:
        raise SystemExit(__doc__)
    cmd = sys.argv[1]
    if cmd == "make":
        for n in sys.argv[3:] or ["vgg19bn_small", "mtl_small", "predictor_small"]:
            make(n, sys.argv[2])
    elif cmd == "check":
        rest = sys.argv[2:]
        for name, d, path in zip(rest[::3], rest[1::3], rest[2::3]):
            check(d, name, path)
    else:
        raise SystemExit(__doc__)
