"""Writes the fixture of cotrain's similarity metric tests.

Run with Debian's NumPy: cd similarity/testdata && /usr/bin/python3 gen_fixture.py

small_rec.npz      a two-scan recording in cotrain's recordings format
                   (docs/recordings.md): 10 single-trial images and 4 oracle
                   images (3 repeats in scan 0, 4 in scan 1)
small_expected.npz model predictions fed to the Go code, and Li et al.'s
                   quantities computed here independently with NumPy:
                   w (Eq. 1), v, S_data (Eq. 2), S_oracle (Eq. 3),
                   S_model (Eq. 6), the scan-averaged target and the Fig. 1D
                   correlations.
"""
import json

import numpy as np

rng = np.random.default_rng(2019)
H = W = 4
n_single, n_oracle = 10, 4
n_img = n_single + n_oracle
images = rng.integers(0, 256, size=(n_img, H, W), dtype=np.uint8)
oracle_rows = np.arange(n_single, n_img)  # the last four images are the oracle images
neurons = [6, 5]
repeats = [3, 4]

arrays = {}
expected = {}
sessions = []
for k, (m, rep) in enumerate(zip(neurons, repeats)):
    tuning = rng.gamma(2.0, 1.0, size=(n_img, m))  # each neuron's mean response to each image
    sched = np.concatenate([np.arange(n_single), np.repeat(oracle_rows, rep)])
    sched = sched[rng.permutation(len(sched))]
    test = np.isin(sched, oracle_rows)
    resp = rng.gamma(3.0, tuning[sched] / 3.0).astype(np.float32)  # noisy trials
    p = f"session_{k:03d}/"
    arrays[p + "responses"] = resp
    arrays[p + "image_index"] = sched.astype(np.int64)
    arrays[p + "test"] = test
    arrays[p + "neuron_ids"] = np.arange(m, dtype=np.int64) + 100 * k
    sessions.append({"name": f"scan{k}"})

    # Oracle trials grouped by image, in image order, each group in trial order.
    groups = [np.flatnonzero(sched == img) for img in oracle_rows]
    order = np.concatenate(groups)
    r = resp.astype(np.float64)

    # Eq. 1: sigma^2 = Var_i(E_t r), eta^2 = E_i Var_t r, both ddof 1.
    means = np.stack([r[g].mean(0) for g in groups])
    sigma2 = means.var(0, ddof=1)
    eta2 = np.stack([r[g].var(0, ddof=1) for g in groups]).mean(0)
    w = np.sqrt(sigma2 / eta2)

    # Trial-level predictions of the oracle trials, image-level predictions
    # of every image (what a predictor with reference behaviour gives).
    pred_img = (tuning * rng.uniform(0.7, 1.3, size=tuning.shape)).astype(np.float32)
    pred_trials = (pred_img[sched[order]] * rng.uniform(0.8, 1.2, size=(len(order), m))).astype(np.float32)
    pred_trials[:, 0] = 1.5  # a constant prediction: v = 0 by the nnvision convention
    # v: nnvision correlation (population std + 1e-8), constant signals 0.
    y, yh = r[order], pred_trials.astype(np.float64)
    v = np.zeros(m)
    for a in range(m):
        if np.all(yh[:, a] == yh[0, a]) or np.all(y[:, a] == y[0, a]):
            continue
        zy = (y[:, a] - y[:, a].mean()) / (y[:, a].std() + 1e-8)
        zp = (yh[:, a] - yh[:, a].mean()) / (yh[:, a].std() + 1e-8)
        v[a] = np.mean(zy * zp)

    def unit_sim(x, scale):
        x = x * scale
        e = x - x.mean(0)
        e = e / np.linalg.norm(e, axis=1, keepdims=True)
        s = e @ e.T
        np.fill_diagonal(s, 1.0)
        return s

    # Eq. 2 on the single trials of the non-oracle images (one each), in image order.
    single = np.array([np.flatnonzero(sched == i)[0] for i in range(n_single)])
    s_data = unit_sim(r[single], w)
    # Eq. 3: trial-level S_data over the oracle trials, then block means without self-pairs.
    s_trial = unit_sim(r[order], w)
    pos = np.cumsum([0] + [len(g) for g in groups])
    s_oracle = np.zeros((n_oracle, n_oracle))
    for i in range(n_oracle):
        for j in range(n_oracle):
            blk = s_trial[pos[i]:pos[i + 1], pos[j]:pos[j + 1]]
            if i == j:
                s_oracle[i, j] = (blk.sum() - np.trace(blk)) / (blk.size - len(blk))
            else:
                s_oracle[i, j] = blk.mean()
    # Eq. 6 with r_hat = w * max(v, 0) * rho_hat.
    scale = w * np.maximum(v, 0)
    s_model = unit_sim(pred_img[:n_single].astype(np.float64), scale)
    s_model_oracle = unit_sim(pred_img[oracle_rows].astype(np.float64), scale)

    iu = np.triu_indices(n_oracle, 1)
    data_pairs, oracle_pairs = [], []
    for i, j in zip(*iu):
        blk = s_trial[pos[i]:pos[i + 1], pos[j]:pos[j + 1]]
        data_pairs.extend(blk.ravel())
        oracle_pairs.extend([s_oracle[i, j]] * blk.size)
    r_data = np.corrcoef(data_pairs, oracle_pairs)[0, 1]
    r_model = np.corrcoef(s_model_oracle[iu], s_oracle[iu])[0, 1]

    q = f"s{k}_"
    expected[q + "pred_images"] = pred_img
    expected[q + "oracle_trials"] = order.astype(np.int64)
    expected[q + "pred_trials"] = pred_trials
    expected[q + "w"] = w
    expected[q + "v"] = v
    expected[q + "s_data"] = s_data
    expected[q + "s_trial"] = s_trial
    expected[q + "s_oracle"] = s_oracle
    expected[q + "s_model"] = s_model
    expected[q + "s_model_oracle"] = s_model_oracle
    expected[q + "r_data_oracle"] = np.float64(r_data)
    expected[q + "r_model_oracle"] = np.float64(r_model)
    expected.setdefault("target_model", np.zeros((n_single, n_single)))
    expected["target_model"] = expected["target_model"] + s_model / len(neurons)

meta = {"format": "cotrain-recordings", "version": 1, "image_range": [0, 255], "sessions": sessions,
        "source": "similarity/testdata/gen_fixture.py", "pixels_per_degree": 0, "response_window": "synthetic",
        "notes": "fixture of the similarity metric tests"}
arrays["metadata"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
arrays["images"] = images
arrays["image_ids"] = np.arange(1, n_img + 1, dtype=np.int64)
np.savez_compressed("small_rec.npz", **arrays)
np.savez_compressed("small_expected.npz", **expected)
print("r(S_data, S_oracle) =", [float(expected[f"s{k}_r_data_oracle"]) for k in range(2)],
      "r(S_model, S_oracle) =", [float(expected[f"s{k}_r_model_oracle"]) for k in range(2)])
