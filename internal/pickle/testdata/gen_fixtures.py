"""Writes pickles.json: values pickled by CPython's pickle module under
protocols 0-5, each with its expected rendering, for internal/pickle's
table test (TestPythonPickles).

The pickles are base64. Run with /usr/bin/python3 from this folder:  /usr/bin/python3 gen_fixtures.py

The rendering is the notation the Go test writes for the values it loads:
None, True, False, decimal ints, floats as f:<16 hex digits of the IEEE
bits>, str as s:<hex of UTF-8>, bytes and bytearray as b:<hex>, (tuple),
[list], {key:value} for dict and OrderedDict (keys in insertion order), and
pid(<rendering>) for a persistent id. Items are separated by commas.
Long renderings are stored as their SHA-256.
"""
import base64
import collections
import hashlib
import io
import json
import pickle
import struct


def render(v):
    if v is None:
        return "None"
    if v is True:
        return "True"
    if v is False:
        return "False"
    if isinstance(v, Ref):
        return "pid(" + render(v.pid) + ")"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return "f:" + struct.pack(">d", v).hex()
    if isinstance(v, str):
        return "s:" + v.encode("utf-8").hex()
    if isinstance(v, (bytes, bytearray)):
        return "b:" + bytes(v).hex()
    if isinstance(v, tuple):
        return "(" + ",".join(render(x) for x in v) + ")"
    if isinstance(v, list):
        return "[" + ",".join(render(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ",".join(render(k) + ":" + render(x) for k, x in v.items()) + "}"
    raise TypeError(type(v))


def want(v):
    """The expected rendering, or its SHA-256 where it is long."""
    r = render(v)
    if len(r) > 2000:
        return {"want_sha256": hashlib.sha256(r.encode()).hexdigest()}
    return {"want": r}


class Ref:
    """An object pickled by reference: its persistent id."""

    def __init__(self, pid):
        self.pid = pid


class RefPickler(pickle.Pickler):
    def persistent_id(self, obj):
        return obj.pid if isinstance(obj, Ref) else None


shared = [1, 2]
values = {
    "scalars": [None, True, False, 0, 1, 255, 256, 65535, 65536, -1, -256,
                2**31 - 1, -2**31, 2**31, 2**40, -2**63, 2**63, -2**70, 10**30, -2**2100],
    "floats": (0.0, -0.0, 1.0, 2.5, -1e-300, 1.5e300, 0.1, float("inf")),
    "strings": ["", "a", "é", "snowman \u2603", "clef \U0001d11e", "back\\slash\nnew line\r\x00\x1a", "x" * 300],
    "tuples": ((), (1,), (1, 2), (1, 2, 3), (1, 2, 3, 4), ((), ((),))),
    "dict": {"a": 1, 2: "b", None: [], 3.5: {}, True: (1,)},
    "ordered": collections.OrderedDict([("w", 1), ("b", [2, 3])]),
    "shared": [shared, shared, (shared,)],
    "long list": list(range(1005)),
    "big dict": {i: str(i) for i in range(1005)},
    "late memo": [[i] for i in range(300)] * 2,
    "bytes": [b"", b"\x00\xff", bytes(range(256)) + b"tail"],
    "persistent": [Ref("storage0"), Ref("storage1"), Ref("storage0")],
}

cases = []
for proto in range(6):
    for name, v in values.items():
        buf = io.BytesIO()
        RefPickler(buf, protocol=proto).dump(v)
        cases.append({"name": f"protocol {proto} {name}", "protocol": proto,
                      "pickle": base64.b64encode(buf.getvalue()).decode(), **want(v)})
    if proto == 4:
        # Frames: a value larger than one 64 KiB frame.
        v = ["%064d" % i for i in range(1100)]
        cases.append({"name": f"protocol {proto} frames", "protocol": proto,
                      "pickle": base64.b64encode(pickle.dumps(v, protocol=proto)).decode(), **want(v)})
    if proto == 5:
        v = [bytearray(b"\x01\x02\x03"), bytearray(300)]
        cases.append({"name": "protocol 5 bytearray", "protocol": 5,
                      "pickle": base64.b64encode(pickle.dumps(v, protocol=5)).decode(), **want(v)})

with open("pickles.json", "w") as f:
    json.dump(cases, f, indent=0)
    f.write("\n")
