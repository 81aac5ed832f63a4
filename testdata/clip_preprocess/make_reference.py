#!/usr/bin/env python3
"""Reference for ClipImageProcessor (re-run: /usr/bin/python3 make_reference.py; needs Pillow and numpy only).

Follows transformers v4.36 CLIPImageProcessor.preprocess step by step on uint8 RGB arrays, with Pillow doing the
resize exactly as transformers' image_transforms.resize does (to_pil_image of the uint8 array, Image.resize with
BICUBIC and reducing_gap=None): shortest-edge resize (get_resize_output_image_size, default_to_square=False),
centre crop (top = (h - crop) // 2), rescale (uint8 * 1/255 in float64, then float32), normalise in float32.
"""
import json
import struct

import numpy as np
import PIL
from PIL import Image

MEAN = np.array([0.48145466, 0.4578275, 0.40821073], dtype=np.float32)
STD = np.array([0.26862954, 0.26130258, 0.27577711], dtype=np.float32)
SIZE = 24  # shortest_edge and crop_size


def output_size(h, w, size):
    short, long = (w, h) if w <= h else (h, w)
    if short == size:
        return h, w
    new_short, new_long = size, int(size * long / short)
    return (new_long, new_short) if w <= h else (new_short, new_long)


def preprocess(img_chw):
    hwc = np.ascontiguousarray(img_chw.transpose(1, 2, 0))
    h, w = hwc.shape[:2]
    nh, nw = output_size(h, w, SIZE)
    if (nh, nw) != (h, w):
        hwc = np.array(Image.fromarray(hwc).resize((nw, nh), resample=Image.BICUBIC, reducing_gap=None))
    resized = hwc
    top, left = (nh - SIZE) // 2, (nw - SIZE) // 2
    crop = resized[top:top + SIZE, left:left + SIZE]
    x = (crop * (1 / 255)).astype(np.float32)
    x = (x - MEAN) / STD
    return resized.transpose(2, 0, 1).copy(), x.transpose(2, 0, 1).astype(np.float32)


def write(path, tensors, metadata):
    header, blobs, off = {"__metadata__": metadata}, [], 0
    for name, a in tensors.items():
        b = a.tobytes()
        header[name] = {"dtype": {np.uint8: "U8", np.float32: "F32"}[a.dtype.type], "shape": list(a.shape),
                        "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


rng = np.random.default_rng(20231201)
cases = {"wide": (37, 61), "tall": (56, 40), "upscale": (13, 20), "exact": (24, 30)}
tensors = {}
for name, (h, w) in cases.items():
    # smooth gradients plus noise, so the bicubic overshoot is clipped somewhere
    yy, xx = np.mgrid[0:h, 0:w]
    base = np.stack([255 * xx / (w - 1), 255 * yy / (h - 1), 128 + 100 * np.sin(xx / 3.0 + yy / 5.0)])
    img = np.clip(base + rng.normal(0, 40, base.shape), 0, 255).astype(np.uint8)
    img[:, h // 3, :] = 255 * (np.arange(w) % 2)  # a hard edge: overshoot beyond [0, 255]
    resized, pixel_values = preprocess(img)
    tensors[name + "_images_u8"] = img
    tensors[name + "_resized_u8"] = resized
    tensors[name + "_pixel_values"] = pixel_values
write("reference.safetensors", tensors, {"pillow": PIL.__version__, "numpy": np.__version__, "size": str(SIZE)})
print("wrote reference.safetensors with Pillow", PIL.__version__)
