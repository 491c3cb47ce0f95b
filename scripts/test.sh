#!/usr/bin/env bash
# The whole test suite, from a fresh clone: setup, lint, typecheck, every test.
# Ends with one plain line "tests: N passed, N failed, N skipped" (a skipped test counts as a failure).
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh || exit 1

status=0
echo "== lint (biome)"; npx biome check . || status=1
echo "== typecheck (tsc --noEmit)"; npx tsc --noEmit -p tsconfig.json || status=1
echo "== tests (vitest)"
report=$(mktemp -t vitest-report.XXXXXX.json)
npx vitest run --reporter=default --reporter=json --outputFile.json="$report" "$@" || status=1
node -e '
  const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  const skipped = r.numPendingTests + r.numTodoTests;
  console.log(`tests: ${r.numPassedTests} passed, ${r.numFailedTests + skipped} failed, ${skipped} skipped`);
  if (r.numFailedTests > 0 || skipped > 0 || r.numTotalTests === 0) process.exit(1);
' "$report" || status=1
rm -f "$report"
exit $status
