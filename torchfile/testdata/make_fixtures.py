"""Fixtures of torchfile's tests, written by PyTorch (Debian's python3-torch).

Run from this directory: /usr/bin/python3 make_fixtures.py

state_zip.pt     a state dict in the zip format (torch >= 1.6)
state_legacy.pt  the same in the legacy format (_use_new_zipfile_serialization=False)
checkpoint.pt    a training checkpoint {"model_state_dict": ..., "epoch": 3}
expected.json    every tensor of the state dict: dtype, shape, values as float
evil_global.pt   a zip file whose pickle calls os.system (must be rejected)
state_pre04.pt   four of the tensors in the legacy format of PyTorch before 0.4 (_rebuild_tensor)

The state dict has float32 weights, a float64, a float16 and a bfloat16
tensor, an int64 num_batches_tracked, a bool mask, a non-contiguous
(transposed) tensor, a view into a shared storage and an nn.Parameter.
"""
import io
import json
import os
import pickle
import struct
import zipfile
from collections import OrderedDict

import torch

torch.manual_seed(0)
base = torch.randn(4, 6)
sd = OrderedDict()
sd["conv.weight"] = torch.randn(3, 2, 3, 3)
sd["conv.bias"] = torch.randn(3)
sd["bn.running_var"] = torch.rand(3, dtype=torch.float64)
sd["bn.num_batches_tracked"] = torch.tensor(7, dtype=torch.int64)
sd["half"] = torch.randn(5).half()
sd["bf16"] = torch.randn(5).bfloat16()
sd["mask"] = torch.tensor([True, False, True])
sd["transposed"] = base.t()  # stride (1, 6)
sd["view"] = base[1:3, 2:5]  # offset 8 into base's storage
sd["param"] = torch.nn.Parameter(torch.randn(2, 2))
sd["scalar"] = torch.tensor(2.5)

torch.save(sd, "state_zip.pt")
torch.save(sd, "state_legacy.pt", _use_new_zipfile_serialization=False)
torch.save({"model_state_dict": sd, "epoch": 3, "note": "checkpoint"}, "checkpoint.pt")

expected = OrderedDict()
for k, v in sd.items():
    v = v.detach()
    expected[k] = {
        "dtype": str(v.dtype).replace("torch.", ""),
        "shape": list(v.shape),
        "values": v.double().flatten().tolist(),
    }
with open("expected.json", "w") as f:
    json.dump(expected, f, indent=1)


# A file torch.load would run code from: the pickle reduces os.system.
class Evil:
    def __reduce__(self):
        return (os.system, ("echo pwned",))


buf = io.BytesIO()
pickle.dump({"w": Evil()}, buf, protocol=2)
with zipfile.ZipFile("evil_global.pt", "w", zipfile.ZIP_STORED) as z:
    z.writestr("evil_global/data.pkl", buf.getvalue())
    z.writestr("evil_global/version", "3\n")


# The legacy format as PyTorch before 0.4 wrote it (torchvision's 2017 ImageNet
# weights): tensors rebuilt by torch._utils._rebuild_tensor(storage, offset,
# size, stride), storages as ('storage', torch.XStorage, key, 'cpu', numel, None).
class OldTensor:
    def __init__(self, t, key):
        self.t, self.key = t, key

    def __reduce__(self):
        return (torch._utils._rebuild_tensor, (OldStorage(self.t, self.key), 0, tuple(self.t.size()), self.t.stride()))


class OldStorage:
    def __init__(self, t, key):
        self.t, self.key = t, key


STORAGES = {torch.float32: torch.FloatStorage, torch.int64: torch.LongStorage}


def save_pre04(sd, path):
    tensors = OrderedDict((k, OldTensor(v.detach().contiguous().clone(), str(i))) for i, (k, v) in enumerate(sd.items()))

    class P(pickle.Pickler):
        def persistent_id(self, obj):
            if isinstance(obj, OldStorage):
                return ("storage", STORAGES[obj.t.dtype], obj.key, "cpu", obj.t.numel(), None)
            return None

    with open(path, "wb") as f:
        pickle.dump(0x1950A86A20F9469CFC6C, f, protocol=2)
        pickle.dump(1001, f, protocol=2)
        pickle.dump({"protocol_version": 1001, "little_endian": True, "type_sizes": {"short": 2, "int": 4, "long": 4}}, f, protocol=2)
        P(f, protocol=2).dump(tensors)
        pickle.dump([t.key for t in tensors.values()], f, protocol=2)
        for t in tensors.values():
            f.write(struct.pack("<q", t.t.numel()))
            f.write(t.t.numpy().tobytes())


old = OrderedDict((k, sd[k]) for k in ("conv.weight", "conv.bias", "bn.num_batches_tracked", "transposed"))
save_pre04(old, "state_pre04.pt")
back = torch.load("state_pre04.pt")  # PyTorch reads it: the fixture is the format
assert list(back) == list(old) and all(torch.equal(back[k], old[k].detach()) for k in old)
