"""Writes similarity_torch.json: Li et al. 2019's similarity regularizer
computed by PyTorch in float64, for TestSimilarityLossMatchesTorch and
TestSimilarityStepMatchesTorch.

Run with Debian's python3-torch: /usr/bin/python3 similarity_torch.py

Part "loss": two layers' features of 6 images, the layer logits, a target
matrix and a clamp; the mixture S = sum_k softmax(logits)_k S_k of the
centred cosines, the loss mean_{i<j} (atanh S_ij - atanh T_ij)^2 with both
clamped to [-1+clamp, 1-clamp], and its gradient with respect to the
features and the logits. Images 4 and 5 are nearly the same in both layers,
so their cosine is clamped; one target entry lies beyond the clamp.

Part "step": one SGD step (lr 0.1, momentum 0.9, weight decay 5e-4 on the
network, none on the logits) of a tiny VGG (conv1_1: 1->2 channels, pool,
conv2_1: 2->3, pool, a 1x1 output convolution to 3 classes, global max-pool;
batch norm after every 3x3 convolution) on L = CE(classification batch) +
alpha * L_sim(stimulus batch, conv1_1 and conv2_1), the classification batch
run first, then the stimulus batch (batch-norm statistics update after
each). Arrays are in PyTorch's layouts (NCHW, conv weights [out, in, kh, kw]).
"""
import json
import os

import torch
import torch.nn as tnn
import torch.nn.functional as F

torch.manual_seed(2019)
torch.set_default_dtype(torch.float64)
out = {}


def put(name, t):
    t = torch.as_tensor(t)
    out[name] = {"shape": list(t.shape), "data": t.detach().reshape(-1).tolist()}


def centred_cosines(f):
    x = f.reshape(f.shape[0], -1)
    c = x - x.mean(0, keepdim=True)
    u = c / torch.sqrt((c * c).sum(1, keepdim=True) + 1e-12)
    return u @ u.T


def atanh(x):
    return 0.5 * (torch.log1p(x) - torch.log1p(-x))


def similarity_loss(s, t, clamp):
    b = s.shape[0]
    iu = torch.triu_indices(b, b, 1)
    lo, hi = -1 + clamp, 1 - clamp
    d = atanh(s.clamp(lo, hi)) - atanh(t.clamp(lo, hi))
    return (d[iu[0], iu[1]] ** 2).mean()


def mixture(feats, logits):
    gamma = torch.softmax(logits, 0)
    return sum(g * centred_cosines(f) for g, f in zip(gamma, feats))


# Part "loss".
b = 6
f1 = torch.randn(b, 2, 3, 3)
f2 = torch.randn(b, 5)
f1[5] = f1[4] + 1e-5 * torch.randn(2, 3, 3)
f2[5] = f2[4] + 1e-5 * torch.randn(5)
logits = torch.tensor([0.3, -0.2])
r = torch.randn(b, 7)
target = centred_cosines(r)
target[0, 1] = target[1, 0] = 0.995
clamp = 0.01
f1.requires_grad_(True)
f2.requires_grad_(True)
logits.requires_grad_(True)
s = mixture([f1, f2], logits)
loss = similarity_loss(s, target, clamp)
loss.backward()
put("loss.f1", f1); put("loss.f2", f2); put("loss.logits", logits); put("loss.target", target)
put("loss.clamp", torch.tensor(clamp)); put("loss.s", s); put("loss.value", loss)
put("loss.grad_f1", f1.grad); put("loss.grad_f2", f2.grad); put("loss.grad_logits", logits.grad)


# Part "step".
class TinyVGG(tnn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = tnn.Conv2d(1, 2, 3, padding=1)
        self.bn1 = tnn.BatchNorm2d(2)
        self.conv2 = tnn.Conv2d(2, 3, 3, padding=1)
        self.bn2 = tnn.BatchNorm2d(3)
        self.out = tnn.Conv2d(3, 3, 1)

    def features(self, x):
        t1 = F.relu(self.bn1(self.conv1(x)))
        t2 = F.relu(self.bn2(self.conv2(F.max_pool2d(t1, 2))))
        return t1, t2

    def forward(self, x):
        _, t2 = self.features(x)
        return F.adaptive_max_pool2d(self.out(F.max_pool2d(t2, 2)), 1).flatten(1)


net = TinyVGG()
gamma_logits = tnn.Parameter(torch.tensor([0.4, -0.1]))
x = torch.randn(4, 1, 8, 8)
labels = torch.tensor([0, 2, 1, 2])
stim = torch.randn(5, 1, 8, 8)
step_target = centred_cosines(torch.randn(5, 9))
alpha, step_clamp = 20.0, 1e-4
for name, p in net.named_parameters():
    put("step.init." + name, p)
put("step.init.logits", gamma_logits)
put("step.x", x); put("step.labels", labels.double()); put("step.stim", stim); put("step.target", step_target)
put("step.alpha", torch.tensor(alpha)); put("step.clamp", torch.tensor(step_clamp))

opt = torch.optim.SGD([{"params": net.parameters(), "weight_decay": 5e-4},
                       {"params": [gamma_logits], "weight_decay": 0.0}], lr=0.1, momentum=0.9)
net.train()
logits_c = net(x)
ce = F.cross_entropy(logits_c, labels)
sim = similarity_loss(mixture(net.features(stim), gamma_logits), step_target, step_clamp)
total = ce + alpha * sim
opt.zero_grad()
total.backward()
opt.step()
put("step.ce", ce); put("step.sim", sim)
for name, p in net.named_parameters():
    put("step.after." + name, p)
put("step.after.logits", gamma_logits)
for name in ["bn1", "bn2"]:
    bn = getattr(net, name)
    put("step.after." + name + ".running_mean", bn.running_mean)
    put("step.after." + name + ".running_var", bn.running_var)

path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "similarity_torch.json")
with open(path, "w") as f:
    json.dump(out, f)
print("wrote", path, len(out), "arrays")
