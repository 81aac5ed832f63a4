#!/usr/bin/env bash
# Distillation benchmarks: step time and peak RSS, each in its own JVM (peak RSS is per process).
#   tiny config, latent cache on / off (encoding every batch), then the random-weight mid-size UNet
#   (SDXL's layout at a quarter width) at 256 px and the tiny UNet preset, rank 64 / 4.
# Usage: tools/bench-distill.sh [steps]   (LCM_JAVA_OPTS and OMP_NUM_THREADS are passed through)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
steps="${1:-5}"
lcm="$root/tools/lcm"
cd "$root"
"$lcm" bench distill --config configs/tiny.yaml --steps "$steps"
"$lcm" bench distill --config configs/tiny.yaml --uncached --steps "$steps"
"$lcm" bench distill --preset tiny --latent 16 --batch 2 --rank 4 --steps "$steps"
"$lcm" bench distill --preset mid --latent 32 --batch 1 --rank 64 --steps "$steps"
