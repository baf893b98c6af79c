"""Fixtures of torchfile's tests, written by PyTorch (Debian's python3-torch).

Run from this directory: /usr/bin/python3 make_fixtures.py

state_zip.pt     a state dict in the zip format (torch >= 1.6)
state_legacy.pt  the same in the legacy format (_use_new_zipfile_serialization=False)
checkpoint.pt    a training checkpoint {"model_state_dict": ..., "epoch": 3}
expected.json    every tensor of the state dict: dtype, shape, values as float
evil_global.pt   a zip file whose pickle calls os.system (must be rejected)

The state dict has float32 weights, a float64, a float16 and a bfloat16
tensor, an int64 num_batches_tracked, a bool mask, a non-contiguous
(transposed) tensor, a view into a shared storage and an nn.Parameter.
"""
import io
import json
import os
import pickle
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
