# scripts/bench_build.sh: sourced by the benchmarks (bench.sh, bench_catalog.sh,
# bench_control.sh), not run.  bench_build makes sure $BUILD holds orch-api and
# orch-worker: when not, it configures and builds the source tree $repo there
# (autoreconf first in a fresh clone).  The caller defines repo, BUILD, say and die.
bench_build() {
  [ -x "$BUILD/fcgi/orch-api" ] && [ -x "$BUILD/worker/orch-worker" ] && return 0
  say "building in $BUILD"
  (
    cd "$repo" && { [ -x configure ] || autoreconf -fi; } &&
    mkdir -p "$BUILD" && cd "$BUILD" && { [ -f Makefile ] || "$repo/configure" --quiet; } &&
    make -j"$(nproc)" >/dev/null
  ) || die "build failed"
}
