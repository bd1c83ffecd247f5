//! `postcall view`: the review page, opened in headless Chromium from a `file://` URL, its
//! DOM checked after the page's own script drew it. The page reads what to show from the
//! URL hash (`#tab=calls&where=…`), so each state is one `--dump-dom`.

use std::path::{Path, PathBuf};
use std::process::Command;

use regex::Regex;
use serde_json::{Value, json};

use crate::common::TestDir;

fn stdout_of(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr_of(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Where Chromium is, or what to do when it is not there.
pub fn find_chromium(path_var: &str) -> Result<PathBuf, String> {
    for dir in std::env::split_paths(path_var) {
        for name in ["chromium", "chromium-browser", "google-chrome"] {
            let candidate = dir.join(name);
            if candidate.is_file() {
                return Ok(candidate);
            }
        }
    }
    Err("the review page tests need headless Chromium, and none is on PATH: run scripts/install-test-tools.sh".into())
}

fn chromium() -> PathBuf {
    find_chromium(&std::env::var("PATH").unwrap_or_default()).unwrap_or_else(|e| panic!("{e}"))
}

/// The DOM of `page` after its script ran, with `hash` as the URL fragment, less the
/// embedded data and text (so that a check finds what was drawn, not what was embedded).
pub fn dom(page: &Path, hash: &str) -> String {
    let profile = tempfile::tempdir().unwrap();
    let url = format!("file://{}#{hash}", page.canonicalize().unwrap().display());
    let out = Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--window-size=1400,4000",
            "--virtual-time-budget=3000",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg("--dump-dom")
        .arg(&url)
        .output()
        .expect("chromium runs");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        text.contains("data-ready=\"true\""),
        "the page's script did not finish at {url}:\n{}\n{text}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut text = text;
    for id in [r#" id="data""#, r#" id="text""#] {
        let at = text.find(id).expect("the data elements");
        let start = text[..at].rfind("<script").expect("the data elements");
        let end = start + text[start..].find("</script>").expect("the data element ends");
        text = format!("{}{}", &text[..start], &text[end + "</script>".len()..]);
    }
    text
}

/// `(attribute values…)` of every element matching `pattern`'s groups.
fn all(text: &str, pattern: &str) -> Vec<Vec<String>> {
    Regex::new(pattern)
        .unwrap()
        .captures_iter(text)
        .map(|c| {
            c.iter()
                .skip(1)
                .map(|g| g.map_or("", |g| g.as_str()).to_string())
                .collect()
        })
        .collect()
}

const OUTCOMES: [&str; 3] = ["resolved", "escalated", "abandoned"];

/// A report of `n` calls with an enum, an integer and a boolean metric, answers spread by
/// the call's number, some null, invalid or missing; call 3's source is a real transcript.
fn report(n: usize) -> Value {
    let calls: Vec<Value> = (0..n)
        .map(|i| {
            let mut metrics = serde_json::Map::new();
            let outcome = match i % 7 {
                6 => json!({"status": "invalid", "reason": "not one of the choices", "raw": "\"maybe\""}),
                _ => json!({"status": "ok", "value": OUTCOMES[i % 3], "confidence": 0.5 + (i % 5) as f64 / 10.0,
                            "reasoning": format!("Call {i} ended that way.")}),
            };
            metrics.insert("outcome".into(), outcome);
            if i % 11 != 10 {
                metrics.insert(
                    "score".into(),
                    json!({"status": "ok", "value": 1 + (i * 3) % 5, "confidence": 0.9}),
                );
            }
            let verified = match i % 4 {
                0 => json!({"status": "null", "reasoning": "Not said."}),
                1 => json!({"status": "not_applicable"}),
                k => json!({"status": "ok", "value": k == 2}),
            };
            metrics.insert("verified".into(), verified);
            json!({
                "call_id": format!("c{i:02}"),
                "source": format!("calls/c{i:02}.json"),
                "format": "generic",
                "call": {"started_at": format!("2026-03-{:02}T10:00:00Z", 1 + i % 3)},
                "summary": format!("Summary of call {i}."),
                "metrics": metrics,
                "usage": {"requests": 1, "cached": 0, "retries": 0, "prompt_tokens": 10, "completion_tokens": 5},
            })
        })
        .collect();
    json!({
        "postcall": {
            "version": "0.1.0", "report_format": 1,
            "started_at": "2026-03-04T10:00:00Z", "finished_at": "2026-03-04T10:02:00Z",
            "complete": true, "calls_not_done": 0, "base_url": "http://127.0.0.1:1/v1", "model": "test-model",
            "strategy": "per_call", "structured_output": "json_schema",
            "metrics_sha256": "948926dd0c41aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
            "calls": n, "failed_calls": 0, "invalid_values": 0,
            "usage": {"requests": n, "cached": 0, "retries": 0, "prompt_tokens": 0, "completion_tokens": 0},
            "cost_usd": null
        },
        "metrics": [
            {"id": "outcome", "type": "enum", "choices": ["resolved", "escalated", "abandoned", "transferred"], "prompt": "Outcome?", "required": true},
            {"id": "score", "type": "integer", "range": [1, 5], "prompt": "Score?"},
            {"id": "verified", "type": "boolean", "prompt": "Verified?", "applies_when": "The agent tried."}
        ],
        "calls": calls,
    })
}

fn write_report(dir: &TestDir, report: &Value) -> PathBuf {
    dir.write("report.json", serde_json::to_string_pretty(report).unwrap())
}

fn view(dir: &TestDir, args: &[&str]) -> PathBuf {
    let out = dir
        .postcall()
        .args(["view", "report.json", "-o", "review.html"])
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert!(stderr_of(&out).contains("wrote review.html"), "{}", stderr_of(&out));
    dir.join("review.html")
}

/// What the report says about `metric` in each call: the value text or the status.
fn answers(report: &Value, metric: &str) -> Vec<String> {
    report["calls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|call| match call["metrics"].get(metric) {
            None => "missing".to_string(),
            Some(r) if r["status"] == "ok" => match &r["value"] {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            },
            Some(r) => r["status"].as_str().unwrap().to_string(),
        })
        .collect()
}

#[test]
fn every_metric_chart_and_status_count_matches_the_report() {
    let dir = TestDir::new();
    let report = report(40);
    write_report(&dir, &report);
    let page = view(&dir, &[]);
    let html = dom(&page, "tab=overview");
    // The top of the page states what produced the report.
    assert!(html.contains("test-model") && html.contains("948926dd0c41") && html.contains("complete: 40 calls"));
    let bars = all(
        &html,
        r#"<g class="bar-row" data-metric="([a-z_]+)" data-value="([^"]*)" data-count="(\d+)">"#,
    );
    for metric in ["outcome", "verified"] {
        let said = answers(&report, metric);
        let drawn: Vec<&Vec<String>> = bars.iter().filter(|b| b[0] == metric).collect();
        let values: Vec<&String> = said
            .iter()
            .filter(|a| !["null", "not_applicable", "invalid", "missing"].contains(&a.as_str()))
            .collect();
        assert!(!drawn.is_empty(), "no bars for {metric}");
        for bar in &drawn {
            let expected = values.iter().filter(|v| **v == &bar[1]).count();
            assert_eq!(bar[2].parse::<usize>().unwrap(), expected, "{metric}={}", bar[1]);
        }
        // Every value that occurs has its bar; an unused choice is drawn at 0.
        let drawn_sum: usize = drawn.iter().map(|b| b[2].parse::<usize>().unwrap()).sum();
        assert_eq!(drawn_sum, values.len(), "{metric}");
    }
    assert!(
        bars.iter()
            .any(|b| b[0] == "outcome" && b[1] == "transferred" && b[2] == "0")
    );
    // Numbers are a histogram whose bars add up to the calls with a value.
    let scores: usize = bars
        .iter()
        .filter(|b| b[0] == "score")
        .map(|b| b[2].parse::<usize>().unwrap())
        .sum();
    assert_eq!(
        scores,
        answers(&report, "score")
            .iter()
            .filter(|a| a.parse::<f64>().is_ok())
            .count()
    );
    // Status counts per metric, in the card of that metric.
    for metric in ["outcome", "score", "verified"] {
        let card_start = html
            .find(&format!(r#"<section class="card" data-metric="{metric}">"#))
            .unwrap();
        let card = &html[card_start..];
        let card = &card[..card.find("</section>").unwrap()];
        let said = answers(&report, metric);
        for status in ["null", "not_applicable", "invalid", "missing"] {
            let expected = said.iter().filter(|a| *a == status).count();
            let shown = all(card, &format!(r#"data-status="{status}">(\d+)<"#));
            assert_eq!(shown, vec![vec![expected.to_string()]], "{metric} {status}");
        }
    }
    // Trends by the calls' dates: 40 calls over three days.
    let days = all(
        &html,
        r#"<g class="trend-row" data-metric="calls" data-value="([0-9-]+)" data-count="(\d+)">"#,
    );
    assert_eq!(
        days,
        [["2026-03-01", "14"], ["2026-03-02", "13"], ["2026-03-03", "13"]]
            .map(|d| d.map(String::from).to_vec())
            .to_vec()
    );
}

#[test]
fn a_filter_shows_exactly_the_calls_postcall_filter_returns() {
    let dir = TestDir::new();
    write_report(&dir, &report(40));
    let page = view(&dir, &[]);
    // The same page with its data gzip'd, as a big report's is, must pick the same calls.
    std::fs::rename(&page, dir.join("plain.html")).unwrap();
    let gzip = view(&dir, &["--data", "gzip"]);
    assert!(
        std::fs::read_to_string(&gzip)
            .unwrap()
            .contains(r#"data-encoding="gzip""#)
    );
    for conditions in [
        vec!["outcome=Escalated"],
        vec!["score<=2"],
        vec!["verified:status=null"],
        vec!["outcome!=resolved", "score>3"],
        vec!["verified=true"],
        vec!["score:status=missing"],
    ] {
        let mut filter = dir.postcall();
        filter.args(["filter", "report.json"]);
        for c in &conditions {
            filter.args(["--where", c]);
        }
        let out = filter.output().unwrap();
        assert!(out.status.success(), "{}", stderr_of(&out));
        let expected: Vec<String> = stdout_of(&out)
            .lines()
            .skip(2)
            .map(|l| l.split_whitespace().next().unwrap().to_string())
            .collect();
        assert!(
            !expected.is_empty(),
            "{conditions:?} matches nothing: not a useful check"
        );
        let hash: String = std::iter::once("tab=calls".to_string())
            .chain(conditions.iter().map(|c| format!("where={}", urlencode(c))))
            .collect::<Vec<_>>()
            .join("&");
        for page in [dir.join("plain.html"), gzip.clone()] {
            let html = dom(&page, &hash);
            let shown: Vec<String> = all(&html, r#"<tr data-call-id="([^"]+)""#)
                .into_iter()
                .map(|r| r[0].clone())
                .collect();
            assert_eq!(shown, expected, "{conditions:?} in {}", page.display());
            let count = all(&html, r#"id="match-count" data-matched="(\d+)" data-total="(\d+)""#);
            assert_eq!(count, vec![vec![expected.len().to_string(), "40".to_string()]]);
        }
    }
}

#[test]
fn a_bad_condition_in_the_page_says_what_is_wrong() {
    let dir = TestDir::new();
    write_report(&dir, &report(5));
    let page = view(&dir, &[]);
    let html = dom(&page, "tab=calls&where=outcome%3Dclosed");
    assert!(html.contains("is not one of the choices of `outcome`"), "{html}");
}

fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'_' | b'-' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[test]
fn hostile_report_text_is_shown_as_text_and_never_runs() {
    let dir = TestDir::new();
    let mut report = report(3);
    let hostile = "</script><script>alert(1)</script><!--";
    report["calls"][0]["call_id"] = json!(hostile);
    report["calls"][0]["summary"] = json!("<img src=x onerror=alert(2)>");
    report["calls"][0]["metrics"]["outcome"]["reasoning"] = json!("</script><script>alert(3)</script>");
    write_report(&dir, &report);
    let page = view(&dir, &[]);
    for hash in ["tab=calls".to_string(), format!("tab=call&call={}", urlencode(hostile))] {
        let html = dom(&page, &hash);
        // Only the page's own script is left besides the data, and no image was made.
        assert_eq!(html.matches("<script").count(), 1, "{hash}: {html}");
        assert!(!html.contains("<img"), "{hash}");
        assert!(
            html.contains("&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;&lt;!--"),
            "{hash}: {html}"
        );
    }
    let html = dom(&page, &format!("tab=call&call={}", urlencode(hostile)));
    assert!(html.contains("&lt;img src=x onerror=alert(2)&gt;"), "{html}");
    assert!(html.contains("&lt;/script&gt;&lt;script&gt;alert(3)&lt;/script&gt;"));
}

#[test]
fn one_call_shows_its_answers_and_its_transcript_read_from_the_source() {
    let dir = TestDir::new();
    write_report(&dir, &report(8));
    dir.write(
        "calls/c03.json",
        r#"{"call_id": "c03", "transcript": [
            {"role": "agent", "content": "Thanks for calling Acme, how can I help?"},
            {"role": "user", "content": "My internet has been down since Monday."}
        ]}"#,
    );
    let page = view(&dir, &[]);
    let html = dom(&page, "tab=call&call=c03");
    assert!(html.contains("Call <code>c03</code>"), "{html}");
    assert!(html.contains("Call 3 ended that way."));
    assert!(html.contains("Summary of call 3."));
    let turns = all(
        &html,
        r#"data-turn="(\d+)">.*?<span class="who">([a-z]+)</span><span class="said">([^<]*)</span>"#,
    );
    assert_eq!(turns.len(), 2, "{html}");
    assert_eq!(
        turns[1][1..],
        [
            "customer".to_string(),
            "My internet has been down since Monday.".to_string()
        ]
    );
    // A call whose source is gone says where it was.
    let html = dom(&page, "tab=call&call=c04");
    assert!(
        html.contains("its source file is not there; the transcript was in calls/c04.json"),
        "{html}"
    );
    // An invalid answer shows why.
    let html = dom(&page, "tab=call&call=c06");
    assert!(html.contains("invalid: not one of the choices"), "{html}");
    // Without transcripts the page says so.
    let page = view(&dir, &["--transcripts", "none"]);
    let html = dom(&page, "tab=call&call=c03");
    assert!(
        html.contains("not embedded (--transcripts none); it is in calls/c03.json"),
        "{html}"
    );
}

/// A quote is marked inside the turn it cites, the turns numbered as the prompt numbers
/// them (agent and customer turns from 0, so a system turn before them takes no number),
/// and a quote found elsewhere is marked where it was found.
#[test]
fn a_call_s_evidence_highlights_the_quoted_text_in_its_turn() {
    let dir = TestDir::new();
    let mut report = report(8);
    report["calls"][3]["metrics"]["outcome"]["evidence"] = json!([
        {"turn": 1, "quote": "down since Monday", "verified": true},
        {"turn": 1, "quote": "how can I help", "verified": true, "found_in_turn": 0}
    ]);
    write_report(&dir, &report);
    dir.write(
        "calls/c03.json",
        r#"{"call_id": "c03", "transcript": [
            {"role": "system", "content": "The call is recorded."},
            {"role": "agent", "content": "Thanks for calling Acme, how can I help?"},
            {"role": "user", "content": "My internet has been down since Monday."}
        ]}"#,
    );
    let page = view(&dir, &[]);
    let html = dom(&page, "tab=call&call=c03&ev=outcome-0");
    // Each numbered turn's element, up to the next turn.
    let marked: Vec<(String, Vec<String>)> = html
        .split("data-turn=\"")
        .skip(1)
        .map(|part| {
            let number = part[..part.find('"').unwrap()].to_string();
            let part = &part[..part.find("</div>").unwrap_or(part.len())];
            let marks = all(part, r#"<mark class="evidence[^"]*"[^>]*>([^<]*)</mark>"#)
                .into_iter()
                .map(|m| m[0].clone())
                .collect();
            (number, marks)
        })
        .collect();
    assert_eq!(
        marked,
        [
            ("0".to_string(), vec!["how can I help".to_string()]),
            ("1".to_string(), vec!["down since Monday".to_string()]),
        ],
        "{html}"
    );
    assert!(html.contains("The call is recorded."), "the system turn is still shown");
    // The quote the link named (`ev=`) is the current one.
    assert!(
        html.contains(
            r#"<mark class="evidence current" id="ev-outcome-0" data-evidence="outcome-0">down since Monday</mark>"#
        ),
        "{html}"
    );
    assert!(html.contains("turn 1, verified"), "{html}");
}

#[test]
fn view_refuses_to_write_over_its_report_and_names_unknown_metrics() {
    let dir = TestDir::new();
    write_report(&dir, &report(3));
    let out = dir
        .postcall()
        .args(["view", "report.json", "-o", "report.json"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(stderr_of(&out).contains("report.json"), "{}", stderr_of(&out));
    let out = dir
        .postcall()
        .args(["view", "report.json", "-o", "r.html", "--by", "outcom"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr_of(&out).contains("--by outcom: no metric `outcom`"),
        "{}",
        stderr_of(&out)
    );
    assert!(!dir.join("r.html").exists());
}

#[test]
fn a_missing_chromium_says_how_to_install_it() {
    let empty = tempfile::tempdir().unwrap();
    let err = find_chromium(&empty.path().display().to_string()).unwrap_err();
    assert!(err.contains("run scripts/install-test-tools.sh"), "{err}");
}

#[test]
fn compare_shows_what_diff_reports_with_both_reasonings() {
    let dir = TestDir::new();
    let base = report(30);
    let mut new = base.clone();
    for i in [2usize, 5, 9] {
        new["calls"][i]["metrics"]["outcome"] = json!({"status": "ok", "value": "transferred", "reasoning": format!("New prompt: call {i} was transferred.")});
    }
    dir.write("base.json", serde_json::to_string(&base).unwrap());
    write_report(&dir, &new);
    let page = view(&dir, &["--compare", "base.json"]);
    let out = dir
        .postcall()
        .args(["diff", "base.json", "report.json", "--format", "json"])
        .output()
        .unwrap();
    let diff: Value = serde_json::from_slice(&out.stdout).unwrap();
    let html = dom(&page, "tab=compare");
    for metric in diff["metrics"].as_array().unwrap() {
        let id = metric["id"].as_str().unwrap();
        let changed = all(&html, &format!(r#"<tr data-metric="{id}">.*?data-changed="(\d+)""#));
        assert_eq!(changed, vec![vec![metric["changed"].to_string()]], "{id}");
    }
    let changed: Vec<String> = all(&html, r#"data-changed-call="([^"]+)""#)
        .into_iter()
        .map(|r| r[0].clone())
        .collect();
    assert_eq!(changed, ["c02", "c05", "c09"]);
    // Both reasonings side by side; the transition table counts the moves.
    assert!(html.contains("Call 5 ended that way.") && html.contains("New prompt: call 5 was transferred."));
    let moved = all(&html, r#"data-from="([a-z]+)" data-to="transferred">(\d+)<"#);
    let total: usize = moved.iter().map(|m| m[1].parse::<usize>().unwrap()).sum();
    assert_eq!(total, 3, "{moved:?}");
}

#[test]
fn run_writes_the_review_page_when_it_finishes() {
    use postcall_testkit::fake_llm::{FakeConfig, FakeServer};
    let fake = FakeServer::start(FakeConfig::default()).unwrap();
    let dir = TestDir::new();
    dir.write("metrics.yaml", crate::run::SPEC);
    crate::run::write_calls(&dir, 4);
    let out = dir
        .run_against(&fake)
        .args(["-o", "r.json", "-o", "review.html"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let report: Value = serde_json::from_str(&std::fs::read_to_string(dir.join("r.json")).unwrap()).unwrap();
    let html = dom(&dir.join("review.html"), "tab=calls");
    let shown: Vec<String> = all(&html, r#"<tr data-call-id="([^"]+)""#)
        .into_iter()
        .map(|r| r[0].clone())
        .collect();
    let ids: Vec<String> = report["calls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["call_id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(shown, ids);
    // The transcripts were read again from the run's own inputs.
    let first = &ids[0];
    let html = dom(&dir.join("review.html"), &format!("tab=call&call={first}"));
    assert!(html.contains("Thanks for calling Northwind"), "{html}");
}

/// Which turn each evidence mark of a call's view is in: `(data-evidence, data-turn)`.
fn marks_by_turn(html: &str) -> Vec<(String, String)> {
    html.split("data-turn=\"")
        .skip(1)
        .flat_map(|part| {
            let number = part[..part.find('"').unwrap()].to_string();
            let part = &part[..part.find("</div>").unwrap_or(part.len())];
            let keys: Vec<String> = all(
                part,
                r#"<mark class="evidence[^"]*" id="[^"]*" data-evidence="([^"]+)""#,
            )
            .into_iter()
            .flat_map(|m| m[0].split(' ').map(String::from).collect::<Vec<_>>())
            .collect();
            keys.into_iter().map(move |key| (key, number.clone()))
        })
        .collect()
}

/// A run with `--all-speakers` showed the model system and tool turns too, numbered with
/// the rest; its header says so, and the page numbers the transcript the same way, so a
/// quote of the recording notice (turn 0 only with all speakers) is marked in that turn.
#[test]
fn evidence_of_an_all_speakers_run_marks_the_turn_the_model_was_shown() {
    use postcall_testkit::fake_llm::{FakeConfig, FakeServer};
    let fake = FakeServer::start(FakeConfig::default()).unwrap();
    let dir = TestDir::new();
    dir.write(
        "metrics.yaml",
        "version: 1\nmetrics:\n  - id: outcome\n    type: enum\n    choices: [resolved, escalated]\n    prompt: Outcome?\n  - id: refund\n    type: boolean\n    prompt: Was a refund given?\n",
    );
    for i in 0..8 {
        let call = json!({
            "call_id": format!("call-{i}"),
            "transcript": [
                {"role": "system", "content": format!("Recording notice {i}: this call is recorded for training.")},
                {"role": "agent", "content": format!("Thanks for calling Northwind, agent {i} speaking.")},
                {"role": "tool", "content": format!("lookup_order {i} returned status shipped")},
                {"role": "user", "content": format!("My order {i} never arrived, I want a refund.")},
                {"role": "agent", "content": format!("I have issued refund {i} for you today.")}
            ]
        });
        dir.write(&format!("calls/call-{i}.json"), serde_json::to_vec(&call).unwrap());
    }
    let out = dir
        .run_against(&fake)
        .args(["--all-speakers", "-o", "report.json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let report: Value = serde_json::from_str(&std::fs::read_to_string(dir.join("report.json")).unwrap()).unwrap();
    assert_eq!(report["postcall"]["transcripts"], json!({"all_speakers": true}));
    let page = view(&dir, &[]);
    let mut cited_unspoken = 0;
    for call in report["calls"].as_array().unwrap() {
        let id = call["call_id"].as_str().unwrap();
        let marks = marks_by_turn(&dom(&page, &format!("tab=call&call={id}")));
        for metric in ["outcome", "refund"] {
            for (k, e) in call["metrics"][metric]["evidence"]
                .as_array()
                .unwrap()
                .iter()
                .enumerate()
            {
                assert_eq!(e["verified"], true, "{id} {metric}: {e}");
                let turn = e["turn"].as_u64().unwrap();
                // Turns 0 and 2 are the system and tool turns: only an all-speakers prompt had them.
                if turn == 0 || turn == 2 {
                    cited_unspoken += 1;
                }
                let key = format!("{metric}-{k}");
                let at: Vec<&String> = marks.iter().filter(|m| m.0 == key).map(|m| &m.1).collect();
                assert_eq!(at, [&turn.to_string()], "{id} {key} cites turn {turn}: {marks:?}");
            }
        }
    }
    assert!(
        cited_unspoken > 0,
        "no quote of a system or tool turn: not a useful check"
    );
}

/// One bucket of a trend chart as drawn: `(metric, bucket, count or mean, [(part, count)])`.
type TrendRow = (String, String, String, Vec<(String, usize)>);

/// The trend charts' rows in `chunk` of a page's DOM, with the parts of stacked bars.
fn trend_rows(chunk: &str) -> Vec<TrendRow> {
    let head = Regex::new(r#"^ data-metric="([a-z_]+)" data-value="([0-9-]+)" data-(?:count|mean)="([^"]*)""#).unwrap();
    chunk
        .split(r#"<g class="trend-row""#)
        .skip(1)
        .map(|row| {
            let h = head.captures(row).unwrap_or_else(|| panic!("a trend row: {row}"));
            let row = &row[..row.find("</svg>").unwrap_or(row.len())];
            let parts = all(row, r#"<rect class="seg p\d" data-part="([^"]*)" data-count="(\d+)""#)
                .into_iter()
                .map(|p| (p[0].clone(), p[1].parse().unwrap()))
                .collect();
            (h[1].to_string(), h[2].to_string(), h[3].to_string(), parts)
        })
        .collect()
}

/// The trend rows the report's JSON says `calls` should have: calls per day, each
/// categorical metric's answers (statuses included) per day, the score's mean per day.
fn expected_trend_rows(report: &Value, calls: &[usize]) -> Vec<TrendRow> {
    let all_calls = report["calls"].as_array().unwrap();
    let day_of = |i: usize| all_calls[i]["call"]["started_at"].as_str().unwrap()[..10].to_string();
    let mut days: Vec<String> = (0..all_calls.len()).map(day_of).collect();
    days.sort();
    days.dedup();
    let in_day = |d: &str| -> Vec<usize> { calls.iter().copied().filter(|i| day_of(*i) == d).collect() };
    let mut rows: Vec<TrendRow> = days
        .iter()
        .map(|d| ("calls".into(), d.clone(), in_day(d).len().to_string(), vec![]))
        .collect();
    for (metric, parts) in [
        ("outcome", vec!["resolved", "escalated", "abandoned", "invalid"]),
        ("score", vec![]),
        ("verified", vec!["true", "false", "null", "not_applicable"]),
    ] {
        let said = answers(report, metric);
        for d in &days {
            if metric == "score" {
                let values: Vec<f64> = in_day(d)
                    .into_iter()
                    .filter_map(|i| said[i].parse::<f64>().ok())
                    .collect();
                let mean = if values.is_empty() {
                    String::new()
                } else {
                    (values.iter().sum::<f64>() / values.len() as f64).to_string()
                };
                rows.push((metric.into(), d.clone(), mean, vec![]));
                continue;
            }
            let counts: Vec<(String, usize)> = parts
                .iter()
                .map(|p| (p.to_string(), in_day(d).into_iter().filter(|i| said[*i] == *p).count()))
                .collect();
            let total: usize = counts.iter().map(|c| c.1).sum();
            rows.push((metric.into(), d.clone(), total.to_string(), counts));
        }
    }
    rows
}

/// Rows compared as numbers: a mean drawn as `3.2857142857142856` equals the test's.
fn same_rows(drawn: &[TrendRow], expected: &[TrendRow]) -> bool {
    drawn.len() == expected.len()
        && drawn.iter().zip(expected).all(|(a, b)| {
            let number = |s: &str| s.parse::<f64>().ok();
            let same_number = match (number(&a.2), number(&b.2)) {
                (Some(x), Some(y)) => (x - y).abs() < 1e-9,
                _ => a.2 == b.2,
            };
            a.0 == b.0 && a.1 == b.1 && same_number && a.3 == b.3
        })
}

#[test]
fn trend_charts_draw_the_report_s_counts_per_day() {
    let dir = TestDir::new();
    let report = report(40);
    write_report(&dir, &report);
    let page = view(&dir, &[]);
    let html = dom(&page, "tab=overview");
    let trends = &html[html.find(r#"id="trends""#).unwrap()..];
    let drawn = trend_rows(trends);
    let expected = expected_trend_rows(&report, &(0..40).collect::<Vec<_>>());
    // Every bucket is drawn, each stacked part with the count the report has.
    assert!(same_rows(&drawn, &expected), "drawn {drawn:#?}\nexpected {expected:#?}");
    // Each chart says what it shows to a screen reader, and has its numbers as a table.
    let figures = all(
        trends,
        r#"<figure class="trend" data-trend="([a-z]+)"><figcaption>[^<]*</figcaption><svg class="chart"[^>]* role="img" aria-label="([^"]+)""#,
    );
    assert_eq!(
        figures.iter().map(|f| f[0].as_str()).collect::<Vec<_>>(),
        ["calls", "outcome", "score", "verified"]
    );
    let first_day = expected.iter().find(|r| r.0 == "outcome").unwrap();
    let said: Vec<String> = first_day
        .3
        .iter()
        .filter(|p| p.1 > 0)
        .map(|p| format!("{} {}", p.0, p.1))
        .collect();
    let said = format!("{} {}", first_day.1, said.join(" "));
    assert!(figures[1][1].contains(&said), "{said} in {}", figures[1][1]);
    assert_eq!(trends.matches("<summary>the numbers</summary>").count(), 4);
    // The parts are named in a legend and told apart by pattern, not only by colour.
    assert!(trends.contains(r#"<g class="legend" aria-hidden="true">"#));
    assert!(html.contains(r#"<pattern id="pattern-1""#));
}

#[test]
fn by_a_metric_the_trends_split_into_groups_that_add_up_to_the_whole() {
    let dir = TestDir::new();
    let report = report(40);
    write_report(&dir, &report);
    let page = view(&dir, &["--by", "outcome"]);
    let html = dom(&page, "tab=overview");
    let trends = &html[html.find(r#"id="trends""#).unwrap()..];
    let mut chunks = trends.split(r#"data-trend-group=""#);
    let whole = trend_rows(chunks.next().unwrap());
    let groups: Vec<(String, Vec<TrendRow>)> = chunks
        .map(|c| (c[..c.find('"').unwrap()].to_string(), trend_rows(c)))
        .collect();
    let outcome = answers(&report, "outcome");
    assert_eq!(
        groups.iter().map(|g| g.0.as_str()).collect::<Vec<_>>(),
        ["resolved", "escalated", "abandoned", "invalid"]
    );
    for (group, rows) in &groups {
        // Each group is drawn from its own calls, and does not split outcome by itself.
        let members: Vec<usize> = (0..40).filter(|i| outcome[*i] == *group).collect();
        let expected: Vec<TrendRow> = expected_trend_rows(&report, &members)
            .into_iter()
            .filter(|r| r.0 != "outcome")
            .collect();
        assert!(
            same_rows(rows, &expected),
            "{group}: drawn {rows:#?}\nexpected {expected:#?}"
        );
    }
    // Counts of calls and of parts, summed over the groups, are the unsplit chart's.
    for row in whole.iter().filter(|r| r.0 == "calls" || r.0 == "verified") {
        let same: Vec<&TrendRow> = groups
            .iter()
            .flat_map(|g| g.1.iter())
            .filter(|r| r.0 == row.0 && r.1 == row.1)
            .collect();
        assert_eq!(same.len(), groups.len(), "{row:?}");
        let total: usize = same.iter().map(|r| r.2.parse::<usize>().unwrap()).sum();
        assert_eq!(total.to_string(), row.2, "{row:?}");
        for (k, (part, count)) in row.3.iter().enumerate() {
            let sum: usize = same.iter().map(|r| r.3[k].1).sum();
            assert_eq!(sum, *count, "{row:?} {part}");
        }
    }
}

#[test]
fn a_metric_whose_samples_disagree_is_marked_flaky_as_stats_says() {
    let dir = TestDir::new();
    let mut report = report(12);
    for (i, call) in report["calls"].as_array_mut().unwrap().iter_mut().enumerate() {
        // outcome: two of three samples agree on most calls (mean below 0.80); score: all do.
        let outcome = if i % 4 == 0 { 1.0 } else { 2.0 / 3.0 };
        for (metric, consistency) in [("outcome", outcome), ("score", 1.0)] {
            if let Some(result) = call["metrics"].get_mut(metric).filter(|r| r["status"] == "ok") {
                result["consistency"] = json!(consistency);
                result["samples"] = json!(3);
            }
        }
    }
    write_report(&dir, &report);
    let stats = dir.postcall().args(["stats", "report.json"]).output().unwrap();
    let said = stdout_of(&stats);
    let flaky_line = |metric: &str| said.lines().any(|l| l.contains(metric) && l.contains("FLAKY"));
    assert!(flaky_line("outcome") && !flaky_line("score"), "{said}");
    let html = dom(&view(&dir, &[]), "tab=overview");
    let marked = all(&html, r#"<span class="flaky" data-flaky="([a-z_]+)" title="([^"]*)""#);
    assert_eq!(marked.len(), 1, "{marked:?}");
    assert_eq!(marked[0][0], "outcome");
    assert!(marked[0][1].contains("below 0.80"), "{}", marked[0][1]);
}
