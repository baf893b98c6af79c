"""Writes a synthetic mouse recording at Li et al.'s scale for the memory
and time measurement of "cotrain similarity" (docs/similarity.md).

8 scans of 5,000 neurons, 5,100 images of 36x64 pixels (5,000 shown once,
100 oracle images shown 10 times): 6,000 trials a scan, with behaviour, in
cotrain's recordings format (docs/recordings.md). Responses are
gamma-distributed around a random low-rank tuning so that the similarity
matrices have structure; they are not meant to look like cortex.

Run with Debian's NumPy: /usr/bin/python3 large_mouse_recording.py OUT.npz [SINGLE]

SINGLE (default 5000) sets the number of single-trial images: a small
recording with the same scans and neurons (e.g. 200) trains a predictor of
the right shape in minutes instead of hours, for the measurement only.
"""
import json
import sys
import zipfile

import numpy as np

scans, neurons, oracle, repeats, H, W = 8, 5000, 100, 10, 36, 64
single = int(sys.argv[2]) if len(sys.argv) > 2 else 5000
rng = np.random.default_rng(5)
n_img = single + oracle
images = rng.integers(0, 256, size=(n_img, H, W), dtype=np.uint8)
latent = rng.normal(size=(n_img, 20)).astype(np.float32)

meta = {"format": "cotrain-recordings", "version": 1, "image_range": [0, 255],
        "sessions": [{"name": f"scan{k}"} for k in range(scans)],
        "source": "docs/scripts/large_mouse_recording.py", "pixels_per_degree": 0,
        "response_window": "synthetic", "notes": "memory measurement of cotrain similarity"}


def member(zf, name, arr):
    # One member at a time, so the writer holds one scan's responses.
    with zf.open(name + ".npy", "w", force_zip64=True) as f:
        np.lib.format.write_array(f, np.ascontiguousarray(arr), allow_pickle=False)


with zipfile.ZipFile(sys.argv[1], "w", zipfile.ZIP_STORED, allowZip64=True) as zf:
    member(zf, "metadata", np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8))
    member(zf, "images", images)
    member(zf, "image_ids", np.arange(1, n_img + 1, dtype=np.int64))
    for k in range(scans):
        sched = np.concatenate([np.arange(single), np.repeat(np.arange(single, n_img), repeats)])
        sched = sched[rng.permutation(len(sched))]
        t = len(sched)
        mix = rng.normal(size=(20, neurons)).astype(np.float32)
        rate = np.exp(0.3 * (latent[sched] @ mix) / np.sqrt(20)).astype(np.float32)
        resp = rng.gamma(2.0, rate / 2.0).astype(np.float32)
        p = f"session_{k:03d}/"
        member(zf, p + "responses", resp)
        del resp, rate
        member(zf, p + "image_index", sched.astype(np.int64))
        member(zf, p + "test", sched >= single)
        member(zf, p + "neuron_ids", np.arange(neurons, dtype=np.int64) + k * neurons)
        member(zf, p + "pupil_center", rng.normal(size=(t, 2)).astype(np.float32))
        member(zf, p + "pupil_size", rng.normal(20, 2, size=t).astype(np.float32))
        member(zf, p + "running_speed", np.abs(rng.normal(0, 5, size=t)).astype(np.float32))
print("wrote", sys.argv[1])
