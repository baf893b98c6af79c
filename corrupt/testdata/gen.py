#!/usr/bin/python3
"""Independent reference values for the corrupt package's tests.

Run with Debian's Python stack (python3-numpy 1.24, python3-scipy 1.10,
python3-skimage 0.19, python3-opencv 4.6, python3-pil 9.4, imagemagick 6.9):

    /usr/bin/python3 corrupt/testdata/gen.py

It writes corrupt/testdata/fixtures.bin.gz: a 4-byte little-endian length,
that many bytes of JSON, then a blob of raw little-endian arrays that the
JSON refers to as [offset, length] pairs. Every value is computed here by
calling the library primitives the ImageNet-C references build on (OpenCV
GaussianBlur/filter2D/resize/cvtColor/warpAffine, scipy.ndimage zoom/
map_coordinates/gaussian_filter, scikit-image rgb2hsv/hsv2rgb/gaussian,
Pillow resize/JPEG/convert, ImageMagick -motion-blur), composed by this
script following the algorithm descriptions in docs/corruptions.md; it does
not run or import any corruption library.
"""
import gzip
import io
import json
import os
import subprocess
import tempfile

import cv2
import numpy as np
import scipy.ndimage as ndi
import skimage.color
import skimage.filters
from PIL import Image

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures.bin.gz")


BLOB = bytearray()


def b64(a):
    """Stores the array's bytes in the blob; returns [offset, length]."""
    raw = np.ascontiguousarray(a).tobytes()
    off = len(BLOB)
    BLOB.extend(raw)
    return [off, len(raw)]


def f64list(a):
    """Float64 values, little-endian, in the blob."""
    return b64(np.asarray(a, dtype="<f8"))


def synthetic(h, w, c, seed):
    """A deterministic test image: gradients, a flat disc, bars, texture."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    fx, fy = x / w, y / h
    img = np.stack([40 + 170 * fx, 60 + 150 * fy, 120 + 80 * np.sin(6 * fx + 3 * fy + seed)], axis=-1)
    disc = (x - 0.55 * w) ** 2 + (y - 0.45 * h) ** 2 < (0.22 * min(h, w)) ** 2
    img[disc] = [230, 200, 40]
    bars = ((x.astype(int) // 5) % 4 == 0) & (y > 2 * h / 3)
    img[bars] = [15, 15, 25]
    img[2:9, 2:11] = [100, 150, 200]  # a flat patch away from the disc
    img += rng.uniform(-1.5, 1.5, size=(h, w, 1))
    img = np.clip(np.round(img), 0, 255).astype(np.uint8)
    if c == 1:
        img = np.array(Image.fromarray(img).convert("L"))[..., None]
    return img


def disk(radius, alias):
    if radius <= 8:
        L = np.arange(-8, 8 + 1)
        ks = (3, 3)
    else:
        L = np.arange(-radius, radius + 1)
        ks = (5, 5)
    X, Y = np.meshgrid(L, L)
    d = np.array((X ** 2 + Y ** 2) <= radius ** 2, dtype=np.float32)
    d /= np.sum(d)
    return cv2.GaussianBlur(d, ksize=ks, sigmaX=alias)


TABLES = {
    "imagenet": dict(
        defocus=[(3, 0.1), (4, 0.5), (6, 0.5), (8, 0.5), (10, 0.5)],
        zoom=[(1, 1.11, 0.01), (1, 1.16, 0.01), (1, 1.21, 0.02), (1, 1.26, 0.02), (1, 1.31, 0.03)],
        contrast=[0.4, 0.3, 0.2, 0.1, 0.05],
        brightness=[0.1, 0.2, 0.3, 0.4, 0.5],
        pixelate=[0.6, 0.5, 0.4, 0.3, 0.25],
        jpeg=[25, 18, 15, 10, 7],
    ),
    "tinyimagenet": dict(
        defocus=[(0.5, 0.6), (1, 0.1), (1.5, 0.1), (2.5, 0.01), (3, 0.1)],
        zoom=[(1, 1.06, 0.01), (1, 1.11, 0.01), (1, 1.16, 0.01), (1, 1.21, 0.01), (1, 1.26, 0.01)],
        contrast=[0.4, 0.3, 0.2, 0.1, 0.05],
        brightness=[0.1, 0.2, 0.3, 0.4, 0.5],
        pixelate=[0.9, 0.8, 0.7, 0.6, 0.5],
        jpeg=[65, 58, 50, 40, 25],
    ),
}


def defocus(img, radius, alias):
    x = img / 255.0
    k = disk(radius, alias)
    ch = [cv2.filter2D(x[:, :, d], -1, k) for d in range(x.shape[2])]
    return np.uint8(np.clip(np.stack(ch, axis=-1), 0, 1) * 255)


def clipped_zoom(img, z, trim):
    """Centre crop of ceil(n/z) per axis, scipy zoom(order=1); with trim,
    cut back to the input size symmetrically, else keep the top-left."""
    h, w = img.shape[:2]
    c0, c1 = int(np.ceil(h / float(z))), int(np.ceil(w / float(z)))
    t0, t1 = (h - c0) // 2, (w - c1) // 2
    out = ndi.zoom(img[t0:t0 + c0, t1:t1 + c1], (z, z, 1), order=1)
    if trim:
        a, b = (out.shape[0] - h) // 2, (out.shape[1] - w) // 2
        return out[a:a + h, b:b + w]
    return out[:h, :w]


def zoom_blur(img, rng_args, trim):
    x = (img / 255.0).astype(np.float32)
    out = np.zeros_like(x)
    zs = np.arange(*rng_args)
    for z in zs:
        out += clipped_zoom(x, z, trim)
    x = (x + out) / (len(zs) + 1)
    return np.uint8(np.clip(x, 0, 1) * 255)


def contrast(img, c):
    x = img / 255.0
    m = np.mean(x, axis=(0, 1), keepdims=True)
    return np.uint8(np.clip((x - m) * c + m, 0, 1) * 255)


def brightness(img, c):
    x = img / 255.0
    if x.shape[2] == 1:
        x = np.clip(x + c, 0, 1)
    else:
        x = skimage.color.rgb2hsv(x)
        x[:, :, 2] = np.clip(x[:, :, 2] + c, 0, 1)
        x = skimage.color.hsv2rgb(x)
    return np.uint8(np.clip(x, 0, 1) * 255)


def pil(img):
    return Image.fromarray(img[..., 0] if img.shape[2] == 1 else img)


def unpil(p, c):
    a = np.array(p)
    return a[..., None] if c == 1 else a


def pixelate(img, c, tiny):
    h, w, ch = img.shape
    p = pil(img).resize((int(w * c), int(h * c)), Image.BOX)
    p = p.resize((w, h), Image.BOX if tiny else Image.NEAREST)
    return unpil(p, ch)


def jpeg(img, q):
    ch = img.shape[2]
    p = pil(img)
    if ch == 1:
        p = p.convert("RGB")
    buf = io.BytesIO()
    p.save(buf, "JPEG", quality=q)
    p = Image.open(buf)
    if ch == 1:
        p = p.convert("L")
    return unpil(p, ch)


def magick_motion(gray, radius, sigma, angle):
    with tempfile.TemporaryDirectory() as d:
        src, dst = os.path.join(d, "in.png"), os.path.join(d, "out.png")
        Image.fromarray(gray).save(src)
        subprocess.run(["convert", src, "-motion-blur", f"{radius}x{sigma}+{angle}", dst], check=True)
        out = np.array(Image.open(dst))
    if out.ndim == 3:
        out = out[..., 0]
    return out


def plasma(mapsize, decay, draws):
    """Diamond-square with numpy.roll, fed a fixed sequence of uniforms."""
    it = iter(draws)
    m = np.empty((mapsize, mapsize))
    m[0, 0] = 0
    step = mapsize
    wib = 100.0

    def uni(shape):
        n = int(np.prod(shape))
        return np.array([next(it) for _ in range(n)]).reshape(shape)

    def wmean(a):
        return a / 4 + wib * (-wib + (wib - (-wib)) * uni(a.shape))

    while step >= 2:
        h = step // 2
        corner = m[0:mapsize:step, 0:mapsize:step]
        sq = corner + np.roll(corner, -1, axis=0)
        sq += np.roll(sq, -1, axis=1)
        m[h:mapsize:step, h:mapsize:step] = wmean(sq)
        dr = m[h:mapsize:step, h:mapsize:step]
        ul = m[0:mapsize:step, 0:mapsize:step]
        lt = (dr + np.roll(dr, 1, axis=0)) + (ul + np.roll(ul, -1, axis=1))
        m[0:mapsize:step, h:mapsize:step] = wmean(lt)
        tt = (dr + np.roll(dr, 1, axis=1)) + (ul + np.roll(ul, -1, axis=0))
        m[h:mapsize:step, 0:mapsize:step] = wmean(tt)
        step //= 2
        wib /= decay
    m -= m.min()
    return m / m.max()


def draw_sequence(n):
    """The uniforms both sides use: k/2^53 with k = (i·2654435761·97 + 12345) mod 2^53."""
    return [((i * 2654435761 * 97 + 12345) % (1 << 53)) for i in range(n)]


def main():
    fx = {}
    imgs = {
        "rgb": synthetic(32, 34, 3, 1),
        "gray": synthetic(36, 32, 1, 2),
    }
    fx["images"] = {k: dict(h=v.shape[0], w=v.shape[1], c=v.shape[2], pix=b64(v)) for k, v in imgs.items()}

    # Disk kernels of every (table, severity).
    fx["disk"] = []
    for t, p in TABLES.items():
        for s, (r, a) in enumerate(p["defocus"]):
            k = disk(r, a)
            fx["disk"].append(dict(table=t, severity=s + 1, n=k.shape[0], k=b64(k.astype("<f4"))))

    # numpy.arange zoom factors.
    fx["zoomfactors"] = [dict(table=t, severity=s + 1, z=f64list(np.arange(*a)))
                         for t, p in TABLES.items() for s, a in enumerate(p["zoom"])]

    # Deterministic corruptions.
    outs = []
    for t, p in TABLES.items():
        tiny = t == "tinyimagenet"
        for name, img in imgs.items():
            for s in range(5):
                if name == "gray" and (tiny or s not in (0, 4)):
                    continue
                outs.append(dict(table=t, image=name, corruption="defocus_blur", severity=s + 1,
                                 pix=b64(defocus(img, *p["defocus"][s]))))
                outs.append(dict(table=t, image=name, corruption="zoom_blur", severity=s + 1,
                                 pix=b64(zoom_blur(img, p["zoom"][s], tiny))))
                outs.append(dict(table=t, image=name, corruption="pixelate", severity=s + 1,
                                 pix=b64(pixelate(img, p["pixelate"][s], tiny))))
                if s in (0, 2, 4):
                    outs.append(dict(table=t, image=name, corruption="jpeg_compression", severity=s + 1,
                                     pix=b64(jpeg(img, p["jpeg"][s]))))
                if not tiny:
                    outs.append(dict(table=t, image=name, corruption="contrast", severity=s + 1,
                                     pix=b64(contrast(img, p["contrast"][s]))))
                    outs.append(dict(table=t, image=name, corruption="brightness", severity=s + 1,
                                     pix=b64(brightness(img, p["brightness"][s]))))
    # JPEG of an odd-sized image at the Tiny-ImageNet-C save quality.
    odd = synthetic(33, 37, 3, 4)
    fx["images"]["odd"] = dict(h=33, w=37, c=3, pix=b64(odd))
    outs.append(dict(table="imagenet", image="odd", corruption="final_jpeg85", severity=0,
                     pix=b64(jpeg(odd, 85))))
    fx["outputs"] = outs

    # Pillow nearest/box resize tables on awkward sizes.
    rs = []
    rng = np.random.default_rng(7)
    for (w, h, nw, nh) in [(38, 33, 64, 64), (25, 19, 100, 37), (57, 57, 64, 64), (64, 48, 45, 33), (100, 90, 33, 71)]:
        a = rng.integers(0, 256, size=(h, w), dtype=np.uint8)
        for f, fn in [("nearest", Image.NEAREST), ("box", Image.BOX)]:
            b = np.array(Image.fromarray(a).resize((nw, nh), fn))
            rs.append(dict(filter=f, w=w, h=h, nw=nw, nh=nh, src=b64(a), dst=b64(b)))
    fx["pilresize"] = rs

    # Pillow "L" conversion.
    a = rng.integers(0, 256, size=(32, 40, 3), dtype=np.uint8)
    fx["luminance"] = dict(src=b64(a), dst=b64(np.array(Image.fromarray(a).convert("L"))))

    # OpenCV resize of an RGB uint8 image (frost texture rescaling).
    a = rng.integers(0, 256, size=(47, 61, 3), dtype=np.uint8)
    a = cv2.GaussianBlur(a, (5, 5), 1.2)  # photograph-like smoothness
    fx["cvresize"] = [
        dict(kind="cubic", w=61, h=47, nw=68, nh=52, src=b64(a),
             dst=b64(cv2.resize(a, (68, 52), interpolation=cv2.INTER_CUBIC))),
        dict(kind="linear", w=61, h=47, nw=int(round(61 * 0.3)), nh=int(round(47 * 0.3)), src=b64(a),
             dst=b64(cv2.resize(a, (0, 0), fx=0.3, fy=0.3))),
    ]

    # cvtColor RGB2GRAY on float32.
    g = rng.random((20, 20, 3)).astype(np.float32)
    fx["cvgray"] = dict(src=b64(g.astype("<f4")), dst=b64(cv2.cvtColor(g, cv2.COLOR_RGB2GRAY).astype("<f4")))

    # scikit-image gaussian (glass blur: nearest, truncate 4) on float64 HxWx3.
    x = imgs["rgb"][:16, :20] / 255.0
    fx["skgauss"] = [dict(sigma=s, dst=f64list(skimage.filters.gaussian(x, sigma=s, channel_axis=-1)))
                     for s in (1.5,)]
    # scipy gaussian_filter with per-axis sigma, reflect, truncate 3 (elastic).
    f = rng.uniform(-1, 1, size=(21, 26))
    fx["elasticgauss"] = dict(src=f64list(f), sigma=[0.33, 0.4],
                              dst=f64list(skimage.filters.gaussian(f, sigma=np.array([0.33, 0.4]), mode="reflect", truncate=3)))

    # scipy map_coordinates(order=1, mode='reflect') at coordinates in and
    # out of range.
    im = rng.random((21, 26, 3)).astype(np.float32)
    yy = rng.uniform(-3, 24, size=(21, 26))
    xx = rng.uniform(-3, 29, size=(21, 26))
    Y, X, Z = np.meshgrid(np.arange(21), np.arange(26), np.arange(3), indexing="ij")
    dy = (yy[..., None] - Y).astype(np.float32)[..., 0]
    dx = (xx[..., None] - X).astype(np.float32)[..., 0]
    Yc = (np.arange(21)[:, None, None] + dy[..., None]) + 0 * Z
    Xc = (np.arange(26)[None, :, None] + dx[..., None]) + 0 * Z
    mc = ndi.map_coordinates(im, (Yc.reshape(-1), Xc.reshape(-1), Z.reshape(-1)), order=1, mode="reflect").reshape(im.shape)
    fx["mapcoords"] = dict(img=b64(im.astype("<f4")), dy=b64(dy.astype("<f4")), dx=b64(dx.astype("<f4")),
                           out=b64(np.uint8(np.clip(mc, 0, 1) * 255)))

    # cv2.getAffineTransform + warpAffine (Tiny elastic), float32, reflect101.
    pts1 = np.float32([[53, 53], [53, 11], [11, 11]])
    pts2 = pts1 + rng.uniform(-5.12, 5.12, size=(3, 2)).astype(np.float32)
    M = cv2.getAffineTransform(pts1, pts2)
    im64 = rng.random((64, 64)).astype(np.float32)
    wa = cv2.warpAffine(im64, M, (64, 64), borderMode=cv2.BORDER_REFLECT_101)
    fx["warpaffine"] = dict(pts1=pts1.ravel().tolist(), pts2=[float(v) for v in pts2.ravel()],
                            m=f64list(M), img=b64(im64.astype("<f4")), out=b64(wa.astype("<f4")))

    # ImageMagick motion blur of a gray image (the Tiny table's motion
    # blur and snow).
    gimg = synthetic(48, 44, 1, 3)[..., 0]
    fx["magick"] = [dict(radius=r, sigma=s, angle=a, w=44, h=48, src=b64(gimg), dst=b64(magick_motion(gimg, r, s, a)))
                    for (r, s, a) in [(10, 3, 31.7), (12, 3, -100.3), (14, 12, -61.3), (10, 1, 2.9)]]

    # imagecorruptions-style motion blur (shift-and-add with numpy.roll and
    # edge fill, written here from its description), truncated to uint8;
    # 32-px image at radius 20 exercises the early stop.
    def shift_add(x, radius, sigma, angle):
        width = 2 * radius + 1
        k = np.exp(-np.arange(width) ** 2 / (2 * sigma ** 2)) / (np.sqrt(2 * np.pi) * sigma)
        k = k / np.sum(k)
        py, px = width * np.sin(np.deg2rad(angle)), width * np.cos(np.deg2rad(angle))
        hyp = np.hypot(py, px)
        acc = np.zeros(x.shape)
        for i in range(width):
            dy = -int(np.ceil(i * py / hyp - 0.5))
            dx = -int(np.ceil(i * px / hyp - 0.5))
            if abs(dy) >= x.shape[0] or abs(dx) >= x.shape[1]:
                break
            s = np.roll(x, dx, axis=1)
            if dx > 0:
                s[:, :dx] = s[:, dx:dx + 1]
            elif dx < 0:
                s[:, dx:] = s[:, dx - 1:dx]
            s = np.roll(s, dy, axis=0)
            if dy > 0:
                s[:dy] = s[dy:dy + 1]
            elif dy < 0:
                s[dy:] = s[dy - 1:dy]
            acc = acc + k[i] * s
        return np.uint8(np.clip(acc, 0, 255))

    fx["numpymotion"] = [dict(radius=r, sigma=sg, angle=a, image=name,
                              dst=b64(shift_add(imgs[name].astype(np.float64), r, sg, a)))
                         for (r, sg, a, name) in [(10, 3, 17.3, "rgb"), (15, 8, -38.9, "rgb"), (20, 15, 4.7, "gray")]]

    # The glass-blur pixel "swap" loop on an RGB array, with fixed draws.
    g = imgs["rgb"].copy()
    d, iters, k = 2, 2, 0
    for _ in range(iters):
        for h in range(g.shape[0] - d, d, -1):
            for w in range(g.shape[1] - d, d, -1):
                dx, dy = (k * 7 + 3) % (2 * d) - d, (k * 11 + 5) % (2 * d) - d
                k += 1
                hp, wp = h + dy, w + dx
                g[h, w], g[hp, wp] = g[hp, wp], g[h, w]
    fx["glassshuffle"] = dict(delta=d, iters=iters, out=b64(g))

    # Plasma fractal fed a fixed uniform sequence.
    ks = draw_sequence(64 * 64)
    us = [k / float(1 << 53) for k in ks]
    fx["plasma"] = [dict(n=n, decay=d, out=f64list(plasma(n, d, us)))
                    for (n, d) in [(8, 2.0), (32, 1.7)]]

    # Snow blend: x float32 blended toward max(x, gray*1.5+0.5), plus a
    # given layer and its 180-degree rotation.
    img = imgs["rgb"]
    layer = np.round(rng.random((32, 34)) ** 4 * 255).astype(np.uint8) / 255.0
    xs = np.array(img, dtype=np.float32) / 255.0
    blend = 0.7
    xb = blend * xs + (1 - blend) * np.maximum(xs, cv2.cvtColor(xs, cv2.COLOR_RGB2GRAY).reshape(32, 34, 1) * 1.5 + 0.5)
    sl = layer[..., None]
    out = np.uint8(np.clip(xb + sl + np.rot90(sl, k=2), 0, 1) * 255)
    fx["snowblend"] = dict(blend=blend, layer=f64list(layer), out=b64(out))

    data = json.dumps(fx, separators=(",", ":")).encode()
    with gzip.GzipFile(OUT, "wb", mtime=0, compresslevel=9) as f:
        f.write(len(data).to_bytes(4, "little"))
        f.write(data)
        f.write(BLOB)
    print("wrote", OUT, len(data) + len(BLOB) + 4, "bytes uncompressed")


if __name__ == "__main__":
    main()
