#!/usr/bin/env python3
"""Golden cases for the LyCORIS adapter kinds (LoHa, LoKr, LoCon Tucker, full diff, bias diff), computed with numpy alone from the formulas
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
  DoRA (kohya `dora_scale`, ComfyUI comfy/weight_adapter/base.py weight_decompose): V = W + alpha/rank * B @ A,
         n = ||V|| per INPUT column (over every axis but 1, shape [1, in(, 1, 1)]), W_dora = dora_scale * V / n,
         and the adapter weight s blends outside: W' = W + s * (W_dora - W).
  DoRA (PEFT `lora_magnitude_vector`, peft tuners/lora/dora.py): V = W + s * scaling * B @ A (s inside), n = ||V||
         per OUTPUT row (over every axis but 0), W' = m * V / n.
  Tucker (LyCORIS use_tucker, ComfyUI tucker_weight): LoHa hada_w1_a [r, out], hada_w1_b [r, in], hada_t1
         [r, r, kh, kw] give w1[p, q, k, l] = sum_ij t1[i, j, k, l] w1b[j, q] w1a[i, p] (w2 likewise from hada_t2);
         LoKr lokr_w2_a [r, c], lokr_w2_b [r, d], lokr_t2 [r, r, kh, kw] give w2 [c, d, kh, kw] the same way.
  LoCon Tucker (LyCORIS use_tucker, ComfyUI lora.py "locon mid weights"): lora_up [out, r, 1, 1], lora_mid
         [r, r, kh, kw], lora_down [r, in, 1, 1] give dW[p, q, k, l] = sum_ij up[p, i] mid[i, j, k, l] down[j, q]
         * alpha / rank (rank = lora_down's rows); the script checks einsum against ComfyUI's mm/transpose form.
  Bias difference (ComfyUI lora.py: "<module>.bias" patched with ("diff", diff_b)): db = diff_b [out], with or
         without a weight adapter on the same module; expected under `expected_b.<case>`.
  DoRA on a LoCon Tucker core (`dorat_conv`): V = W + alpha/rank * (the LoCon Tucker dW), then as kohya DoRA.
  The DoRA cases depend on the base weight: it is stored as `base.<case>`, and the expected tensor
  `expected_w08.<case>` is W' - W at adapter weight s = 0.8. PEFT-named DoRA cases go to `peft_dora.safetensors`
  next to the output file (keys `unet.<case>.lora_A.weight`, `.lora_B.weight`, `.lora_magnitude_vector`).
"""
import os
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


def col_norm(v):
    """||v|| per input column (axis 1), keepdims: [1, in(, 1, 1)]."""
    axes = tuple(i for i in range(v.ndim) if i != 1)
    return np.sqrt((v * v).sum(axis=axes, keepdims=True))


def row_norm(v):
    """||v|| per output row (axis 0), keepdims: [out, 1(, 1, 1)]."""
    axes = tuple(range(1, v.ndim))
    return np.sqrt((v * v).sum(axis=axes, keepdims=True))


def lowrank(a, b, wshape):
    r = a.shape[0]
    return (b.reshape(b.shape[0], r).astype(np.float64) @ a.reshape(r, -1)).reshape(wshape)


def tucker(wa, wb, t):
    return np.einsum("ijkl,jq,ip->pqkl", t.astype(np.float64), wb.astype(np.float64), wa.astype(np.float64))


def tucker_cases(t):
    # LoHa Tucker, Conv2d [4, 3, 3, 3], rank 2, alpha 1
    p = "lora_unet_lohat_conv"
    w1a, w1b, t1, w2a, w2b, t2 = f32(2, 4), f32(2, 3), f32(2, 2, 3, 3), f32(2, 4), f32(2, 3), f32(2, 2, 3, 3)
    t.update({p + ".hada_w1_a": w1a, p + ".hada_w1_b": w1b, p + ".hada_t1": t1, p + ".hada_w2_a": w2a,
              p + ".hada_w2_b": w2b, p + ".hada_t2": t2, p + ".alpha": np.array(1.0, np.float32)})
    t["expected.lohat_conv"] = (tucker(w1a, w1b, t1) * tucker(w2a, w2b, t2) * (1.0 / 2)).astype(np.float32)
    # LoKr Tucker, Conv2d [4, 3, 3, 3]: w1 [2, 1] kron w2 [2, 3, 3, 3] from lokr_w2_a [2, 2], lokr_w2_b [2, 3], lokr_t2 [2, 2, 3, 3]
    p = "lora_unet_lokrt_conv"
    w1, w2a, w2b, t2 = f32(2, 1), f32(2, 2), f32(2, 3), f32(2, 2, 3, 3)
    t.update({p + ".lokr_w1": w1, p + ".lokr_w2_a": w2a, p + ".lokr_w2_b": w2b, p + ".lokr_t2": t2,
              p + ".alpha": np.array(1.0, np.float32)})
    t["expected.lokrt_conv"] = (np.kron(w1.astype(np.float64)[:, :, None, None], tucker(w2a, w2b, t2)) * (1.0 / 2)).astype(np.float32)


def comfy_locon_mid(up, down, mid):
    """ComfyUI's lora.py calculate_weight with a lora_mid, step by step (mm/transpose/reshape as it writes them)."""
    final_shape = [down.shape[1], down.shape[0], mid.shape[2], mid.shape[3]]
    down2 = (down.transpose(1, 0, 2, 3).reshape(down.shape[1], -1) @ mid.transpose(1, 0, 2, 3).reshape(mid.shape[1], -1))
    down2 = down2.reshape(final_shape).transpose(1, 0, 2, 3)
    return up.reshape(up.shape[0], -1) @ down2.reshape(down2.shape[0], -1)


def locon_bias_cases(t):
    # LoCon Tucker (LyCORIS use_tucker), Conv2d [4, 3, 3, 3]: lora_up [4, 2, 1, 1], lora_mid [2, 2, 3, 3] (the conv's
    # kernel), lora_down [2, 3, 1, 1], alpha 1.5: dW[p, q, k, l] = sum_ij up[p, i] mid[i, j, k, l] down[j, q] * alpha / rank
    p = "lora_unet_locont_conv"
    up, mid, down = f32(4, 2, 1, 1), f32(2, 2, 3, 3), f32(2, 3, 1, 1)
    t.update({p + ".lora_up.weight": up, p + ".lora_mid.weight": mid, p + ".lora_down.weight": down,
              p + ".alpha": np.array(1.5, np.float32)})
    dw = np.einsum("pi,ijkl,jq->pqkl", up[:, :, 0, 0].astype(np.float64), mid.astype(np.float64),
                   down[:, :, 0, 0].astype(np.float64)) * (1.5 / 2)
    comfy = comfy_locon_mid(up.astype(np.float64), down.astype(np.float64), mid.astype(np.float64)).reshape(4, 3, 3, 3) * (1.5 / 2)
    assert np.abs(dw - comfy).max() < 1e-12, "einsum and ComfyUI's mm form disagree"
    t["expected.locont_conv"] = dw.astype(np.float32)
    # full difference with a bias difference (LyCORIS full: diff + diff_b), Linear [8, 6]: dW = diff, db = diff_b
    p = "lora_unet_fullb_lin"
    d, db = f32(8, 6), f32(8)
    t.update({p + ".diff": d, p + ".diff_b": db})
    t["expected.fullb_lin"] = d
    t["expected_b.fullb_lin"] = db
    # a bias difference alone (ComfyUI patches "<module>.bias" with ("diff", diff_b)), Conv2d [4, 3, 3, 3]: db [4]
    p = "lora_unet_bias_conv"
    db = f32(4)
    t[p + ".diff_b"] = db
    t["expected_b.bias_conv"] = db
    # plain LoRA plus a bias difference on the same module (ComfyUI applies both), Linear [8, 6], rank 2, alpha 1
    p = "lora_unet_lorab_lin"
    a, b, db = f32(2, 6), f32(8, 2), f32(8)
    t.update({p + ".lora_down.weight": a, p + ".lora_up.weight": b, p + ".alpha": np.array(1.0, np.float32),
              p + ".diff_b": db})
    t["expected.lorab_lin"] = (b.astype(np.float64) @ a * (1.0 / 2)).astype(np.float32)
    t["expected_b.lorab_lin"] = db


def dora_tucker_case(t):
    # kohya DoRA on a LoCon Tucker core (ComfyUI: lora_diff from up/mid/down, then weight_decompose), Conv2d [4, 3, 3, 3]:
    # up [4, 2, 1, 1], mid [2, 2, 3, 3], down [2, 3, 1, 1], alpha 2, dora_scale [1, 3, 1, 1]; at s = 0.8
    s = 0.8
    p = "lora_unet_dorat_conv"
    w, up, mid, down = f32(4, 3, 3, 3), f32(4, 2, 1, 1), f32(2, 2, 3, 3), f32(2, 3, 1, 1)
    lr = np.einsum("pi,ijkl,jq->pqkl", up[:, :, 0, 0].astype(np.float64), mid.astype(np.float64), down[:, :, 0, 0].astype(np.float64))
    v = w.astype(np.float64) + 2.0 / 2 * lr
    scale = (col_norm(v) * (1 + 0.2 * rng.standard_normal(col_norm(v).shape))).astype(np.float32)
    t.update({p + ".lora_up.weight": up, p + ".lora_mid.weight": mid, p + ".lora_down.weight": down,
              p + ".alpha": np.array(2.0, np.float32), p + ".dora_scale": scale, "base.dorat_conv": w})
    t["expected_w08.dorat_conv"] = (s * (scale.astype(np.float64) * v / col_norm(v) - w)).astype(np.float32)


def dora_cases(kohya, peft):
    s = 0.8
    # kohya dora_scale, Linear [8, 6] rank 2 alpha 1 and Conv2d [4, 3, 3, 3] rank 2 alpha 4 (A [2, 3, 3, 3], B [4, 2, 1, 1])
    for case, wshape, ashape, bshape, alpha in (("dora_lin", (8, 6), (2, 6), (8, 2), 1.0),
                                                ("dora_conv", (4, 3, 3, 3), (2, 3, 3, 3), (4, 2, 1, 1), 4.0)):
        p = "lora_unet_" + case
        w, a, b = f32(*wshape), f32(*ashape), f32(*bshape)
        v = w.astype(np.float64) + alpha / ashape[0] * lowrank(a, b, wshape)
        scale = (col_norm(v) * (1 + 0.2 * rng.standard_normal(col_norm(v).shape))).astype(np.float32)
        kohya.update({p + ".lora_down.weight": a, p + ".lora_up.weight": b, p + ".alpha": np.array(alpha, np.float32),
                      p + ".dora_scale": scale, "base." + case: w})
        w_dora = scale.astype(np.float64) * v / col_norm(v)
        kohya["expected_w08." + case] = (s * (w_dora - w)).astype(np.float32)
    # PEFT lora_magnitude_vector, Linear [8, 6] (m [8]) and Conv2d [4, 3, 3, 3] (m [1, 4, 1, 1]), rank 2, alpha = rank
    for case, wshape, ashape, bshape in (("pdora_lin", (8, 6), (2, 6), (8, 2)),
                                         ("pdora_conv", (4, 3, 3, 3), (2, 3, 3, 3), (4, 2, 1, 1))):
        p = "unet." + case
        w, a, b = f32(*wshape), f32(*ashape), f32(*bshape)
        v = w.astype(np.float64) + s * lowrank(a, b, wshape)
        n = row_norm(v).reshape(-1)
        mag = (n * (1 + 0.2 * rng.standard_normal(n.shape))).astype(np.float32)
        peft.update({p + ".lora_A.weight": a, p + ".lora_B.weight": b,
                     p + ".lora_magnitude_vector": mag if len(wshape) == 2 else mag.reshape(1, -1, 1, 1)})
        kohya["base." + case] = w
        w_new = (mag.astype(np.float64) / n).reshape((-1,) + (1,) * (len(wshape) - 1)) * v
        kohya["expected_w08." + case] = (w_new - w).astype(np.float32)


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
    kohya_t, peft_t = cases(), {}
    dora_cases(kohya_t, peft_t)
    tucker_cases(kohya_t)
    locon_bias_cases(kohya_t)
    dora_tucker_case(kohya_t)
    write(sys.argv[1], kohya_t)
    write(os.path.join(os.path.dirname(sys.argv[1]), "peft_dora.safetensors"), peft_t)
