#!/usr/bin/env bash
# Assembles build/gpu-bundle/, what tools/gpu-check.sh needs on the GPU machine beside the working tree (which has no
# Java, no network, and receives at most 64 MiB: tracked + untracked-not-ignored files + carried paths):
#   jre.tar.xz   a jlink image of the modules the jars need (xz: the image is ~45 MiB unpacked)
#   lib/         the project jars and their dependencies, minus pytorch-native-cpu (110 MiB of CPU libtorch) and
#                pytorch-jni (the JNI is rebuilt there against the machine's torch)
#   djl-src/     DJL 0.36.0's JNI sources (from ../shared/third_party, which does not travel) and the JNI header
# and prints what travels, including the tracked folders the check does not need and that must be set aside for the
# call (they do not fit otherwise):
#   tools/gpu-bundle.sh                 build the bundle (the JRE archive is reused when present) and print sizes
#   tools/gpu-bundle.sh --set-aside DIR move the unneeded tracked folders into DIR (outside the repo)
#   tools/gpu-bundle.sh --restore DIR   move them back (git status is clean again)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
die() { echo "gpu-bundle: $*" >&2; exit 1; }
bundle=build/gpu-bundle
limit=$((64 * 1024 * 1024))
# Tracked, not read by the check (it reads testdata/golden/{unet,vae,text_encoders,lcd_step} only).
aside=(data/demo-weights testdata/golden/single_file testdata/golden/lora_formats testdata/golden/fid
  testdata/golden/tokenizer testdata/golden/README.md)
modules=java.base,java.desktop,java.management,java.compiler,java.logging,jdk.unsupported

if [[ "${1:-}" == "--set-aside" || "${1:-}" == "--restore" ]]; then
  [[ -n "${2:-}" ]] || die "$1 needs a folder outside the repo"
  mkdir -p "$2"; dir="$(cd "$2" && pwd)"
  case "$dir/" in "$root"/*) die "$dir is inside the repo: it would travel" ;; esac
  for p in "${aside[@]}"; do
    if [[ "$1" == "--set-aside" ]]; then
      [[ -e "$p" ]] || continue
      mkdir -p "$dir/$(dirname "$p")"; mv "$p" "$dir/$p"
    else
      [[ -e "$dir/$p" ]] || continue
      mkdir -p "$(dirname "$p")"; mv "$dir/$p" "$p"
    fi
  done
  echo "gpu-bundle: ${1#--} done ($dir)"; exit 0
fi
[[ $# -eq 0 ]] || die "unknown argument '$1' (see the header of $0)"

# 1. jars
jar=train/target/lcm-train-0.1.0-SNAPSHOT.jar
if [[ ! -f "$jar" || -n "$(find infer/src/main train/src/main pom.xml infer/pom.xml train/pom.xml -newer "$jar" -type f -print -quit)" ]]; then
  echo "gpu-bundle: building the jars (mvn package -DskipTests) ..." >&2
  mvn -q -B -o package -DskipTests >&2
fi
rm -rf "$bundle/lib" "$bundle/djl-src"
mkdir -p "$bundle/lib"
cp "$jar" "$bundle/lib/"
for f in train/target/lib/*.jar; do
  case "$(basename "$f")" in pytorch-native-*|pytorch-jni-*) ;; *) cp "$f" "$bundle/lib/" ;; esac
done

# 2. the JNI sources and header (javac -h here: the jlink image has no javac)
src="$root/../shared/third_party/djl-0.36.0/engines/pytorch"
[[ -d "$src/pytorch-native" ]] || die "$src/pytorch-native not found (the DJL 0.36.0 sources in ../shared/third_party)"
mkdir -p "$bundle/djl-src/engines/pytorch" "$bundle/djl-src/include"
cp -r "$src/pytorch-native" "$bundle/djl-src/engines/pytorch/"
tmp="$(mktemp -d)"
javac -h "$bundle/djl-src/include" -d "$tmp" -sourcepath "$src/pytorch-engine/src/main/java" \
  "$src/pytorch-engine/src/main/java/ai/djl/pytorch/jni/PyTorchLibrary.java"
rm -rf "$tmp"

# 3. the Java runtime (reused: jlink + xz take minutes on 2 shared cores)
if [[ ! -f "$bundle/jre.tar.xz" ]]; then
  jh="${JAVA_HOME:-$(dirname "$(dirname "$(readlink -f "$(command -v javac)")")")}"
  img="$(mktemp -d)/jre"
  "$jh/bin/jlink" --add-modules "$modules" --strip-debug --no-man-pages --compress=2 --output "$img"
  strip --strip-unneeded "$img/lib/server/libjvm.so" 2>/dev/null || true
  tar -C "$(dirname "$img")" -cf - jre | xz -6 -T2 > "$bundle/jre.tar.xz.tmp"
  mv "$bundle/jre.tar.xz.tmp" "$bundle/jre.tar.xz"
  rm -rf "$(dirname "$img")"
fi

# 4. sizes: what the device call would send
bytes() { if [[ -e "$1" ]]; then du -sb "$1" | cut -f1; else echo 0; fi; }
tracked=$(git ls-files -z | xargs -0 stat -c %s 2>/dev/null | awk '{s+=$1} END {print s+0}')
untracked=$(git ls-files -z --others --exclude-standard | xargs -0 -r stat -c %s 2>/dev/null | awk '{s+=$1} END {print s+0}')
set_aside=0
for p in "${aside[@]}"; do
  [[ -e "$p" ]] && set_aside=$((set_aside + $(git ls-files -z "$p" | xargs -0 -r stat -c %s | awk '{s+=$1} END {print s+0}')))
done
b=$(bytes "$bundle")
total=$((tracked + untracked - set_aside + b))
mib() { awk -v b="$1" 'BEGIN {printf "%.1f MiB", b / 1048576}'; }
echo "gpu-bundle: $bundle $(mib "$b") (jre.tar.xz $(mib "$(bytes "$bundle/jre.tar.xz")"), lib $(mib "$(bytes "$bundle/lib")"), djl-src $(mib "$(bytes "$bundle/djl-src")"))"
echo "gpu-bundle: tracked $(mib "$tracked") + untracked $(mib "$untracked") - set aside $(mib "$set_aside") (${aside[*]})"
echo "gpu-bundle: travels $(mib "$total") of the 64 MiB limit"
if (( total > limit )); then
  die "over the limit: set aside more, or ignore untracked files"
fi
