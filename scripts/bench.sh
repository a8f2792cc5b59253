#!/usr/bin/env bash
# Benchmarks (make bench): image_copy against skopeo copy on two local registries; writes docs/performance.md.
#   scripts/bench.sh            all benchmarks
# Environment: PODKIT_BENCH_RUNS (default 5), PODKIT_BENCH_MIB (512), PODKIT_BENCH_RSS_MIB (1024), PODKIT_BENCH_NO_DOCS=1.
set -euo pipefail
source "$(dirname "$0")/bootstrap.sh"
podkit_bootstrap
export PODKIT_SRC_DOCS="$PODKIT_SRC/docs/performance.md"
cd "$PODKIT_STAGE"
podkit_log "image_copy benchmark"
python bench/copy_bench.py "$@"
