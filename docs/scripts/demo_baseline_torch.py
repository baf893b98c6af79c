"""The demo's Baseline in PyTorch: an independent check of what the reduced
VGG of experiment/presets/demo.toml reaches on Fashion-MNIST with the demo's
compute, and how the accuracy grows with more epochs (docs/fidelity.md).

The model is the demo's: five stages of 3x3 conv (zero bias init, Kaiming
normal fan-out weights) + batch norm + ReLU with 16, 32, 32-32, 64 and 64
channels, a 2x2 max-pool after each, then 1x1 convs 64 -> 256 -> ReLU ->
dropout 0.5 -> 10 and a global max-pool. Images are the first --train
images of the training file, zero-padded from 28x28 to 32x32 after
normalization with cotrain's Fashion-MNIST mean and std, without
augmentation. SGD with momentum 0.75 and weight decay 5e-4, batches of 128,
the learning rate annealed per epoch on a half cosine from --lr (cotrain
uses the paper's plateau schedule instead, see the note in
docs/fidelity.md). It prints the accuracy on all 10,000 test images after
every epoch. The other flags are the variants docs/fidelity.md lists.

Run with Debian's interpreter (torch 1.13), two threads:

    /usr/bin/python3 docs/scripts/demo_baseline_torch.py --seed 1 [--epochs 6]
"""

import argparse
import gzip
import json
import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

FOLDER = "/usr/share/datasets/fashion-mnist/"
MEAN, STD = 0.2860, 0.3531  # data.FashionMNISTMean, data.FashionMNISTStd
STAGES = "[[16], [32], [32, 32], [64], [64]]"


def read_idx(name):
    raw = gzip.open(FOLDER + name).read()
    rank = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(rank)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * rank).reshape(dims)


def images(name, count=None):
    x = torch.tensor(read_idx(name)[:count], dtype=torch.float32) / 255
    return F.pad((x - MEAN) / STD, (2, 2, 2, 2)).unsqueeze(1)


def labels(name, count=None):
    return torch.tensor(read_idx(name)[:count], dtype=torch.long)


def demo_vgg(stages, dropout):
    layers, channels = [], 1
    for stage in stages:
        for width in stage:
            layers += [nn.Conv2d(channels, width, 3, padding=1), nn.BatchNorm2d(width), nn.ReLU()]
            channels = width
        layers.append(nn.MaxPool2d(2))
    layers += [nn.Conv2d(channels, 256, 1), nn.ReLU(), nn.Dropout(dropout), nn.Conv2d(256, 10, 1),
               nn.AdaptiveMaxPool2d(1), nn.Flatten()]
    model = nn.Sequential(*layers)
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            nn.init.zeros_(m.bias)
    return model


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--train", type=int, default=15000, help="training images")
    p.add_argument("--epochs", type=int, default=6)
    p.add_argument("--lr", type=float, default=0.02)
    p.add_argument("--optimizer", choices=["sgd", "adam"], default="sgd")
    p.add_argument("--momentum", type=float, default=0.75)
    p.add_argument("--weight-decay", type=float, default=5e-4, help="(SGD only)")
    p.add_argument("--dropout", type=float, default=0.5)
    p.add_argument("--label-smoothing", type=float, default=0.0)
    p.add_argument("--flip", action="store_true", help="random horizontal flips")
    p.add_argument("--stages", default=STAGES, help="channels per stage, JSON")
    args = p.parse_args()
    torch.set_num_threads(2)
    torch.manual_seed(args.seed)
    x_train, y_train = images("train-images-idx3-ubyte.gz", args.train), labels("train-labels-idx1-ubyte.gz", args.train)
    x_test, y_test = images("t10k-images-idx3-ubyte.gz"), labels("t10k-labels-idx1-ubyte.gz")
    model = demo_vgg(json.loads(args.stages), args.dropout)
    if args.optimizer == "adam":
        opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    else:
        opt = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=args.momentum, weight_decay=args.weight_decay)
    for epoch in range(args.epochs):
        for group in opt.param_groups:
            group["lr"] = args.lr * 0.5 * (1 + math.cos(math.pi * epoch / args.epochs))
        model.train()
        order = torch.randperm(len(x_train))
        for i in range(0, len(order), 128):
            batch = order[i:i + 128]
            x = x_train[batch]
            if args.flip:
                flip = torch.rand(len(batch)) < 0.5
                x = torch.where(flip[:, None, None, None], x.flip(3), x)
            loss = F.cross_entropy(model(x), y_train[batch], label_smoothing=args.label_smoothing)
            opt.zero_grad()
            loss.backward()
            opt.step()
        model.eval()
        with torch.no_grad():
            correct = sum((model(x_test[i:i + 1000]).argmax(1) == y_test[i:i + 1000]).sum().item()
                          for i in range(0, len(x_test), 1000))
        print(f"seed {args.seed} epoch {epoch + 1}: test accuracy {100 * correct / len(x_test):.2f}% "
              f"on {len(x_test)} images", flush=True)


if __name__ == "__main__":
    main()
