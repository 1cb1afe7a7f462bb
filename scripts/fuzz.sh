#!/usr/bin/env bash
# Fuzz every parser of outside input with libFuzzer (clang).
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]
#
# Builds the harnesses of tests/fuzz/ in build-fuzz/ (configure CC=clang
# --enable-fuzzing: ASan, UBSan with float-cast-overflow, coverage; the
# build is reused), then runs each TARGET (default: every
# tests/fuzz/fuzz_<target>.c) for SECONDS seconds (default 60), one after
# the other.  Each run starts from the seeds and regression inputs of
# tests/fuzz/corpus/<target>/ (replayed first) plus what earlier runs found
# (build-fuzz/fuzz-out/corpus-<target>/, never written into the tree).
# A crash, a sanitizer report or a broken FUZZ_CHECK fails the target; the
# input is kept as build-fuzz/fuzz-out/<target>-crash-<sha1> and the script
# says how to add it to the corpus as a regression test (make check then
# replays it under the suite's sanitizers).
#
# Environment: FUZZ_BUILD (build directory, default REPO/build-fuzz),
# JOBS (make -j, default nproc), FUZZ_RSS_MB (memory limit per run, 2048).
# Prints a line per target and a closing "N passed, N failed"; exits
# non-zero when any target failed.  Needs: clang libclang-rt-14-dev
# (scripts/setup-deps.sh installs them).
set -u

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
secs=${1:-60}
shift 2>/dev/null || true
case "$secs" in ''|*[!0-9]*) echo "fuzz.sh: SECONDS must be a whole number, got '$secs'" >&2; exit 2 ;; esac
build=${FUZZ_BUILD:-$repo/build-fuzz}
jobs=${JOBS:-$(nproc 2>/dev/null || echo 2)}
out=$build/fuzz-out

command -v clang >/dev/null 2>&1 || { echo "fuzz.sh: clang not found (scripts/setup-deps.sh installs it)" >&2; exit 1; }

if [ $# -gt 0 ]; then
  targets=("$@")
else
  targets=()
  for f in "$repo"/tests/fuzz/fuzz_*.c; do
    t=${f##*/fuzz_}
    targets+=("${t%.c}")
  done
fi

mkdir -p "$build" "$out"
if [ ! -f "$build/Makefile" ]; then
  if [ ! -x "$repo/configure" ]; then
    (cd "$repo" && autoreconf -fi) >"$out/autoreconf.log" 2>&1 ||
      { tail -n 20 "$out/autoreconf.log"; echo "fuzz.sh: autoreconf failed" >&2; exit 1; }
  fi
  (cd "$build" && "$repo/configure" CC=clang --enable-fuzzing) >"$out/configure.log" 2>&1 ||
    { tail -n 20 "$out/configure.log"; echo "fuzz.sh: configure failed (log: $out/configure.log)" >&2; exit 1; }
fi
progs=()
for t in "${targets[@]}"; do progs+=("tests/fuzz/fuzz_$t"); done
if ! make -C "$build" -j"$jobs" "${progs[@]}" >"$out/build.log" 2>&1; then
  tail -n 30 "$out/build.log"
  echo "fuzz.sh: build failed (log: $out/build.log)" >&2
  exit 1
fi

export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
passed=0
failed=0
for t in "${targets[@]}"; do
  seeds=$repo/tests/fuzz/corpus/$t
  found=$out/corpus-$t
  mkdir -p "$found"
  log=$out/$t.log
  rm -f "$out/$t"-crash-* "$out/$t"-leak-* "$out/$t"-timeout-* "$out/$t"-oom-*
  # -timeout: one input taking 10 s is a finding too (a parser that hangs the cycle)
  "$build/tests/fuzz/fuzz_$t" -max_total_time="$secs" -timeout=10 -rss_limit_mb="${FUZZ_RSS_MB:-2048}" \
    -print_final_stats=1 -artifact_prefix="$out/$t-" "$found" "$seeds" >"$log" 2>&1
  rc=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  if [ "$rc" = 0 ]; then
    passed=$((passed + 1))
    echo "PASS fuzz_$t: ${execs:-?} runs in ${secs} s ($(ls "$seeds" | wc -l) seeds)"
  else
    failed=$((failed + 1))
    echo "FAIL fuzz_$t (exit $rc): last lines of $log:"
    grep -E 'ERROR|FUZZ_CHECK|runtime error|SUMMARY|Test unit written' "$log" | head -n 12
    for a in "$out/$t"-crash-* "$out/$t"-leak-* "$out/$t"-timeout-* "$out/$t"-oom-*; do
      [ -f "$a" ] || continue
      echo "  found: $a"
      echo "  keep it as a regression test: cp '$a' '$seeds/' && git add '$seeds/${a##*/}'"
    done
  fi
done
echo "fuzz.sh: ${#targets[@]} targets, $secs s each; output in $out"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
