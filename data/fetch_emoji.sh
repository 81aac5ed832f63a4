#!/usr/bin/env bash
# Fetches the two emoji image packages the demo trains on, with `npm pack`, and verifies each tarball's
# sha512 against (1) the integrity `npm view` reports from the registry, (2) the integrity `npm pack`
# reports, and (3) the value pinned below (published npm versions are immutable). Any mismatch fails.
#
#   data/fetch_emoji.sh [OUT_DIR]      (default: data/downloads next to this script)
#
# Idempotent: a tarball already in OUT_DIR whose sha512 equals the pinned value is kept and not fetched
# again (so a second run works offline).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
out="${1:-$here/downloads}"
version="16.0.0"
declare -A pinned=(
  [emoji-datasource-twitter]="sha512-7F+uCuHH+7Qnrc15P5tnbvKkg9E6tlzi4MnT2uW1RlN4pLYTza6cP/dstIfSDMtpjFLWuZewWg8jBbuL2eyELQ=="
  [emoji-datasource-google]="sha512-ZRexfzs7MVoLnmzZmNsO4TKhnAJp5D++Vm6PpUpH/jEQQlemp3l88CjZ+DoZ2faM9R4QxZkOPJCoT8DlPhfQ3A=="
)
packages=(emoji-datasource-twitter emoji-datasource-google)

die() { echo "fetch_emoji: $*" >&2; exit 1; }

# sha512 of a file in npm's Subresource Integrity form: "sha512-" + base64(digest).
sri() { echo "sha512-$(openssl dgst -sha512 -binary "$1" | base64 -w0)"; }

mkdir -p "$out"
missing=()
for p in "${packages[@]}"; do
  f="$out/$p-$version.tgz"
  if [[ -f "$f" ]]; then
    got="$(sri "$f")"
    [[ "$got" == "${pinned[$p]}" ]] || die "$f exists but its sha512 is $got, expected ${pinned[$p]}; delete it to fetch again"
    echo "fetch_emoji: $f present and verified, skipping"
  else
    missing+=("$p")
  fi
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

command -v npm >/dev/null || die "npm not found (needed to fetch ${missing[*]})"
tmp="$(mktemp -d "$out/.fetch.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT

specs=()
for p in "${missing[@]}"; do specs+=("$p@$version"); done
(cd "$tmp" && npm pack "${specs[@]}" --json >pack.json) || die "npm pack ${specs[*]} failed"

for p in "${missing[@]}"; do
  file="$p-$version.tgz"
  [[ -f "$tmp/$file" ]] || die "npm pack did not produce $file"
  registry="$(npm view "$p@$version" dist.integrity)" || die "npm view $p@$version dist.integrity failed"
  [[ -n "$registry" ]] || die "the registry reports no dist.integrity for $p@$version"
  packed="$(node -e '
    const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).find(e => e.filename === process.argv[2]);
    if (!r) { process.exit(2); }
    console.log(r.integrity);' "$tmp/pack.json" "$file")" || die "npm pack --json has no entry for $file"
  got="$(sri "$tmp/$file")"
  [[ "$got" == "$registry" ]] || die "$file: sha512 $got != registry dist.integrity $registry"
  [[ "$got" == "$packed" ]] || die "$file: sha512 $got != npm pack integrity $packed"
  [[ "$got" == "${pinned[$p]}" ]] || die "$file: sha512 $got != pinned ${pinned[$p]} (did the published package change?)"
  mv "$tmp/$file" "$out/$file"
  echo "fetch_emoji: $out/$file verified ($got)"
done
