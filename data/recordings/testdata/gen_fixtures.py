"""Writes the small fixtures for cotrain's data/recordings tests.

Run from this directory with /usr/bin/python3 (NumPy, scikit-image 0.19):

    /usr/bin/python3 gen_fixtures.py

It makes
  csrf/images/individual/NNNNNN.npy   six 2-D uint8 images (ids 1..6)
  csrf/neuronal_data/*.pickle         three sessions, pickle protocols 2, 4, 5
  csrf_expected.npz                   the loader's expected output, computed
                                      with NumPy and skimage the way nnvision does
  bad/*.pickle                        malformed sessions
  cadena.pkl, cadena_expected.npz     a tiny Cadena-2019-style pickle
"""
import os
import pickle

import numpy as np
from skimage.transform import rescale

rng = np.random.RandomState(7)

CROP, SCALE, BINS = 3, 0.4, 12
os.makedirs("csrf/images/individual", exist_ok=True)
os.makedirs("csrf/neuronal_data", exist_ok=True)
os.makedirs("bad", exist_ok=True)

# Images: 23x23 uint8, cropped to 17x17 and rescaled by 0.4 to 7x7.
raw = rng.randint(0, 256, size=(6, 23, 23)).astype(np.uint8)
expected = {}
trans = []
for i, img in enumerate(raw):
    np.save(f"csrf/images/individual/{i + 1:06d}.npy", img)
    x = np.stack((img,) * 3, axis=-1)
    h, w = x.shape[:2]
    x = x[CROP:h - CROP, CROP:w - CROP, ...]
    x = rescale(x, SCALE, mode="reflect", multichannel=True, anti_aliasing=False,
                preserve_range=True).astype(x.dtype)
    trans.append(x[:, :, 0])
expected["images"] = np.stack(trans)

# Sessions: (neurons, time_bins, images) spike counts in 10 ms bins.
sessions = [("sessA.pickle", "3631896544452", 2, 3),
            ("sessB.pickle", "3631807112901", 4, 2),
            ("sessC.pickle", "3632669014376", 5, 4)]
for k, (fname, sid, proto, neurons) in enumerate(sessions):
    train_ids = rng.randint(1, 5, size=7)          # ids 1..4 are training images
    test_ids = np.repeat(np.array([5, 6]), 3)      # ids 5, 6 repeated 3 times
    tr = rng.poisson(0.4, size=(neurons, 14, len(train_ids))).astype(np.float64)
    te = rng.poisson(0.4, size=(neurons, 14, len(test_ids))).astype(np.float64)
    d = {"subject_id": 2 if k else 1, "session_id": sid,
         "training_responses": tr, "testing_responses": te,
         "training_image_ids": train_ids, "testing_image_ids": test_ids}
    with open(f"csrf/neuronal_data/{fname}", "wb") as f:
        pickle.dump(d, f, protocol=proto)
    # Expected: images x neurons, summed over bins 0..11, train then test.
    resp = np.concatenate([tr.transpose(2, 0, 1)[:, :, :BINS].sum(-1),
                           te.transpose(2, 0, 1)[:, :, :BINS].sum(-1)])
    expected[f"s{k}_responses"] = resp.astype(np.float32)
    expected[f"s{k}_image_index"] = np.concatenate([train_ids, test_ids]) - 1
    expected[f"s{k}_test"] = np.r_[np.zeros(len(train_ids), bool), np.ones(len(test_ids), bool)]
np.savez("csrf_expected.npz", **{k: np.ascontiguousarray(v) for k, v in expected.items()})

# Malformed sessions.
good = {"session_id": "x", "training_responses": np.zeros((2, 14, 3)),
        "testing_responses": np.zeros((2, 14, 2)),
        "training_image_ids": np.array([1, 2, 3]), "testing_image_ids": np.array([5, 5])}
bad = dict(good); del bad["testing_image_ids"]
pickle.dump(bad, open("bad/missing_key.pickle", "wb"))
bad = dict(good); bad["training_responses"] = np.zeros((2, 14, 4))
pickle.dump(bad, open("bad/wrong_shape.pickle", "wb"))
bad = dict(good); bad["training_responses"] = np.zeros((2, 5, 3))
pickle.dump(bad, open("bad/few_bins.pickle", "wb"))
bad = dict(good); bad["training_image_ids"] = np.array([1, 2, 99])
pickle.dump(bad, open("bad/unknown_image.pickle", "wb"))
blob = pickle.dumps(good, protocol=4)
open("bad/truncated.pickle", "wb").write(blob[: len(blob) // 2])

# Cadena 2019 style: responses (reps x images x neurons) with NaN for the
# repeats a 2-repeat session did not record.
reps, n_img, n_neu = 4, 10, 5
images = rng.rand(n_img, 8, 8) * 255
resp = rng.poisson(2.0, size=(reps, n_img, n_neu)).astype(np.float64)
session_id = np.array([3631896544452] * 2 + [3632669014376] * 3)
repetitions = np.array([4, 4, 2, 2, 2])
resp[2:, :, repetitions == 2] = np.nan
resp[0, 3, 0] = np.nan  # one isolated missing value
cad = {"images": images, "responses": resp, "repetitions": repetitions,
       "image_ids": np.arange(101, 101 + n_img).reshape(-1, 1),
       "image_types": np.array(["original", "conv1", "conv2", "conv3", "conv4"] * 2).reshape(-1, 1),
       "subject_id": np.array([3, 3, 3, 3, 3]), "session_id": session_id,
       "unit_id": np.array([1, 2, 1, 2, 3])}
pickle.dump(cad, open("cadena.pkl", "wb"), protocol=3)
n_train = int(n_img * 0.8)
out = {}
for k, sess in enumerate([3631896544452, 3632669014376]):
    neu = np.where(session_id == sess)[0]
    r = resp[:, :, neu]                           # reps x images x neurons
    keep = ~np.all(np.isnan(r), axis=2)           # trials with any response
    rep_idx, img_idx = np.nonzero(keep)           # rep-major order
    out[f"s{k}_responses"] = np.nan_to_num(r[rep_idx, img_idx]).astype(np.float32)
    out[f"s{k}_valid"] = ~np.isnan(r[rep_idx, img_idx])
    out[f"s{k}_image_index"] = img_idx
    out[f"s{k}_test"] = img_idx >= n_train
out["images"] = images.astype(np.float32)
np.savez("cadena_expected.npz", **{k: np.ascontiguousarray(v) for k, v in out.items()})
