#!/usr/bin/env bash
# The whole test suite, from a fresh clone: setup, lint, typecheck, every test.
# Ends with one plain line "tests: N passed, N failed, N skipped" (a skipped test counts as a failure).
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
bash scripts/setup.sh || exit 1

status=0
# Lint, shellcheck and the typecheck (~1 min of CPU, mostly tsc) run in the background while the tests
# run: the tests spend much of their time waiting on labs, so this hides most of that minute. Their
# output is printed after the tests, each under its heading, and any failure fails the run.
checks=$(mktemp -d -t runbook-checks.XXXXXX)
(
  npx biome check . > "$checks/lint.out" 2>&1; echo $? > "$checks/lint.rc"
  # Every shell script, at shellcheck's default severity (style included): clean, or each exception
  # disabled inline with its reason (# shellcheck disable=SCxxxx # why).
  mapfile -t shell_scripts < <(find runbooks -name '*.sh' -type f | sort; ls scripts/*.sh)
  shellcheck -x "${shell_scripts[@]}" > "$checks/shellcheck.out" 2>&1; echo $? > "$checks/shellcheck.rc"
  npx tsc --noEmit -p tsconfig.json > "$checks/typecheck.out" 2>&1; echo $? > "$checks/typecheck.rc"
) &
checks_pid=$!
echo "== tests (vitest)"
report=$(mktemp -t vitest-report.XXXXXX.json)
npx vitest run --reporter=default --reporter=json --outputFile.json="$report" "$@" || status=1
# shellcheck disable=SC2016 # JavaScript for node, not shell: nothing to expand here
summary=$(node -e '
  const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  const skipped = r.numPendingTests + r.numTodoTests;
  console.log(`tests: ${r.numPassedTests} passed, ${r.numFailedTests + skipped} failed, ${skipped} skipped`);
  if (process.env.UPDATE_TEST_DURATIONS === "1") {
    // Seconds per file, longest first: the order test/support/sequencer.ts starts them in.
    const root = process.cwd() + "/";
    const d = r.testResults
      .map((f) => [f.name.replace(root, ""), Math.max(1, Math.round((f.endTime - f.startTime) / 1000))])
      .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
    require("fs").writeFileSync("test/durations.json", JSON.stringify(Object.fromEntries(d), null, 2) + "\n");
  }
  if (r.numFailedTests > 0 || skipped > 0 || r.numTotalTests === 0) process.exit(1);
' "$report") || status=1
rm -f "$report"
wait "$checks_pid"
for check in "lint (biome)" "shellcheck" "typecheck (tsc --noEmit)"; do
  name=${check%% *}
  echo "== $check"
  cat "$checks/$name.out"
  [ "$(cat "$checks/$name.rc" 2>/dev/null)" = 0 ] || { echo "$check failed"; status=1; }
done
rm -rf "$checks"
echo "${summary:-tests: 0 passed, 1 failed, 0 skipped (no report from vitest: it crashed or was killed)}"
exit $status
