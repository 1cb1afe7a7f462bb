#!/usr/bin/env bash
# The whole test suite, as CI runs it (.ci/run):
#   1. scripts/setup-deps.sh, env.example against shared/cfg.c, n8n installed
#      into its cache (scripts/n8n.sh install: ~9 minutes the first time), autoreconf -fi
#   2. build-asan/: configure --enable-sanitizers --enable-fault-injection, make, make check
#      (unit tests, database tests, end-to-end tests -- real n8n included --,
#      all under ASan+UBSan)
#   3. build-plain/: configure, make, the end-to-end test again with one
#      worker cycle under valgrind (E2E_VALGRIND=1)
#   4. build-plain/: make distcheck (the release tarball builds, installs and
#      passes the unit, database and packaging end-to-end tests on its own)
#   5. build-fuzz/: every libFuzzer harness (scripts/fuzz.sh, clang) for
#      FUZZ_SECONDS seconds each (default 10: about 3 minutes in all)
# Prints each step's outcome and a closing `N passed, N failed` line counting
# every automake test of step 2 and the steps after it; exits non-zero on any
# failure.  Usage: scripts/test.sh   (from anywhere; as root, or with sudo
# available for the package install)
set -u

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo" || exit 1
JOBS=${JOBS:-$(nproc 2>/dev/null || echo 2)}
if [ -z "${SHARED_DATA:-}" ] && [ -d "$repo/../shared/data" ]; then
  SHARED_DATA=$(cd "$repo/../shared/data" && pwd)
fi
export SHARED_DATA=${SHARED_DATA:-}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
LOGS=$repo/build-logs
mkdir -p "$LOGS"
# tests/e2e/e2e_browser.sh keeps its screenshots with the other logs
export BROWSER_SHOTS_DIR=$LOGS/browser-screenshots

passed=0
failed=0
start=$(date +%s)
step() { echo; echo "=== $* ($(( $(date +%s) - start )) s)"; }
pass() { passed=$((passed + ${2:-1})); echo "--- PASS: $1"; }
fail() { failed=$((failed + ${2:-1})); echo "--- FAIL: $1"; }
finish() {
  echo
  echo "test.sh: $(( $(date +%s) - start )) s; logs in $LOGS"
  echo "$passed passed, $failed failed"
  [ "$failed" = 0 ]
  exit $?
}

# run LOGFILE CMD...: run CMD, output to LOGFILE; print its tail on failure
run() {
  local log=$1
  shift
  if "$@" >"$log" 2>&1; then return 0; fi
  echo "--- last lines of $log:"
  tail -n 40 "$log"
  return 1
}

# failing_logs BUILDDIR: the tail of the .log of every failed automake test
failing_logs() {
  local trs
  while IFS= read -r trs; do
    if grep -Eq '^:test-result: (FAIL|ERROR|XPASS)' "$trs"; then
      echo "--- failed checks in ${trs%.trs}.log:"
      grep -E '^(not ok|FAIL|ERROR)' "${trs%.trs}.log" | head -n 20
      echo "--- last lines of ${trs%.trs}.log:"
      tail -n 60 "${trs%.trs}.log"
    fi
  done < <(find "$1" -name '*.trs' | sort)
}

# count LOG WORD: the number automake's summary gives for WORD (PASS, FAIL, ...)
count() { sed -n "s/^# $2: *\([0-9][0-9]*\).*/\1/p" "$1" | tail -n 1; }

step "packages"
if [ "$(id -u)" = 0 ] || command -v sudo >/dev/null 2>&1; then
  bash scripts/setup-deps.sh || { fail "scripts/setup-deps.sh"; finish; }
else
  echo "not root and no sudo: assuming the packages are installed"
fi

step "env.example documents every variable of shared/cfg.c"
missing=
for v in $(sed -n 's/^ *{ *"\([A-Z][A-Z0-9_]*\)",.*/\1/p' shared/cfg.c); do
  grep -Eq "^#?$v=" env.example || missing="$missing $v"
done
if [ -z "$missing" ]; then pass "env.example complete"; else fail "env.example lacks:$missing"; fi

step "n8n for the end-to-end test with real n8n (scripts/n8n.sh install; the cache is reused)"
if run "$LOGS/n8n-install.log" bash scripts/n8n.sh install; then
  pass "n8n installed ($(tail -n 1 "$LOGS/n8n-install.log"))"
else
  fail "n8n install: tests/e2e/e2e_n8n.sh will fail too (needs Node >= 20, npm and the npm registry)"
fi

step "autoreconf"
run "$LOGS/autoreconf.log" autoreconf -fi || { fail "autoreconf -fi"; finish; }

# ---- 2. sanitizers ---------------------------------------------------------------------
step "build-asan: configure --enable-sanitizers && make"
rm -rf build-asan && mkdir build-asan
if (cd build-asan && run "$LOGS/asan-build.log" sh -c "../configure --enable-sanitizers --enable-fault-injection && make -j$JOBS && make -j$JOBS check TESTS="); then
  step "build-asan: make check"
  # one test more than cores: the end-to-end tests spend most of their time waiting
  (cd build-asan && make -j"$((JOBS + 1))" check) 2>&1 | tee "$LOGS/asan-check.log"
  n_pass=$(count "$LOGS/asan-check.log" PASS)
  n_fail=$(( $(count "$LOGS/asan-check.log" FAIL) + $(count "$LOGS/asan-check.log" ERROR) + $(count "$LOGS/asan-check.log" XPASS) ))
  n_total=$(count "$LOGS/asan-check.log" TOTAL)
  if [ -z "$n_total" ] || [ "${n_total:-0}" = 0 ]; then
    fail "make check (sanitizers): no test ran"
  else
    [ "$n_pass" -gt 0 ] && pass "make check (sanitizers): $n_pass tests" "$n_pass"
    if [ "$n_fail" -gt 0 ]; then
      fail "make check (sanitizers): $n_fail tests" "$n_fail"
      failing_logs build-asan
    fi
  fi
else
  fail "build with sanitizers"
fi

# ---- 3. plain build, valgrind --------------------------------------------------------------
step "build-plain: configure && make"
rm -rf build-plain && mkdir build-plain
if (cd build-plain && run "$LOGS/plain-build.log" sh -c "../configure && make -j$JOBS"); then
  pass "plain build"
  step "build-plain: end-to-end test with the worker under valgrind"
  if top_srcdir=$repo top_builddir=$repo/build-plain E2E_VALGRIND=1 \
       bash tests/e2e/e2e.sh 2>&1 | tee "$LOGS/plain-e2e.log"; [ "${PIPESTATUS[0]}" = 0 ]; then
    pass "end-to-end test, plain build, valgrind"
  else
    fail "end-to-end test, plain build, valgrind"
  fi

  # ---- 4. distcheck -------------------------------------------------------------------------
  step "build-plain: make distcheck"
  # (the release tarball's own make check runs DISTCHECK_TESTS: see Makefile.am)
  if (cd build-plain && make -j"$JOBS" distcheck TESTS='$(DISTCHECK_TESTS)') >"$LOGS/distcheck.log" 2>&1; then
    grep -E '^# (TOTAL|PASS|FAIL|ERROR):' "$LOGS/distcheck.log" | sed 's/^/distcheck /'
    grep -E 'archives ready for distribution|\.tar\.gz' "$LOGS/distcheck.log" | tail -n 2
    pass "make distcheck"
  else
    tail -n 60 "$LOGS/distcheck.log"
    d=$(ls -d build-plain/ai-orchestrator-*/_build/sub 2>/dev/null | head -n 1)
    [ -n "$d" ] && failing_logs "$d"
    fail "make distcheck"
  fi
else
  fail "plain build"
fi

# ---- 5. fuzzing ------------------------------------------------------------------------------
# (harden) every parser of outside input under libFuzzer for a bounded time;
# the corpora (seeds and past crashes) were replayed by make check already
step "build-fuzz: scripts/fuzz.sh ${FUZZ_SECONDS:-10} (every harness, ${FUZZ_SECONDS:-10} s each)"
if bash scripts/fuzz.sh "${FUZZ_SECONDS:-10}" 2>&1 | tee "$LOGS/fuzz.log"; [ "${PIPESTATUS[0]}" = 0 ]; then
  pass "fuzzing: $(grep -c '^PASS' "$LOGS/fuzz.log") harnesses"
else
  fail "fuzzing: $(grep -c '^FAIL' "$LOGS/fuzz.log") harnesses failed (scripts/fuzz.sh; inputs in build-fuzz/fuzz-out/)"
fi

finish
