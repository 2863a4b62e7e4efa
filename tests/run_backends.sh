#!/usr/bin/env bash
# Runs the test suite once per backend, JOBS processes at a time, and fails
# when any run fails. Usage: tests/run_backends.sh PYTHON JOBS RUN...
# A RUN is a backend (`jax`: the whole suite under JAX) or `backend:path`
# (only that path, in a process of its own beside the backend's other
# tests, which then leave it out).
#
# Most of the suite's time is single-threaded tracing and compiling, so runs
# side by side on two cores take little more than the longest one; `make
# test` runs JAX's tutorials (its longest part) apart from the rest of JAX.
# Each run writes its own log under build/test-logs/ (printed when it
# ends); PYTEST_ARGS passes extra pytest arguments. Tests marked `large`
# run too (`--run-large`; a plain `pytest` skips them). The MultiVae
# oracles (tests/oracles) need their own environment: `make oracles`.
set -uo pipefail
python=$1 jobs=$2
shift 2
logs=build/test-logs
mkdir -p "$logs"
rm -f "$logs"/*.summary  # a run that does not start prints no old one

apart=" "  # "backend:path" of the runs that take a path for themselves
for run in "$@"; do
  [[ $run == *:* ]] && apart+="$run "
done

run_one() {
  local run=$1 start=$SECONDS backend=${1%%:*} targets=() log
  if [[ $run == *:* ]]; then
    targets=("${run#*:}")
  else
    for claimed in $apart; do
      [[ ${claimed%%:*} == "$backend" ]] && targets+=("--ignore=${claimed#*:}")
    done
  fi
  log="$logs/${run//[:\/]/_}"
  KERAS_BACKEND=$backend "$python" -m pytest -q -p no:cacheprovider \
    --run-large --ignore=tests/oracles ${PYTEST_ARGS:-} "${targets[@]}" \
    >"$log.log" 2>&1
  local code=$?
  {
    echo "=== $run (KERAS_BACKEND=$backend): exit $code after $((SECONDS - start)) s"
    tail -n 40 "$log.log"
  } >"$log.summary"
  cat "$log.summary"
  return $code
}
export -f run_one
export python logs apart

printf '%s\n' "$@" | xargs -P "$jobs" -I{} bash -c 'run_one "$@"' _ {}
code=$?
for run in "$@"; do
  head -n 1 "$logs/${run//[:\/]/_}.summary" 2>/dev/null \
    || echo "=== $run: did not run"
done
exit $code
