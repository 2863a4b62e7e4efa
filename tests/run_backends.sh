#!/usr/bin/env bash
# Runs the test suite once per backend, JOBS backends at a time, and fails
# when any backend fails. Usage: tests/run_backends.sh PYTHON JOBS BACKEND...
#
# Most of the suite's time is single-threaded tracing and compiling, so the
# backends side by side on two cores take little more than the slowest one
# (`make test` runs all three at once).
# Each backend writes its own log under build/test-logs/ (printed when it
# ends); PYTEST_ARGS passes extra pytest arguments. Tests marked `large`
# run too (`--run-large`; a plain `pytest` skips them). The MultiVae
# oracles (tests/oracles) need their own environment: `make oracles`.
set -uo pipefail
python=$1 jobs=$2
shift 2
logs=build/test-logs
mkdir -p "$logs"
rm -f "$logs"/*.summary  # a backend that does not run prints no old one

run_one() {
  local backend=$1 start=$SECONDS
  KERAS_BACKEND=$backend "$python" -m pytest -q -p no:cacheprovider \
    --run-large --ignore=tests/oracles ${PYTEST_ARGS:-} \
    >"$logs/$backend.log" 2>&1
  local code=$?
  {
    echo "=== KERAS_BACKEND=$backend: exit $code after $((SECONDS - start)) s"
    tail -n 40 "$logs/$backend.log"
  } >"$logs/$backend.summary"
  cat "$logs/$backend.summary"
  return $code
}
export -f run_one
export python logs

printf '%s\n' "$@" | xargs -P "$jobs" -I{} bash -c 'run_one "$@"' _ {}
code=$?
for backend in "$@"; do
  head -n 1 "$logs/$backend.summary" 2>/dev/null \
    || echo "=== KERAS_BACKEND=$backend: did not run"
done
exit $code
