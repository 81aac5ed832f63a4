#!/usr/bin/env bash
# Builds DJL 0.36.0's PyTorch JNI (libdjl_torch.so) against a libtorch given by path, so that DJL runs on a
# libtorch Maven Central has no JNI for (Debian's libtorch-dev 1.13, a torch 2.x + CUDA wheel).
#
#   tools/build-jni.sh --torch PATH [--version X.Y.Z] [--cuda VER] [--jobs N] [--djl-src DIR] [--out DIR]
#
#   --torch    a libtorch root (libtorch zip, or a torch wheel's torch/ folder) or the folder holding
#              libtorch.so (e.g. /usr/lib/x86_64-linux-gnu for Debian's libtorch-dev)
#   --version  libtorch version (default: read from TorchConfigVersion.cmake or torch/version.py)
#   --cuda     CUDA version of a CUDA libtorch, e.g. 13.0 (default: torch/version.py, else nvcc); gives the
#              DJL flavor cu130. A libtorch without libtorch_cuda.so is built as flavor cpu.
#   --jobs     parallel compile jobs (default: nproc)
#   --djl-src  DJL source tree with engines/pytorch (default: ../shared/third_party/djl-0.36.0)
#   --out      output folder (default: build/jni/<version>-<flavor>)
#   --headers  folder with the JNI header ai_djl_pytorch_jni_PyTorchLibrary.h made beforehand by `javac -h`
#              (for a machine with a Java runtime but no javac, e.g. the jlink image of tools/gpu-bundle.sh);
#              default: run javac -h here
#
# Output (an ignored folder): lib/ (what PYTORCH_LIBRARY_PATH points at), cache/ (DJL's engine cache holding
# the JNI), env.sh (the PYTORCH_* variables). Run the CLI on it with
#   LCM_ENGINE=<out> tools/lcm ...
# Patches in tools/jni/patches/*.patch are applied to a copy of the JNI sources (each says why).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
die() { echo "build-jni: $*" >&2; exit 1; }

torch="" version="" cuda="" headers="" jobs="$(nproc 2>/dev/null || echo 2)" djl_src="$root/../shared/third_party/djl-0.36.0" out=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --torch) torch="$2"; shift 2 ;;
    --version) version="$2"; shift 2 ;;
    --cuda) cuda="$2"; shift 2 ;;
    --jobs) jobs="$2"; shift 2 ;;
    --djl-src) djl_src="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --headers) headers="$2"; shift 2 ;;
    -h|--help) sed -n '2,23p' "$0"; exit 0 ;;
    *) die "unknown argument '$1' (see --help)" ;;
  esac
done
[[ -n "$torch" ]] || die "--torch PATH is required: a libtorch root or the folder with libtorch.so"
[[ -d "$torch" ]] || die "--torch $torch: no such folder"
torch="$(cd "$torch" && pwd)"
native="$djl_src/engines/pytorch/pytorch-native"
[[ -f "$native/CMakeLists.txt" ]] || die "$native/CMakeLists.txt not found: --djl-src must be a DJL 0.36.0 tree with engines/pytorch"

# 1. Find libtorch.so, TorchConfig.cmake and the version.
libdir=""
for d in "$torch" "$torch/lib"; do [[ -f "$d/libtorch.so" ]] && { libdir="$d"; break; }; done
[[ -n "$libdir" ]] || die "no libtorch.so in $torch or $torch/lib"
cmakedir=""
for d in "$torch/share/cmake/Torch" "$torch/lib/cmake/Torch" "$torch/cmake/Torch" "$libdir/cmake/Torch"; do
  [[ -f "$d/TorchConfig.cmake" ]] && { cmakedir="$d"; break; }
done
[[ -n "$cmakedir" ]] || die "no TorchConfig.cmake under $torch (looked in share/cmake/Torch, lib/cmake/Torch, cmake/Torch)"
pyver=""
for f in "$torch/version.py" "$libdir/../version.py"; do [[ -f "$f" ]] && { pyver="$f"; break; }; done
if [[ -z "$version" ]]; then
  if [[ -n "$pyver" ]]; then version="$(sed -n "s/^__version__ = '\([0-9.]*\).*/\1/p" "$pyver")"; fi
  [[ -n "$version" ]] || version="$(sed -n 's/^set(PACKAGE_VERSION "\([0-9.]*\)").*/\1/p' "$cmakedir/TorchConfigVersion.cmake" 2>/dev/null || true)"
fi
[[ "$version" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || die "cannot tell the libtorch version (got '$version'); pass --version X.Y.Z"

# 2. CPU or CUDA flavor.
flavor=cpu
if [[ -f "$libdir/libtorch_cuda.so" ]]; then
  if [[ -z "$cuda" && -n "$pyver" ]]; then cuda="$(sed -n "s/^cuda: Optional\[str\] = '\([0-9.]*\)'.*/\1/p; s/^cuda = '\([0-9.]*\)'.*/\1/p" "$pyver" | head -1)"; fi
  if [[ -z "$cuda" ]] && command -v nvcc >/dev/null; then cuda="$(nvcc --version | sed -n 's/.*release \([0-9]*\.[0-9]*\).*/\1/p')"; fi
  [[ "$cuda" =~ ^[0-9]+\.[0-9]+$ ]] || die "$libdir/libtorch_cuda.so exists but the CUDA version is unknown; pass --cuda 13.0"
  flavor="cu${cuda//./}"
fi
tag="$version-$flavor"
out="${out:-$root/build/jni/$tag}"
case "$version" in 1.13.*|2.0.*|2.1.*) pt_define=V1_13_X ;; *) pt_define="" ;; esac
echo "build-jni: libtorch $version ($flavor) from $libdir, cmake $cmakedir -> $out" >&2

# 3. A private copy of the JNI sources with our patches and our djl/utils.h (the shared tree has no api/).
src="$out/src"
bdir="$src/pytorch-native/build"   # CMakeLists.txt expects the JNI headers in <source>/build/include
rm -rf "$src"
mkdir -p "$src"
cp -r "$native" "$src/pytorch-native"
mkdir -p "$bdir/include" "$bdir/classes"
[[ -n "$headers" ]] || cp -r "$djl_src/engines/pytorch/pytorch-engine" "$src/pytorch-engine"
for p in "$root"/tools/jni/patches/*.patch; do
  [[ -f "$p" ]] || continue
  if command -v patch >/dev/null; then
    patch -s -p1 -d "$src/pytorch-native" < "$p" || die "patch $p does not apply to $native"
  else
    git apply --directory="$src/pytorch-native" -p1 --unsafe-paths "$p" || die "patch $p does not apply to $native"
  fi
done

# 4. JNI headers from the Java side, then CMake against TorchConfig.cmake.
if [[ -n "$headers" ]]; then
  [[ -f "$headers/ai_djl_pytorch_jni_PyTorchLibrary.h" ]] || die "--headers $headers has no ai_djl_pytorch_jni_PyTorchLibrary.h"
  cp "$headers"/*.h "$bdir/include/"
else
  command -v javac >/dev/null || die "javac not found: install a JDK or pass --headers (see --help)"
  javac -h "$bdir/include" -d "$bdir/classes" \
    -sourcepath "$src/pytorch-engine/src/main/java" \
    "$src/pytorch-engine/src/main/java/ai/djl/pytorch/jni/PyTorchLibrary.java"
fi
cmake_args=(-S "$src/pytorch-native" -B "$bdir" -DCMAKE_BUILD_TYPE=Release
  -DCMAKE_PREFIX_PATH="$cmakedir" -DUTILS_INCLUDE_DIR="$root/tools/jni")
[[ -n "$pt_define" ]] && cmake_args+=(-DPT_VERSION="$pt_define")
[[ "$flavor" == cu* ]] && cmake_args+=(-DUSE_CUDA=1)
cmake "${cmake_args[@]}" > "$out/cmake-configure.log" 2>&1 || { tail -40 "$out/cmake-configure.log" >&2; die "cmake configure failed (log: $out/cmake-configure.log)"; }
cmake --build "$bdir" --config Release -- -j "$jobs" > "$out/cmake-build.log" 2>&1 || {
  grep -E -A5 "error:" "$out/cmake-build.log" | head -80 >&2
  die "compile failed against libtorch $version (log: $out/cmake-build.log); a source fix goes in tools/jni/patches/"; }
[[ -f "$bdir/libdjl_torch.so" ]] || die "no libdjl_torch.so after the build (log: $out/cmake-build.log)"

# 5. Layout DJL's LibUtils understands. It System.load()s every *.so under PYTORCH_LIBRARY_PATH, so a system
#    folder (/usr/lib/...) gets a private folder of links to the torch libraries; a libtorch/wheel folder is used
#    as it is (its $ORIGIN rpaths must not be broken by links). The JNI sits in DJL's engine cache layout:
#    <ENGINE_CACHE_DIR>/pytorch/<version>-<flavor>-linux-x86_64/0.36.0-libdjl_torch.so.
case "$(cd "$libdir" && pwd -P)" in
  /usr/*|/lib/*|/lib64/*)
    rm -rf "$out/lib"; mkdir -p "$out/lib"
    for l in libtorch.so libtorch_cpu.so libc10.so libtorch_cuda.so libc10_cuda.so; do
      [[ -e "$libdir/$l" ]] && ln -s "$libdir/$l" "$out/lib/$l"
    done
    torch_lib="$out/lib" ;;
  *) torch_lib="$libdir" ;;
esac
arch="$(uname -m | sed 's/amd64/x86_64/')"
jni_dir="$out/cache/pytorch/$version-$flavor-linux-$arch"
mkdir -p "$jni_dir"
cp "$bdir/libdjl_torch.so" "$jni_dir/0.36.0-libdjl_torch.so.tmp" && mv "$jni_dir/0.36.0-libdjl_torch.so.tmp" "$jni_dir/0.36.0-libdjl_torch.so"
cat > "$out/env.sh.tmp" <<EOF
# Written by tools/build-jni.sh: the DJL engine built against libtorch $version ($flavor).
export PYTORCH_LIBRARY_PATH='$torch_lib'
export PYTORCH_VERSION='$version'
export PYTORCH_FLAVOR='$flavor'
export ENGINE_CACHE_DIR='$out/cache'
EOF
mv "$out/env.sh.tmp" "$out/env.sh"
echo "build-jni: done: $jni_dir/0.36.0-libdjl_torch.so; run with LCM_ENGINE=$out tools/lcm ..." >&2
