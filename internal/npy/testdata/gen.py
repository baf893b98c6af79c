"""Writes the .npy/.npz fixtures for cotrain's internal/npy tests.

Run with: /usr/bin/python3 gen.py (NumPy only). Every array is a simple
function of its index so the Go tests can recompute it independently.
"""
import numpy as np

shape = (2, 3, 4)
base = np.arange(24).reshape(shape)

arrays = {
    "f4": (base * 0.5 - 3).astype("<f4"),
    "f8": (base * 0.25 - 1).astype("<f8"),
    "i4": (base - 12).astype("<i4"),
    "i8": (base * 1000000000 - 5).astype("<i8"),
    "u1": (base * 10 % 256).astype("u1"),
    "b1": (base % 3 == 0),
}
for name, a in arrays.items():
    np.save(f"{name}.npy", a)

# A scalar and a 1-D array.
np.save("scalar_f8.npy", np.float64(2.5))
np.save("vec_i8.npy", np.arange(5, dtype="<i8"))

# Format version 2.0 header.
with open("v2_f4.npy", "wb") as f:
    np.lib.format.write_array(f, arrays["f4"], version=(2, 0))

# Unsupported layouts.
np.save("fortran_f8.npy", np.asfortranarray(arrays["f8"]))
np.save("bigendian_f4.npy", arrays["f4"].astype(">f4"))
np.save("complex.npy", np.zeros(3, dtype=np.complex64))

# Truncated file: header intact, data cut short.
raw = open("f8.npy", "rb").read()
open("truncated_f8.npy", "wb").write(raw[:-16])

np.savez("stored.npz", a=arrays["f4"], b=arrays["i8"], **{"s/x": arrays["b1"]})
np.savez_compressed("deflated.npz", a=arrays["f4"], b=arrays["u1"])

# String arrays (Sensorium's meta/trials/tiers.npy is a unicode array).
np.save("tiers_U.npy", np.array([["train", "validation"], ["test", "final_test"], ["Ünï", ""]]))
np.save("bytes_S.npy", np.array([b"ab", b"c"]))
np.save("object_O.npy", np.array(["a", None], dtype=object), allow_pickle=True)
