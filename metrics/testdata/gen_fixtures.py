#!/usr/bin/python3
"""Independent reference values for the evaluate package tests.

Writes testdata/fixtures.json: small fixed inputs together with the neural
metrics (single-trial correlation, correlation to the repeat average, FEV,
FEVe, jackknife and conservative oracle correlations) and OLS regressions
(coefficients, standard errors, t statistics, two-sided p-values, R^2),
computed here with NumPy and scipy.stats.t straight from the definitions in
docs/metrics.md.

Run from the repository root (needs python3-numpy and python3-scipy):

    /usr/bin/python3 evaluate/testdata/gen_fixtures.py

The inputs come from a fixed NumPy seed, so the output is reproducible.
"""

import json
import os

import numpy as np
from scipy import stats

EPS = 1e-8


def clean(a):
    """The package convention: an undefined (NaN or infinite) metric is 0."""
    a = np.asarray(a, dtype=float)
    return np.where(np.isfinite(a), a, 0.0)


def corr(x, y):
    """Per-column correlation, centring and dividing by std (ddof 0) + 1e-8."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    zx = (x - x.mean(axis=0)) / (x.std(axis=0, ddof=0) + EPS)
    zy = (y - y.mean(axis=0)) / (y.std(axis=0, ddof=0) + EPS)
    return clean((zx * zy).mean(axis=0))


def neural_metrics(image_ids, responses, predictions):
    """All neural metrics from flat per-trial arrays (trials x neurons)."""
    image_ids = np.asarray(image_ids)
    responses = np.asarray(responses, dtype=float)
    predictions = np.asarray(predictions, dtype=float)
    order = []
    for i in image_ids:
        if i not in order:
            order.append(i)
    groups = [responses[image_ids == i] for i in order]
    preds = [predictions[image_ids == i].mean(axis=0) for i in order]

    single = corr(responses, predictions)
    avg = corr(np.array([g.mean(axis=0) for g in groups]), np.array(preds))

    rep = [k for k, g in enumerate(groups) if g.shape[0] >= 2]
    pooled = np.vstack([groups[k] for k in rep])
    v_tot = pooled.var(axis=0, ddof=1)
    v_noise = np.mean([groups[k].var(axis=0, ddof=1) for k in rep], axis=0)
    mse = np.vstack([(groups[k] - preds[k]) ** 2 for k in rep]).mean(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        fev = clean((v_tot - v_noise) / v_tot)
        feve = clean(1 - (mse - v_noise) / (v_tot - v_noise))

    # Jackknife oracle: each trial against the mean of the other repeats.
    loo = np.vstack([(groups[k].sum(axis=0) - groups[k]) / (groups[k].shape[0] - 1) for k in rep])
    oracle = corr(pooled, loo)

    # Conservative oracle: Vm / sqrt(Vm (Vm + Vn)), population variances.
    vn = np.mean([groups[k].var(axis=0) for k in rep], axis=0)
    vm = np.array([groups[k].mean(axis=0) for k in rep]).var(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        cons = clean(vm / np.sqrt(vm * (vm + vn)))

    return {
        "single_trial_correlation": single.tolist(),
        "average_correlation": avg.tolist(),
        "total_variance": v_tot.tolist(),
        "noise_variance": v_noise.tolist(),
        "fev": fev.tolist(),
        "mse": mse.tolist(),
        "feve": feve.tolist(),
        "oracle_correlation": oracle.tolist(),
        "conservative_oracle_correlation": cons.tolist(),
    }


def neural_case(rng, name, repeats, neurons, constant_neuron=None, constant_prediction=None):
    """Random repeated responses with an image-driven signal, in shuffled trial order."""
    ids = rng.choice(np.arange(10, 100), size=len(repeats), replace=False)
    signal = rng.gamma(2.0, 1.5, size=(len(repeats), neurons))
    trial_ids, resp, pred = [], [], []
    for k, r in enumerate(repeats):
        for _ in range(r):
            trial_ids.append(int(ids[k]))
            resp.append(rng.poisson(signal[k]).astype(float) + rng.normal(0, 0.3, size=neurons))
            pred.append(0.8 * signal[k] + 0.4)
    perm = rng.permutation(len(trial_ids))
    trial_ids = [trial_ids[p] for p in perm]
    resp = np.array(resp)[perm]
    pred = np.array(pred)[perm]
    if constant_neuron is not None:
        resp[:, constant_neuron] = 2.0
    if constant_prediction is not None:
        pred[:, constant_prediction] = 1.5
    return {
        "name": name,
        "image_ids": trial_ids,
        "responses": resp.tolist(),
        "predictions": pred.tolist(),
        "want": neural_metrics(trial_ids, resp, pred),
    }


def ols(y, columns, names):
    """OLS with intercept; SEs from sigma^2 (X'X)^-1 via the QR factor R."""
    y = np.asarray(y, dtype=float)
    X = np.column_stack([np.ones_like(y)] + [np.asarray(c, dtype=float) for c in columns])
    n, p = X.shape
    q, r = np.linalg.qr(X)
    beta = np.linalg.solve(r, q.T @ y)
    resid = y - X @ beta
    df = n - p
    rss = float(resid @ resid)
    sigma2 = rss / df
    rinv = np.linalg.inv(r)
    cov = sigma2 * (rinv @ rinv.T)
    # Cross-check against the textbook normal-equation formula.
    beta_ne = np.linalg.solve(X.T @ X, X.T @ y)
    assert np.allclose(beta, beta_ne, rtol=1e-7, atol=0), (beta, beta_ne)
    se = np.sqrt(np.diag(cov))
    t = beta / se
    pval = 2 * stats.t.sf(np.abs(t), df)
    tss = float(((y - y.mean()) ** 2).sum())
    r2 = 1 - rss / tss
    return {
        "names": ["intercept"] + names,
        "coef": beta.tolist(),
        "stderr": se.tolist(),
        "t": t.tolist(),
        "p": pval.tolist(),
        "r2": r2,
        "adj_r2": 1 - (1 - r2) * (n - 1) / df,
        "n": n,
        "df": df,
        "residual_std_err": float(np.sqrt(sigma2)),
    }


def main():
    rng = np.random.default_rng(20210728)

    flat_x = rng.normal(size=(20, 3))
    flat_y = 0.6 * flat_x + rng.normal(size=(20, 3))
    flat_y[:, 2] = -flat_y[:, 2]
    flat = {
        "responses": flat_x.tolist(),
        "predictions": flat_y.tolist(),
        "want": corr(flat_x, flat_y).tolist(),
    }

    neural = [
        # Unequal repeats; one image has a single repeat (excluded from the
        # repeat-based metrics); neuron 2 never varies; the prediction of
        # neuron 3 never varies.
        neural_case(rng, "unequal_repeats", [3, 4, 2, 5, 3, 1], 4, constant_neuron=2, constant_prediction=3),
        neural_case(rng, "equal_repeats", [4, 4, 4, 4, 4], 3),
    ]

    # A Fig. 3C-like data set: 12 batch ratios x 5 seeds.
    n = 60
    clean_acc = rng.normal(47.0, 1.2, size=n)
    fev = rng.uniform(0.2, 0.55, size=n)
    robust = 20.0 + 1.2 * clean_acc + 54.7 * fev + rng.normal(0, 3.0, size=n)
    regression = {
        "y": robust.tolist(),
        "clean": clean_acc.tolist(),
        "neural": fev.tolist(),
        "additive": ols(robust, [clean_acc, fev], ["clean", "neural"]),
        "interaction": ols(robust, [clean_acc, fev, clean_acc * fev], ["clean", "neural", "clean:neural"]),
        "line": ols(robust, [fev], ["neural"]),
    }

    out = {"flat_correlation": flat, "neural": neural, "regression": regression}
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures.json")
    with open(path, "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
