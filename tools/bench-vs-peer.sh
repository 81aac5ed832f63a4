#!/usr/bin/env bash
# The nine side-by-side cells (config public/small/mid x unet_fwd/sample4/lcd_step): ours (tools/lcm bench workload)
# and the Python reference (diffusers 0.25.1 + peft 0.7.1, ../shared/peer/peer_bench.py), one compute thread each,
# every cell in a fresh process, Java and Python alternated cell by cell (the order flips every round). Prints the
# table of medians of the per-round medians, the time ratio ours/diffusers and both peak RSS.
#
# Set-up of the peer (outside the project): ../shared/peer/README.md. Then
#   PEER_LAB=<writable copy of ../shared/peer> REFLAB=<its checkouts> tools/bench-vs-peer.sh
# Options (environment): ROUNDS (default 2), CONFIGS (default "public small mid"), MEASURES (default
# "unet_fwd sample4 lcd_step"), OUT (a folder for the raw lines; default a temporary one), QUICK=1 (5 timed
# iterations and 1 warm-up everywhere), PIN=<cpu> (both sides under `taskset -c <cpu>`: one core each, so the JVM's
# JIT and GC threads share the core they run on instead of using the other one; the raw lines' cpu_median_s counts them).
# About 12-15 minutes unattended on a quiet 2-core machine with the defaults.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
: "${PEER_LAB:?set PEER_LAB to a writable copy of ../shared/peer (see ../shared/peer/README.md)}"
: "${REFLAB:?set REFLAB to the peer checkouts made by setup_env.sh}"
ROUNDS="${ROUNDS:-2}"
CONFIGS="${CONFIGS:-public small mid}"
MEASURES="${MEASURES:-unet_fwd sample4 lcd_step}"
OUT="${OUT:-$(mktemp -d -t bench-vs-peer.XXXXXX)}"
mkdir -p "$OUT"
golden="$(cd "$root/../shared/golden" 2>/dev/null && pwd || true)"
[[ -n "$golden" ]] || { echo "bench-vs-peer: ../shared/golden not found beside the repository" >&2; exit 2; }

# timed iterations / warm-up per cell: enough for a stable median, small enough for ~6 minutes a round
iters() {
  if [[ "${QUICK:-0}" == 1 ]]; then echo "5 1"; return; fi   # QUICK=1: the peer's minimum, for a loaded machine
  case "$1/$2" in
    public/unet_fwd) echo "20 3" ;;
    public/*) echo "10 2" ;;
    small/unet_fwd) echo "10 2" ;;
    small/*|mid/*) echo "5 1" ;;
    *) echo "bench-vs-peer: unknown cell $1/$2" >&2; exit 2 ;;
  esac
}

pin=()
if [[ -n "${PIN:-}" ]]; then
  [[ "$PIN" =~ ^[0-9]+$ ]] || { echo "bench-vs-peer: PIN must be one CPU number (e.g. PIN=1), not '$PIN'" >&2; exit 2; }
  command -v taskset >/dev/null || { echo "bench-vs-peer: PIN needs taskset (util-linux)" >&2; exit 2; }
  pin=(taskset -c "$PIN")
fi

export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
export LCM_JAVA_OPTS="${LCM_JAVA_OPTS:--Xmx16g} -Dai.djl.pytorch.num_threads=1 -Dai.djl.pytorch.num_interop_threads=1"
"$root/tools/lcm" bench --help >/dev/null   # builds once, outside the timed runs

ours() { # config measure iters warmup
  (cd "$root" && "${pin[@]}" tools/lcm bench workload --config "$1" --measure "$2" --iters "$3" --warmup "$4") \
    | grep '^config=' | sed 's/^/side=ours /'
}
peer() {
  (
    cd "$PEER_LAB"
    # shellcheck disable=SC1091
    source ./env.sh
    PEER_GOLDEN="$golden" PEER_NUM_THREADS=1 "${pin[@]}" "$PY" peer_bench.py --config "$1" --measures "$2" --iters "$3" \
      --warmup "$4" --clip lora --blas-threads 1 --txt "$OUT/peer-last.txt" >/dev/null 2>"$OUT/peer-last.err" \
      || { cat "$OUT/peer-last.err" >&2; exit 1; }
    sed 's/^/side=diffusers /' "$OUT/peer-last.txt"
  )
}

lines="$OUT/lines.txt"
: > "$lines"
for r in $(seq 1 "$ROUNDS"); do
  for c in $CONFIGS; do
    for m in $MEASURES; do
      read -r n w < <(iters "$c" "$m")
      load=$(cut -d' ' -f1 /proc/loadavg)
      if (( r % 2 == 1 )); then first=ours; second=peer; else first=peer; second=ours; fi
      for side in $first $second; do
        $side "$c" "$m" "$n" "$w" | sed "s/\$/ round=$r load=$load pin=${PIN:-none}/" | tee -a "$lines" >&2
      done
    done
  done
done

/usr/bin/env python3 - "$lines" <<'PY'
import re, statistics, sys
cells = {}
for ln in open(sys.argv[1]):
    kv = dict(re.findall(r"(\w+)=(\S+)", ln))
    cells.setdefault((kv["config"], kv["measure"]), {}).setdefault(kv["side"], []).append(kv)
order = [(c, m) for c in ("public", "small", "mid") for m in ("unet_fwd", "sample4", "lcd_step")]
med = lambda rows, k: statistics.median(float(r[k]) for r in rows)
print("| config | measure | ours s | diffusers s | ratio | peak RSS ours / diffusers MB | RSS ratio | load |")
print("|---|---|---|---|---|---|---|---|")
for key in order:
    if key not in cells or len(cells[key]) < 2:
        continue
    o, p = cells[key]["ours"], cells[key]["diffusers"]
    to, tp = med(o, "median_s"), med(p, "median_s")
    ro, rp = med(o, "peak_rss_mb"), med(p, "peak_rss_mb")
    loads = sorted(float(r["load"]) for r in o + p)
    print(f"| {key[0]} | {key[1]} | {to:.4g} | {tp:.4g} | {to / tp:.2f} | {ro:.0f} / {rp:.0f} | {ro / rp:.2f} "
          f"| {loads[0]:.1f}-{loads[-1]:.1f} |")
PY
echo "raw lines: $lines" >&2
