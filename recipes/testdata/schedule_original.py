"""The original's stopping and learning-rate schedule on a synthetic objective.

Replays the training loop of neural_cotraining's trainer/early_stopping.py as
the spec (§3.4) describes it, with PyTorch's own ReduceLROnPlateau, on a fixed
objective sequence f(epoch) (a saturating curve with noise), and writes what
happens at every epoch to schedule_original.json: the learning rate used in
the epoch, whether the best weights are restored after it, and the epoch
training stops. cotrain's loop with [stopping] original_schedule = true must
reproduce it epoch by epoch (recipes/schedule_test.go).

Run with Debian's python3-torch and python3-numpy:
    /usr/bin/python3 recipes/testdata/schedule_original.py
"""
import json
import math
import os

import numpy as np
import torch

SETTINGS = dict(lr=0.1, factor=0.4, patience=5, threshold=1e-4, threshold_mode="rel",
                min_lr=1e-4, tolerance=1e-4, decay_steps=5, max_epochs=400)


def objectives(n, seed=7):
    rng = np.random.RandomState(seed)
    e = np.arange(n)
    # validation accuracy in percent: rises and saturates, with noise of
    # a few tenths of a point, so that plateaus and late improvements occur.
    return (62 - 45 * np.exp(-e / 9.0) + rng.normal(0, 0.35, n)).round(3).tolist()


def replay(f, s):
    param = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([param], lr=s["lr"])
    sched = torch.optim.lr_scheduler.ReduceLROnPlateau(
        opt, mode="max", factor=s["factor"], patience=s["patience"], threshold=s["threshold"],
        threshold_mode=s["threshold_mode"], min_lr=s["min_lr"])
    best = f[0]
    sched.step(f[0])  # the untrained model's objective is fed to the scheduler too
    epoch = 0
    records = []
    for _ in range(s["decay_steps"]):
        counter = -1
        while counter < s["patience"] and epoch < s["max_epochs"]:
            epoch += 1
            lr = opt.param_groups[0]["lr"]
            obj = f[epoch]
            sched.step(obj)
            if obj > best + s["tolerance"]:
                best, counter = obj, -1
            else:
                counter += 1
            records.append(dict(epoch=epoch, lr=lr, restore=False))
        if epoch < s["max_epochs"]:
            records[-1]["restore"] = True
    # the last exhaustion ends training: the loop above marks it as a
    # restore; the original restores the best weights once more and stops.
    records[-1]["restore"] = False
    return records, epoch


def main():
    f = objectives(201)
    records, stop = replay(f, SETTINGS)
    assert stop < len(f) - 1, "objective sequence too short"
    out = dict(settings=SETTINGS, objectives=f, epochs=records, stop_epoch=stop,
               torch_version=torch.__version__)
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "schedule_original.json")
    with open(path, "w") as fh:
        json.dump(out, fh, indent=1)
    print(f"{len(records)} epochs, stop after epoch {stop}, "
          f"{len({r['lr'] for r in records}) - 1} learning-rate reductions used in training")


if __name__ == "__main__":
    main()
