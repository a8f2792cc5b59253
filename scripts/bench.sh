#!/usr/bin/env bash
# Benchmarks (make bench); each rewrites its own block of docs/performance.md and saves its numbers as
# bench/results/<benchmark>-<time>.json (git-ignored); then bench/plot.py draws the newest results of each
# benchmark into docs/performance.svg.
#   scripts/bench.sh [all]      every benchmark
#   scripts/bench.sh copy       image_copy against skopeo copy on two local registries (bench/copy_bench.py)
#   scripts/bench.sh lifecycle  container_state / image_pull against containers.podman, with a stat floor
#                               (bench/lifecycle_bench.py; creates the containers.podman venv when missing)
# Environment: PODKIT_BENCH_RUNS (default 5), PODKIT_BENCH_MIB (512), PODKIT_BENCH_RSS_MIB (1024),
#   PODKIT_BENCH_LIFECYCLE_RUNS (7), PODKIT_BENCH_NO_DOCS=1 (results are saved, docs and the SVG left alone).
set -euo pipefail
what="${1:-all}"
case "$what" in
    all|copy|lifecycle) ;;
    *) echo "usage: $0 [all|copy|lifecycle]" >&2; exit 2 ;;
esac
source "$(dirname "$0")/bootstrap.sh"
podkit_bootstrap
export PODKIT_SRC_DOCS="$PODKIT_SRC/docs/performance.md"
# The benchmarks run in the staged copy, which bootstrap prunes; keep the results in the source tree.
export PODKIT_BENCH_RESULTS="$PODKIT_SRC/bench/results"
cd "$PODKIT_STAGE"
if [ "$what" = all ] || [ "$what" = copy ]; then
    podkit_log "image_copy benchmark"
    python bench/copy_bench.py
fi
if [ "$what" = all ] || [ "$what" = lifecycle ]; then
    podkit_log "container lifecycle benchmark"
    python bench/lifecycle_bench.py
fi
if [ -z "${PODKIT_BENCH_NO_DOCS:-}" ]; then
    podkit_log "plot of the latest results"
    python bench/plot.py --results "$PODKIT_BENCH_RESULTS" --out "$PODKIT_SRC/docs/performance.svg" --root "$PODKIT_SRC"
fi
