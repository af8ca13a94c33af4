#!/usr/bin/env bash
# Runs the test suite: installs missing server packages (as root), restores, builds and runs every test.
# Usage: scripts/test.sh [unit|integration|e2e]   (no argument: everything)
# Exits non-zero when a test fails and when no test ran.
set -euo pipefail
cd "$(dirname "$0")/.."

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 NUGET_CERT_REVOCATION_MODE=offline

filter=()
case "${1:-}" in
  "") ;;
  unit) filter=(--filter "Category=Unit") ;;
  integration) filter=(--filter "Category=Integration") ;;
  e2e) filter=(--filter "Category=E2E") ;;
  *) echo "usage: scripts/test.sh [unit|integration|e2e]" >&2; exit 2 ;;
esac

scripts/install-prerequisites.sh

results=artifacts/test-results
rm -rf "$results"
dotnet build Dataflow.sln -c Release

mkdir -p "$results"
console="$results/console.log"
set +e
dotnet test Dataflow.Tests/Dataflow.Tests.csproj -c Release --no-build \
  --logger "trx;LogFileName=results.trx" --logger "console;verbosity=normal" --results-directory "$results" \
  --blame-hang-timeout 10m "${filter[@]}" 2>&1 | tee "$console"
status=${PIPESTATUS[0]}
set -e

trx="$results/results.trx"
if [ ! -f "$trx" ]; then
  echo "No test results were written ($trx missing): the test run did not complete." >&2
  exit 1
fi
counters=$(grep -o '<Counters [^>]*>' "$trx")
count() { echo "$counters" | grep -o " $1=\"[0-9]*\"" | grep -o '[0-9]*'; }
total=$(count total); executed=$(count executed); passed=$(count passed); failed=$(count failed)
skipped=$((total - executed))

# Repeat each failure (name, message, stack) at the end, where a CI log's tail shows it.
if [ "$failed" -ne 0 ]; then
  echo
  echo "Failed tests:"
  awk '/^  Failed /{on=1; n=0} /^  (Passed|Skipped) |^\[xUnit|^Results File/{on=0} on && n++ < 80' "$console"
fi

echo
echo "$passed passed, $failed failed, $skipped skipped"
if [ "$executed" -eq 0 ]; then
  echo "No test ran." >&2
  exit 1
fi
if [ "$status" -ne 0 ] || [ "$failed" -ne 0 ]; then
  exit 1
fi
