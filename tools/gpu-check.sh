#!/usr/bin/env bash
# The prepared GPU check (issue 13 section 3), for a machine with torch + CUDA + nvcc + CMake but no Java and no
# network, and build/gpu-bundle/ from tools/gpu-bundle.sh carried beside the working tree. Rerunnable; ~2-3 min of
# JNI build on 16 cores, then `lcm gpu-check` with a time budget, all inside LCM_GPU_CHECK_TIMEOUT (default 540 s).
#   tools/gpu-check.sh [extra lcm gpu-check options, e.g. --parity-only or --max-batch 16]
# Writes the log to $OUT/gpu-check.log when OUT is set (the device tool's folder that comes back).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bundle="$root/build/gpu-bundle"
work="${LCM_GPU_WORK:-/tmp/lcm-gpu}"
die() { echo "gpu-check: $*" >&2; exit 1; }
[[ -f "$bundle/jre.tar.xz" && -d "$bundle/lib" ]] || die "$bundle missing: run tools/gpu-bundle.sh here and carry build/gpu-bundle"
t0=$(date +%s)
mkdir -p "$work"

# 1. torch's libtorch (the wheel: torch/lib, torch/share/cmake/Torch) and its CUDA version
py="${PYTHON:-python3}"
read -r tdir tver tcuda < <("$py" -c 'import os, torch; print(os.path.dirname(torch.__file__), torch.__version__.split("+")[0], torch.version.cuda or "")')
echo "gpu-check: torch $tver (CUDA ${tcuda:-none}) at $tdir"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true

# 2. the Java runtime
if [[ ! -x "$work/jre/bin/java" ]]; then
  xz -dc "$bundle/jre.tar.xz" | tar -x -C "$work"
fi
export JAVA_HOME="$work/jre"
"$JAVA_HOME/bin/java" -version 2>&1 | head -1

# 3. the JNI against this torch (reused on a rerun)
jni="$work/jni-$tver-cu${tcuda//./}"
if [[ ! -f "$jni/env.sh" ]]; then
  args=(--torch "$tdir" --version "$tver" --jobs "$(nproc)" --djl-src "$bundle/djl-src" --headers "$bundle/djl-src/include" --out "$jni")
  [[ -n "$tcuda" ]] && args+=(--cuda "$tcuda")
  tools/build-jni.sh "${args[@]}"
fi
# shellcheck disable=SC1091
source "$jni/env.sh"
echo "gpu-check: JNI ready after $(( $(date +%s) - t0 )) s"

# 4. DJL counts GPUs through libcudart (JNA, unversioned name): give it one
cudart=""
for d in /usr/local/cuda/lib64 /usr/local/cuda/targets/x86_64-linux/lib "$(dirname "$tdir")"/nvidia/cu*/lib "$(dirname "$tdir")"/nvidia/cuda_runtime/lib; do
  for f in "$d"/libcudart.so "$d"/libcudart.so.*; do [[ -f "$f" ]] && { cudart="$f"; break 2; }; done
done
mkdir -p "$work/cudart"
[[ -n "$cudart" ]] && ln -sf "$cudart" "$work/cudart/libcudart.so"
echo "gpu-check: libcudart ${cudart:-not found}"

# 5. the check
left=$(( ${LCM_GPU_CHECK_TIMEOUT:-540} - ($(date +%s) - t0) ))
(( left > 60 )) || die "only $left s left after the build"
log="${OUT:-$work}/gpu-check.log"
set +e
timeout "$left" "$JAVA_HOME/bin/java" -Xmx48g -Djava.awt.headless=true -Dai.djl.offline=true \
  -Djna.library.path="$work/cudart" -Dorg.slf4j.simpleLogger.defaultLogLevel=warn \
  -cp "$bundle/lib/*" io.lcmlora.train.cli.Main gpu-check --device gpu --golden testdata/golden \
  --budget-seconds $(( left - 150 )) "$@" 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
set -e
echo "gpu-check: exit $rc after $(( $(date +%s) - t0 )) s; log $log"
exit "$rc"
