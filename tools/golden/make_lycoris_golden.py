#!/usr/bin/env python3
"""Golden cases for the LyCORIS adapter kinds (LoHa, LoKr, full diff), computed with numpy alone from the formulas
of ComfyUI's comfy/weight_adapter/ (loha.py, lokr.py) and LyCORIS, independently of the Java code.

    python3 tools/golden/make_lycoris_golden.py testdata/golden/lycoris/cases.safetensors

Writes one kohya-named adapter file: for the modules `lin` (a Linear [8, 6]) and `conv` (a Conv2d [4, 3, 3, 3]) of
a test model, per case the factor tensors under `lora_unet_<case>_<module>.<suffix>` and the expected dense
weight difference (adapter weight 1) under `expected.<case>_<module>`. Formulas (alpha stored as `.alpha`):
  LoHa:  dW = (w1a @ w1b) * (w2a @ w2b) * alpha / rank,   rank = w1b.shape[0]; conv factors are flattened
         [out, r] @ [r, in*kh*kw], reshaped to the weight.
  LoKr:  dW = kron(w1, w2) * alpha / dim, w1 = lokr_w1 or lokr_w1_a @ lokr_w1_b, w2 likewise; dim = the rank of
         the decomposed factor (w2_b's, else w1_b's); no alpha scaling when both are full. For conv, w1 is
         [a, b] -> [a, b, 1, 1] and w2 [c, d, kh, kw] (or w2_a @ w2_b.flatten reshaped).
  diff:  dW = diff.
"""
import json
import struct
import sys

import numpy as np

rng = np.random.default_rng(20240311)


def f32(*shape):
    return rng.standard_normal(shape).astype(np.float32)


def cases():
    t = {}
    exp = {}
    # LoHa, Linear [8, 6], rank 2, alpha 1
    p = "lora_unet_loha_lin"
    w1a, w1b, w2a, w2b = f32(8, 2), f32(2, 6), f32(8, 2), f32(2, 6)
    t.update({p + ".hada_w1_a": w1a, p + ".hada_w1_b": w1b, p + ".hada_w2_a": w2a, p + ".hada_w2_b": w2b,
              p + ".alpha": np.array(1.0, np.float32)})
    exp["loha_lin"] = (w1a.astype(np.float64) @ w1b) * (w2a.astype(np.float64) @ w2b) * (1.0 / 2)
    # LoHa, Conv2d [4, 3, 3, 3], rank 3, alpha 2 (flattened conv factors)
    p = "lora_unet_loha_conv"
    w1a, w1b, w2a, w2b = f32(4, 3), f32(3, 27), f32(4, 3), f32(3, 27)
    t.update({p + ".hada_w1_a": w1a, p + ".hada_w1_b": w1b, p + ".hada_w2_a": w2a, p + ".hada_w2_b": w2b,
              p + ".alpha": np.array(2.0, np.float32)})
    exp["loha_conv"] = ((w1a.astype(np.float64) @ w1b) * (w2a.astype(np.float64) @ w2b) * (2.0 / 3)).reshape(4, 3, 3, 3)
    # LoKr, Linear, both factors full: no alpha scaling (the stored alpha is ignored)
    p = "lora_unet_lokr_lin"
    w1, w2 = f32(2, 2), f32(4, 3)
    t.update({p + ".lokr_w1": w1, p + ".lokr_w2": w2, p + ".alpha": np.array(4.0, np.float32)})
    exp["lokr_lin"] = np.kron(w1.astype(np.float64), w2)
    # LoKr, Linear, w2 decomposed at rank 1, alpha 0.5
    p = "lora_unet_lokrd_lin"
    w1, w2a, w2b = f32(2, 2), f32(4, 1), f32(1, 3)
    t.update({p + ".lokr_w1": w1, p + ".lokr_w2_a": w2a, p + ".lokr_w2_b": w2b, p + ".alpha": np.array(0.5, np.float32)})
    exp["lokrd_lin"] = np.kron(w1.astype(np.float64), w2a.astype(np.float64) @ w2b) * (0.5 / 1)
    # LoKr, Conv2d [4, 3, 3, 3]: w1 [2, 1] (as [2, 1, 1, 1]) kron w2 [2, 3, 3, 3]
    p = "lora_unet_lokr_conv"
    w1, w2 = f32(2, 1), f32(2, 3, 3, 3)
    t.update({p + ".lokr_w1": w1, p + ".lokr_w2": w2})
    exp["lokr_conv"] = np.kron(w1.astype(np.float64)[:, :, None, None], w2)
    # full difference, Linear
    p = "lora_unet_full_lin"
    d = f32(8, 6)
    t[p + ".diff"] = d
    exp["full_lin"] = d.astype(np.float64)
    for k, v in exp.items():
        t["expected." + k] = v.astype(np.float32)
    return t


def write(path, tensors):
    header = {"__metadata__": {"producer": "tools/golden/make_lycoris_golden.py",
                               "command": "python3 tools/golden/make_lycoris_golden.py " + path}}
    data = b""
    for name in sorted(tensors):
        a = np.ascontiguousarray(tensors[name], dtype=np.float32)
        b = a.tobytes()
        header[name] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [len(data), len(data) + len(b)]}
        data += b
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + data)


if __name__ == "__main__":
    write(sys.argv[1], cases())
