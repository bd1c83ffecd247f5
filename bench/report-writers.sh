#!/bin/sh
# Peak memory and time of each report writer on a large report: generates an N-call
# .jsonl report (default 100,000 calls, 7 metrics of every type, reasoning on each) with jq,
# then times `postcall convert report.jsonl -o out.FORMAT` once per format under
# /usr/bin/time -v. Every run reads the same report into memory first (convert holds the
# calls it re-exports), so the differences between the rows are the writers' own.
#
#   bench/report-writers.sh            # 100,000 calls
#   bench/report-writers.sh 20000      # another size
#
# Needs jq and GNU time (/usr/bin/time). The generated files go to a temporary directory,
# removed at the end (KEEP=DIR keeps them there instead).
set -eu
cd "$(dirname "$0")/.."
calls=${1:-100000}

cargo build --release --locked --quiet --bin postcall
postcall="${CARGO_TARGET_DIR:-$(pwd)/target}/release/postcall"

if [ -n "${KEEP:-}" ]; then
    work=$KEEP
    mkdir -p "$work"
else
    work=$(mktemp -d)
    trap 'rm -rf "$work"' EXIT
fi

jq -nc --argjson n "$calls" '
  def header(done): {
    version: "0.1.0", report_format: 1, started_at: "2026-01-01T00:00:00Z",
    complete: done, calls_not_done: (if done then 0 else $n end),
    base_url: "http://127.0.0.1:1/v1", model: "bench", strategy: "per_call",
    structured_output: "json_schema", metrics_sha256: ("ab" * 32),
    calls: (if done then $n else 0 end), failed_calls: 0, invalid_values: 0,
    usage: {requests: $n, cached: 0, retries: 0, prompt_tokens: ($n * 4000), completion_tokens: ($n * 300)}
  };
  def ok(v; why): {status: "ok", value: v, confidence: 0.85, reasoning: why};
  def two(d): if d < 10 then "0\(d)" else "\(d)" end;
  ( {postcall: header(false), metric_definitions: [
      {id: "call_outcome", type: "enum", choices: ["resolved", "escalated", "transferred", "abandoned"], prompt: "Outcome?", required: true},
      {id: "satisfaction_score", type: "integer", range: [1, 5], prompt: "Satisfaction 1-5?"},
      {id: "refund_amount", type: "number", range: [0, 1000], prompt: "Refund in dollars?"},
      {id: "follow_up_needed", type: "boolean", prompt: "Follow-up promised?"},
      {id: "promised_date", type: "datetime", prompt: "Promised date?"},
      {id: "mentioned_issues", type: "list", prompt: "Issues reported?"},
      {id: "customer_name", type: "string", prompt: "Customer name?"}
    ]} ),
  ( range(0; $n) | . as $i | {
      call_id: "call-\($i)", source: "calls/\($i % 97)/call-\($i).json", format: "generic",
      summary: "The customer called about invoice \($i) and a delivery that never arrived; the agent issued a refund and promised an email confirmation within two days.",
      metrics: {
        call_outcome: ok(["resolved", "escalated", "transferred", "abandoned"][$i % 4]; "The agent closed the request on the call after issuing the refund."),
        satisfaction_score: ok($i % 5 + 1; "The customer thanked the agent twice and sounded relieved at the end."),
        refund_amount: ok(($i % 1000) / 4; "The agent stated the refund amount before ending the call."),
        follow_up_needed: ok($i % 3 == 0; "An email confirmation was promised within two days."),
        promised_date: ok("2026-02-\(two($i % 28 + 1))"; "The agent named the date the refund would arrive."),
        mentioned_issues: ok(["late delivery", "billing error", "damaged box"][: $i % 4]; "The customer listed these problems."),
        customer_name: ok("Customer \($i)"; "The customer gave the name when asked.")
      },
      usage: {requests: 1, cached: 0, retries: 0, prompt_tokens: 4000, completion_tokens: 300}
    } ),
  ( {postcall: (header(true) + {finished_at: "2026-01-01T01:00:00Z"})} )
' >"$work/report.jsonl"

printf 'report: %s calls, %s MB (%s)\n\n' "$calls" "$(($(wc -c <"$work/report.jsonl") / 1000000))" "$work/report.jsonl"
printf '%-6s  %14s  %9s  %12s\n' format "peak RSS (MB)" "wall (s)" "output (MB)"
for format in jsonl csv xlsx json; do
    /usr/bin/time -v "$postcall" convert "$work/report.jsonl" -o "$work/out.$format" 2>"$work/time.txt" >/dev/null ||
        { cat "$work/time.txt" >&2; exit 1; }
    rss_kb=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$work/time.txt")
    wall=$(sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$work/time.txt")
    size=$(wc -c <"$work/out.$format")
    printf '%-6s  %14s  %9s  %12s\n' "$format" "$((rss_kb / 1000))" "$wall" "$((size / 1000000))"
done
