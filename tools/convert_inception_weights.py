#!/usr/bin/env python3
"""Write pytorch-fid's FID InceptionV3 weights as safetensors for `lcm fid` / `lcm forward inception`.

Needs: torch, torchvision, pytorch-fid, safetensors (pip install pytorch-fid safetensors).
The weights are the TF inception-2015-12-05 graph ported by pytorch-fid
(pt_inception-2015-12-05-6726825d.pth, downloaded by pytorch-fid on first use, or given with --pth).
The output holds pytorch_fid.inception.InceptionV3's state_dict (names blocks.<b>.<i>...., 470 float32
tensors, 21.8 M values, about 87 MB); num_batches_tracked buffers are dropped (unused in eval).

    python3 tools/convert_inception_weights.py pt_inception-2015-12-05.safetensors
    python3 tools/convert_inception_weights.py --pth pt_inception-2015-12-05-6726825d.pth out.safetensors
"""
import argparse

import torch
from pytorch_fid import inception
from safetensors.torch import save_file


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("output", help="safetensors file to write")
    ap.add_argument("--pth", help="local pt_inception-2015-12-05-6726825d.pth (default: pytorch-fid downloads it)")
    args = ap.parse_args()
    if args.pth:
        # make fid_inception_v3() read the local file instead of downloading
        state = torch.load(args.pth, map_location="cpu", weights_only=True)
        inception.load_state_dict_from_url = lambda *a, **k: state
    model = inception.InceptionV3([3], resize_input=True, normalize_input=True, use_fid_inception=True).eval()
    tensors = {k: v.detach().to(torch.float32).contiguous()
               for k, v in model.state_dict().items() if not k.endswith("num_batches_tracked")}
    save_file(tensors, args.output, metadata={"source": "pytorch-fid FID InceptionV3 (pt_inception-2015-12-05)"})
    print(f"wrote {args.output}: {len(tensors)} tensors, {sum(t.numel() for t in tensors.values())} values")


if __name__ == "__main__":
    main()
