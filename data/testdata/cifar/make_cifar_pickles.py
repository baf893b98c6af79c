"""Writes the CIFAR pickle fixtures of data/cifar_test.go.

cifar-10-batches-py/ and cifar-100-python/ are miniature copies of the
downloaded folders in their real layout: each batch a Python 2 protocol-2
pickle (as cPickle wrote the originals) of a dict with str keys, "data" a
uint8 NumPy array [N, 3072] (planes R, G, B, each row-major 32×32) and the
label lists ("labels"; "fine_labels" and "coarse_labels"), with the
originals' other keys. Python 3 cannot write Python 2 str objects, so the
opcodes are written here by hand, as Python 2's pickler emits them, and
each file is checked by loading it back with pickle.load(encoding="bytes"),
the way people read CIFAR under Python 3. py3_protocol4_batch is one batch
re-pickled by Python 3 (protocol 4, bytes keys). expected.json holds, per
file, the labels and the pixels of each image in cotrain's interleaved HWC
order.

Run from this folder: /usr/bin/python3 make_cifar_pickles.py
"""
import json
import os
import pickle
import struct

import numpy as np


class Py2Pickler:
    """Emits the protocol-2 opcodes of Python 2's cPickle for the few types a
    CIFAR batch holds, memoizing every container and string as cPickle does."""

    def __init__(self):
        self.out = bytearray(b"\x80\x02")
        self.memo = 0

    def put(self):
        self.memo += 1
        self.out += b"q" + bytes([self.memo]) if self.memo < 256 else b"r" + struct.pack("<I", self.memo)

    def str_(self, b):
        self.out += (b"U" + bytes([len(b)]) if len(b) < 256 else b"T" + struct.pack("<i", len(b))) + b
        self.put()

    def int_(self, v):
        if 0 <= v < 256:
            self.out += b"K" + bytes([v])
        elif 0 <= v < 65536:
            self.out += b"M" + struct.pack("<H", v)
        else:
            self.out += b"J" + struct.pack("<i", v)

    def glob(self, module, name):
        self.out += b"c" + module + b"\n" + name + b"\n"
        self.put()

    def list_(self, items, emit):
        self.out += b"]"
        self.put()
        for i in range(0, len(items), 1000):  # cPickle batches APPENDS by 1000
            self.out += b"("
            for v in items[i:i + 1000]:
                emit(v)
            self.out += b"e"

    def array(self, a):
        self.glob(b"numpy.core.multiarray", b"_reconstruct")
        self.glob(b"numpy", b"ndarray")
        self.int_(0)
        self.out += b"\x85"
        self.put()
        self.str_(b"b")
        self.out += b"\x87"
        self.put()
        self.out += b"R"
        self.put()
        self.out += b"("
        self.int_(1)
        for d in a.shape:
            self.int_(d)
        self.out += b"\x86"
        self.put()
        self.glob(b"numpy", b"dtype")
        self.str_(b"u1")
        self.int_(0)
        self.int_(1)
        self.out += b"\x87"
        self.put()
        self.out += b"R"
        self.put()
        self.out += b"("
        self.int_(3)
        self.str_(b"|")
        self.out += b"NNN" + b"J" + struct.pack("<i", -1) + b"J" + struct.pack("<i", -1)
        self.int_(0)
        self.out += b"t"
        self.put()
        self.out += b"b\x89"
        self.str_(a.tobytes())
        self.out += b"t"
        self.put()
        self.out += b"b"

    def dict_(self, d):
        self.out += b"}"
        self.put()
        self.out += b"("
        for k, v in d.items():
            self.str_(k)
            if isinstance(v, np.ndarray):
                self.array(v)
            elif isinstance(v, bytes):
                self.str_(v)
            elif isinstance(v[0], bytes):
                self.list_(v, self.str_)
            else:
                self.list_(v, self.int_)
        self.out += b"u."
        return bytes(self.out)


rng = np.random.default_rng(2019)
expected = {}


def batch(path, n, classes, cifar100, label):
    data = rng.integers(0, 256, size=(n, 3072), dtype=np.uint8)
    labels = [int(v) for v in rng.integers(0, classes, size=n)]
    names = [b"image_%03d.png" % i for i in range(n)]
    if cifar100:
        coarse = [int(v) for v in rng.integers(0, 20, size=n)]
        d = {b"filenames": names, b"batch_label": label, b"fine_labels": labels,
             b"coarse_labels": coarse, b"data": data}
    else:
        d = {b"batch_label": label, b"labels": labels, b"data": data, b"filenames": names}
    raw = Py2Pickler().dict_(d)
    with open(path, "wb") as f:
        f.write(raw)
    back = pickle.loads(raw, encoding="bytes")
    assert back.keys() == d.keys()
    for k, v in d.items():
        assert np.array_equal(back[k], v) if isinstance(v, np.ndarray) else back[k] == v, (path, k)
    expected[path] = {"labels": labels}
    if path.endswith("test") or path.endswith("test_batch"):
        hwc = data.reshape(n, 3, 32, 32).transpose(0, 2, 3, 1).reshape(n, -1)
        expected[path]["pixels"] = [row.tobytes().hex() for row in hwc]
    return d


os.makedirs("cifar-10-batches-py", exist_ok=True)
os.makedirs("cifar-100-python", exist_ok=True)
for i in range(1, 6):
    batch("cifar-10-batches-py/data_batch_%d" % i, 2, 10, False, b"training batch %d of 5" % i)
d = batch("cifar-10-batches-py/test_batch", 3, 10, False, b"testing batch 1 of 1")
batch("cifar-100-python/train", 5, 100, True, b"training")
batch("cifar-100-python/test", 2, 100, True, b"testing")

with open("py3_protocol4_batch", "wb") as f:
    pickle.dump(d, f, protocol=4)
expected["py3_protocol4_batch"] = expected["cifar-10-batches-py/test_batch"]

with open("protocol0_plain", "wb") as f:
    pickle.dump({"labels": [0, 7, 300, -5, 2**40], "name": "x", "t": (1.5, True, None)}, f, protocol=0)
expected["repr"] = repr(bytes(range(256)))[1:]

with open("expected.json", "w") as f:
    json.dump(expected, f, indent=1)
    f.write("\n")
