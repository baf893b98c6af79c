"""Writes the ResNet fixtures of models/resnet_test.go with PyTorch 1.13 and
torchvision 0.14 (Debian's python3-torch, python3-torchvision):

  resnet_params.json  torchvision's trainable parameter counts of the CIFAR
                      variant (conv1 replaced by a 3×3 stride-1 convolution,
                      maxpool removed) for several configurations;
  resnet_forward.npz  a tiny random-weight ResNet-18 in eval mode: its
                      state_dict (torchvision names), an input batch, the
                      logits and the Li taps (stem and each stage), NCHW;
  resnet_train.npz    the same network in training mode on another batch:
                      the cross-entropy loss, the gradients of some
                      parameters and the running statistics after the step.

Run from this folder: /usr/bin/python3 resnet_torch.py
"""
import json

import numpy as np
import torch
import torchvision


def cifar_resnet(depth, width, classes, in_ch):
    """torchvision's ResNet with the CIFAR stem and base width `width`."""
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
        net.bn1 = torch.nn.BatchNorm2d(width)
        net.fc = torch.nn.Linear(8 * width, classes)
    net.conv1 = torch.nn.Conv2d(in_ch, width, 3, 1, 1, bias=False)
    net.maxpool = torch.nn.Identity()
    return net


def count(net):
    return sum(p.numel() for p in net.parameters() if p.requires_grad)


configs = [
    (18, 64, 10, 3), (18, 64, 10, 1), (18, 64, 100, 1),
    (34, 64, 10, 3), (34, 64, 100, 1), (18, 16, 10, 1), (18, 8, 10, 1),
]
params = [{"depth": d, "width": w, "classes": c, "input_channels": i,
           "params": count(cifar_resnet(d, w, c, i))} for d, w, c, i in configs]
with open("resnet_params.json", "w") as f:
    json.dump(params, f, indent=1)
    f.write("\n")

torch.manual_seed(16)
net = cifar_resnet(18, 4, 5, 3).double()
with torch.no_grad():
    for m in net.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.weight.uniform_(0.5, 1.5)
            m.bias.uniform_(-0.3, 0.3)
            m.running_mean.uniform_(-0.3, 0.3)
            m.running_var.uniform_(0.5, 1.5)
net.eval()
x = torch.randn(2, 3, 12, 12, dtype=torch.float64)
with torch.no_grad():
    stem = net.relu(net.bn1(net.conv1(x)))
    taps = [stem]
    h = stem
    for stage in (net.layer1, net.layer2, net.layer3, net.layer4):
        h = stage(h)
        taps.append(h)
    logits = net(x)
arrays = {k: v.numpy() for k, v in net.state_dict().items() if v.dtype == torch.float64}
arrays["input"] = x.numpy()
arrays["logits"] = logits.numpy()
for name, t in zip(["conv1", "layer1", "layer2", "layer3", "layer4"], taps):
    arrays["tap." + name] = t.numpy()
np.savez("resnet_forward.npz", **arrays)
for p in params:
    print(p)

net.train()
xt = torch.randn(4, 3, 12, 12, dtype=torch.float64)
yt = torch.tensor([1, 3, 0, 4])
loss = torch.nn.functional.cross_entropy(net(xt), yt)
loss.backward()
train = {"input": xt.numpy(), "labels": yt.numpy().astype(np.int64), "loss": loss.detach().numpy()}
params = dict(net.named_parameters())
for name in ["conv1.weight", "bn1.weight", "bn1.bias", "layer1.1.conv2.weight", "layer2.0.downsample.0.weight",
             "layer3.1.bn2.weight", "layer4.1.conv2.weight", "fc.weight", "fc.bias"]:
    train["grad." + name] = params[name].grad.numpy()
buffers = dict(net.named_buffers())
for name in ["bn1", "layer2.0.downsample.1", "layer4.1.bn2"]:
    for stat in ["running_mean", "running_var"]:
        train["after.%s.%s" % (name, stat)] = buffers[name + "." + stat].numpy()
np.savez("resnet_train.npz", **train)
