"""Writes the JPEG decoding references in pil/: small colourful JPEGs
encoded by Pillow and Pillow's own decoding of them (img.convert("RGB"),
raw bytes, HWC). Run with Debian's python3-pil and python3-numpy from this
folder: /usr/bin/python3 make_pil_jpegs.py. The files were made with
Pillow 9.4 (libjpeg-turbo 2.1).
"""
import numpy as np
from PIL import Image

rng = np.random.default_rng(2021)
cases = [  # name, height, width, subsampling (0 = 4:4:4, 1 = 4:2:2, 2 = 4:2:0), quality
    ("s420_63x61", 63, 61, 2, 75),
    ("s420_64x64", 64, 64, 2, 90),
    ("s422_17x13", 17, 13, 1, 60),
    ("s444_8x9", 8, 9, 0, 85),
]
for name, h, w, sub, q in cases:
    y, x = np.mgrid[0:h, 0:w]
    img = np.zeros((h, w, 3))
    for c in range(3):
        f = rng.uniform(0.05, 0.6, 2)
        ph = rng.uniform(0, 6.3, 2)
        img[..., c] = 128 + 100 * np.sin(f[0] * x + ph[0]) * np.cos(f[1] * y + ph[1])
    img += rng.normal(0, 20, img.shape)
    Image.fromarray(np.clip(img, 0, 255).astype(np.uint8), "RGB").save(
        "pil/%s.jpg" % name, quality=q, subsampling=sub)
gray = np.clip(rng.normal(128, 50, (12, 10)), 0, 255).astype(np.uint8)
Image.fromarray(gray, "L").save("pil/gray_12x10.jpg", quality=80)
for name in [c[0] for c in cases] + ["gray_12x10"]:
    rgb = np.asarray(Image.open("pil/%s.jpg" % name).convert("RGB"))
    open("pil/%s.rgb" % name, "wb").write(rgb.tobytes())
