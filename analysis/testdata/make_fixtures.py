"""Fixtures of analysis's Fourier code, written with numpy alone.

Run with /usr/bin/python3 (numpy) from this folder:

    /usr/bin/python3 make_fixtures.py

It writes fixtures.npz: two random images (8×6, sizes that are not powers of
two), numpy's fft2 of the first, the spectral control of the first as the
reconstruction with the second's phase, and the spectral-residual saliency
(Hou & Zhang 2007 as analysis implements it: 3×3 mean of the log amplitude,
|ifft2(exp(R + iP))|², Gaussian σ = 2.5 with 11 taps, replicated borders,
normalized to sum 1) of a 16×12 test image with a bright square.
"""
import numpy as np

rng = np.random.default_rng(18)
h, w = 8, 6
rec = rng.standard_normal((h, w))
orig = rng.standard_normal((h, w))
F = np.fft.fft2(rec)

amp = np.abs(np.fft.fft2(rec))
phase = np.angle(np.fft.fft2(orig))
control = np.real(np.fft.ifft2(amp * np.exp(1j * phase)))
control *= np.linalg.norm(rec) / np.linalg.norm(control)


def separable(x, kern):
    half = len(kern) // 2
    p = np.pad(x, half, mode="edge")
    rows = sum(k * p[half:-half or None, t:t + x.shape[1]] for t, k in enumerate(kern))
    rows = np.pad(rows, ((half, half), (0, 0)), mode="edge")
    return sum(k * rows[t:t + x.shape[0], :] for t, k in enumerate(kern))


def spectral_residual(img):
    f = np.fft.fft2(img)
    log_a = np.log(np.maximum(np.abs(f), 1e-12))
    resid = log_a - separable(log_a, np.full(3, 1 / 3))
    sal = np.abs(np.fft.ifft2(np.exp(resid + 1j * np.angle(f)))) ** 2
    half = 5
    d = np.arange(-half, half + 1)
    g = np.exp(-d * d / (2 * 2.5 ** 2))
    sal = separable(sal, g / g.sum())
    return sal / sal.sum()


sal_img = 0.1 * rng.standard_normal((16, 12))
sal_img[4:8, 6:10] += 2.0
saliency = spectral_residual(sal_img)

arrays = dict(rec=rec, orig=orig, fft_real=F.real, fft_imag=F.imag,
              control=control, sal_img=sal_img, saliency=saliency)
np.savez("fixtures.npz", **{k: np.ascontiguousarray(v) for k, v in arrays.items()})
