//! Cost at archive scale: cached input counted and priced, flex processing, per-model
//! prices, and a budget (`--max-cost`, `--max-tokens-total`) that holds.

use std::time::Duration;

use postcall::report::StopReason;
use postcall_testkit::fake_llm::{FakeConfig, FakeServer};

use crate::common::{TestDir, slow_fake};
use crate::run::{SPEC, dir_with_calls, read_json_report, write_calls};

/// USD at `in`/`out`/`cached` per million tokens.
fn priced(prompt: u64, cached: u64, completion: u64, rates: (f64, f64, f64)) -> f64 {
    ((prompt - cached) as f64 * rates.0 + cached as f64 * rates.2 + completion as f64 * rates.1) / 1e6
}

#[test]
fn cached_input_is_counted_and_priced_at_its_rate_per_call_and_per_run() {
    let fake = FakeServer::start(FakeConfig {
        cached_prompt_share: 0.5,
        ..Default::default()
    })
    .unwrap();
    let dir = dir_with_calls(SPEC, 6);
    let assert = dir
        .run_against(&fake)
        .args(["-o", "r.json", "-o", "r.csv", "--no-cache", "--price", "2,8,0.5"])
        .assert()
        .success();
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).to_string();
    assert!(stderr.contains("cached by the provider"), "{stderr}");
    let report = read_json_report(&dir.join("r.json"));
    let header = report.header.as_ref().unwrap();
    let usage = header.usage;
    assert!(usage.cached_prompt_tokens > 0 && usage.cached_prompt_tokens < usage.prompt_tokens);
    let expected = priced(
        usage.prompt_tokens,
        usage.cached_prompt_tokens,
        usage.completion_tokens,
        (2.0, 8.0, 0.5),
    );
    let cost = header.cost_usd.expect("a price was given");
    assert!((cost - expected).abs() < 1e-9, "{cost} vs {expected}");
    // Cheaper than if cached input were priced as fresh.
    assert!(cost < priced(usage.prompt_tokens, 0, usage.completion_tokens, (2.0, 8.0, 2.0)));
    let per_call: f64 = report.calls.iter().map(|c| c.cost_usd.expect("each call priced")).sum();
    assert!(
        (per_call - cost).abs() < 1e-9,
        "calls add up to the run: {per_call} vs {cost}"
    );
    let model = header.models.get(crate::common::MODEL).expect("the model's part");
    assert!(model.metrics.contains(&"call_outcome".to_string()) && model.metrics.contains(&"summary".to_string()));

    // The CSV has the same usage and cost, per call.
    let mut csv = csv::Reader::from_path(dir.join("r.csv")).unwrap();
    let headers = csv.headers().unwrap().clone();
    let col = |name: &str| {
        headers
            .iter()
            .position(|h| h == name)
            .unwrap_or_else(|| panic!("{name} in {headers:?}"))
    };
    let (cost_col, cached_col) = (col("cost_usd"), col("cached_prompt_tokens"));
    for (row, call) in csv.records().zip(&report.calls) {
        let row = row.unwrap();
        let cell: f64 = row[cost_col].parse().unwrap();
        assert!((cell - call.cost_usd.unwrap()).abs() < 1e-9);
        assert_eq!(row[cached_col].parse::<u64>().unwrap(), call.usage.cached_prompt_tokens);
    }
}

#[test]
fn flex_is_sent_priced_at_half_and_its_unavailability_is_retried_until_every_call_is_done() {
    let fake = FakeServer::start(FakeConfig {
        rate_unavailable: 0.3,
        record: true,
        ..Default::default()
    })
    .unwrap();
    let dir = dir_with_calls(SPEC, 10);
    dir.run_against(&fake)
        .args(["-o", "r.json", "--no-cache", "--quiet", "--price", "2,8"])
        .args(["--service-tier", "flex", "-j", "4"])
        .assert()
        .success();
    let report = read_json_report(&dir.join("r.json"));
    let header = report.header.as_ref().unwrap();
    assert!(header.complete, "{header:?}");
    assert_eq!(report.calls.iter().filter(|c| c.failed()).count(), 0);
    assert!(
        header.usage.requests > 10,
        "some requests were retried: {:?}",
        header.usage
    );
    assert_eq!(header.service_tier, Some(postcall::spec::ServiceTier::Flex));
    let standard = priced(
        header.usage.prompt_tokens,
        0,
        header.usage.completion_tokens,
        (2.0, 8.0, 2.0),
    );
    assert!((header.cost_usd.unwrap() - standard / 2.0).abs() < 1e-9);
    assert!(fake.recorded().iter().all(|r| r.body["service_tier"] == "flex"));
}

#[test]
fn a_model_a_metric_names_has_its_own_price_and_without_one_cost_is_unknown() {
    let fake = FakeServer::start(FakeConfig::default()).unwrap();
    let dir = TestDir::new();
    let spec = "version: 1\nstrategy: per_metric\nllm:\n  prices:\n    small: {input_per_mtok: 0.1, output_per_mtok: 0.4}\n\
                metrics:\n  - id: resolved\n    type: boolean\n    prompt: Was it resolved?\n\
                \x20 - id: angry\n    type: boolean\n    prompt: Was the caller angry?\n    model: small\n";
    dir.write("metrics.yaml", spec);
    write_calls(&dir, 3);
    dir.run_against(&fake)
        .args(["-o", "r.json", "--no-cache", "--quiet", "--price", "2,8"])
        .assert()
        .success();
    let report = read_json_report(&dir.join("r.json"));
    let header = report.header.as_ref().unwrap();
    assert_eq!(header.models["small"].metrics, vec!["angry".to_string()]);
    assert_eq!(
        header.models[crate::common::MODEL].metrics,
        vec!["resolved".to_string()]
    );
    let small = header.models["small"].usage;
    let small_cost = header.models["small"].cost_usd.unwrap();
    assert!((small_cost - priced(small.prompt_tokens, 0, small.completion_tokens, (0.1, 0.4, 0.1))).abs() < 1e-12);
    let total: f64 = header.models.values().map(|m| m.cost_usd.unwrap()).sum();
    assert!((header.cost_usd.unwrap() - total).abs() < 1e-12);

    // Without the small model's price the run's cost is unknown, never 0.
    dir.write("metrics.yaml", spec.replace("prices:\n    small", "prices:\n    other"));
    dir.run_against(&fake)
        .args(["-o", "r2.json", "--no-cache", "--quiet", "--price", "2,8"])
        .assert()
        .success();
    let report = read_json_report(&dir.join("r2.json"));
    let header = report.header.as_ref().unwrap();
    assert_eq!(header.cost_usd, None);
    assert_eq!(header.models["small"].cost_usd, None);
    assert!(header.models[crate::common::MODEL].cost_usd.is_some());
    assert!(report.calls.iter().all(|c| c.cost_usd.is_none()));
}

#[test]
fn max_cost_stops_scheduling_and_never_overspends_by_more_than_what_was_in_flight() {
    let fake = slow_fake(40);
    let dir = dir_with_calls(SPEC, 60);
    // What one request costs, measured on a priced run of one call.
    dir.run_against(&fake)
        .args([
            "-o",
            "one.json",
            "--no-cache",
            "--quiet",
            "--price",
            "2,8",
            "--limit",
            "1",
        ])
        .assert()
        .success();
    let one = read_json_report(&dir.join("one.json"))
        .header
        .unwrap()
        .cost_usd
        .unwrap();
    let budget = one * 20.5;
    let concurrency = 4;
    let assert = dir
        .run_against(&fake)
        .args(["-o", "r.json", "--no-cache", "--quiet", "--price", "2,8"])
        .args(["-j", &concurrency.to_string(), "--max-cost", &budget.to_string()])
        .assert()
        .code(4);
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).to_string();
    assert!(stderr.contains("budget reached"), "{stderr}");
    // Nothing was cached: the advice must not promise that a re-run skips what was paid for.
    assert!(
        stderr.contains("with --no-cache, every call is asked again"),
        "{stderr}"
    );
    let report = read_json_report(&dir.join("r.json.partial"));
    let header = report.header.as_ref().unwrap();
    assert!(!header.complete);
    assert_eq!(header.stopped, Some(StopReason::BudgetReached));
    let spent = header.cost_usd.unwrap();
    let in_flight = one * 1.5 * concurrency as f64;
    assert!(
        spent <= budget + in_flight,
        "spent {spent} of {budget}, more than {in_flight} over"
    );
    assert!(
        spent >= budget - 2.0 * one * concurrency as f64,
        "stopped too early: {spent} of {budget}"
    );
    assert!(
        report.calls.len() >= 12 && report.calls.len() < 60,
        "{}",
        report.calls.len()
    );
    assert!(report.calls.iter().all(|c| !c.failed()), "what was written is whole");
    // A re-run with more budget finishes.
    dir.run_against(&fake)
        .args(["-o", "r.json", "--quiet", "--price", "2,8", "--max-cost", "100"])
        .assert()
        .success();
}

/// The measurement behind README's figures: how far past `--max-cost` a run goes, at each
/// concurrency, with re-asks (malformed answers) and retried 5xx in the mix. Each request
/// in flight when the budget is reached may finish and be paid for; nothing else may.
#[test]
fn max_cost_overspend_measured_at_each_concurrency_is_at_most_the_requests_in_flight() {
    let fake = FakeServer::start(FakeConfig {
        latency: Duration::from_millis(30),
        jitter: Duration::from_millis(20),
        rate_malformed: 0.3,
        rate_5xx: 0.05,
        seed: 11,
        ..Default::default()
    })
    .unwrap();
    let dir = dir_with_calls(SPEC, 48);
    let price = ["--no-cache", "--quiet", "--price", "2,8"];
    dir.run_against(&fake)
        .args(["-o", "full.json", "-j", "8"])
        .args(price)
        .assert()
        .success();
    let full = read_json_report(&dir.join("full.json"));
    let total = full.header.as_ref().unwrap().cost_usd.unwrap();
    let call_costs =
        |report: &postcall::report::Report| -> Vec<f64> { report.calls.iter().map(|c| c.cost_usd.unwrap()).collect() };
    for (concurrency, share) in [(1usize, 0.3), (4, 0.5), (16, 0.5)] {
        let budget = total * share;
        let out = format!("r{concurrency}.json");
        dir.run_against(&fake)
            .args([
                "-o",
                &out,
                "-j",
                &concurrency.to_string(),
                "--max-cost",
                &budget.to_string(),
            ])
            .args(price)
            .assert()
            .code(4);
        let report = read_json_report(&dir.join(&format!("{out}.partial")));
        let spent = report.header.as_ref().unwrap().cost_usd.unwrap();
        // No request costs more than the dearest call (a call's requests, re-asks included).
        let dearest = call_costs(&full)
            .into_iter()
            .chain(call_costs(&report))
            .fold(0.0, f64::max);
        let bound = dearest * concurrency as f64;
        let over = spent - budget;
        eprintln!(
            "--max-cost ${budget:.5} -j {concurrency}: spent ${spent:.5}, {over:+.5} ({:+.2} % of the budget); \
             {concurrency} request(s) in flight could add at most ${bound:.5}",
            over / budget * 100.0
        );
        assert!(
            over <= bound,
            "overspent by {over}, more than the {bound} in flight could"
        );
        // Requests wait for the reservations in flight rather than give up: the budget is
        // spent, not abandoned at the first estimates that do not fit together.
        assert!(
            spent >= budget - 2.0 * dearest,
            "stopped too early: {spent} of {budget}"
        );
    }
}

#[test]
fn max_cost_without_a_price_is_a_usage_error_and_max_tokens_total_needs_none() {
    let fake = FakeServer::start(FakeConfig::default()).unwrap();
    let dir = dir_with_calls(SPEC, 30);
    let assert = dir
        .run_against(&fake)
        .args(["-o", "r.json", "--no-cache", "--max-cost", "5"])
        .assert()
        .code(2);
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).to_string();
    assert!(
        stderr.contains("--max-cost needs the price") && stderr.contains("--price"),
        "{stderr}"
    );
    assert_eq!(fake.requests(), 0, "nothing was sent");

    dir.run_against(&fake)
        .args([
            "-o",
            "t.json",
            "--no-cache",
            "--quiet",
            "--max-tokens-total",
            "4000",
            "-j",
            "2",
        ])
        .assert()
        .code(4);
    let report = read_json_report(&dir.join("t.json.partial"));
    let header = report.header.as_ref().unwrap();
    assert_eq!(header.stopped, Some(StopReason::BudgetReached));
    let used = header.usage.prompt_tokens + header.usage.completion_tokens;
    let per_request = used / header.usage.requests.max(1);
    assert!(used <= 4000 + 2 * 2 * per_request, "{used} tokens");
    assert!(header.usage.requests < 30);
}

#[test]
fn dry_run_compares_the_standard_price_with_flex_and_batch() {
    let dir = dir_with_calls(SPEC, 4);
    let assert = dir
        .run_at("http://127.0.0.1:9/v1", "gpt-4o-mini")
        .args(["--dry-run", "--price", "0.15,0.6,0.075"])
        .assert()
        .success();
    let stdout = String::from_utf8_lossy(&assert.get_output().stdout).to_string();
    let cost_line = stdout
        .lines()
        .find(|l| l.trim_start().starts_with("cost "))
        .expect(&stdout);
    let tiers = stdout.lines().find(|l| l.contains("cheaper tiers")).expect(&stdout);
    let dollars = |line: &str| -> Vec<f64> {
        line.split('$')
            .skip(1)
            .filter_map(|s| s.split(|c: char| !c.is_ascii_digit() && c != '.').next()?.parse().ok())
            .collect()
    };
    let standard = dollars(cost_line)[0];
    let cheaper = dollars(tiers);
    assert!(standard > 0.0, "{stdout}");
    assert!(
        (cheaper[0] - standard / 2.0).abs() < 1e-4 && (cheaper[1] - standard / 2.0).abs() < 1e-4,
        "{stdout}"
    );
}

#[test]
fn dry_run_counts_an_openai_models_tokens_with_its_encoding_and_labels_an_estimate() {
    let dir = dir_with_calls(SPEC, 5);
    let dry = |model: &str| {
        let assert = dir
            .run_at("http://127.0.0.1:9/v1", model)
            .args(["--dry-run", "--structured-output", "prompt"])
            .assert()
            .success();
        String::from_utf8_lossy(&assert.get_output().stdout).to_string()
    };
    let tokens = |out: &str| -> u64 {
        let line = out.lines().find(|l| l.contains("input tokens")).expect(out);
        line.split('~')
            .nth(1)
            .unwrap()
            .split_whitespace()
            .next()
            .unwrap()
            .parse()
            .unwrap()
    };
    let exact = dry("gpt-4o-mini");
    assert!(exact.contains("(counted with o200k_base)"), "{exact}");
    let guessed = dry("my-local-model");
    assert!(guessed.contains("(estimated"), "{guessed}");
    // Both count the same requests: the estimate is near the count, not equal to it.
    let (a, b) = (tokens(&exact) as f64, tokens(&guessed) as f64);
    assert!(a != b && (a - b).abs() / a < 0.25, "{a} vs {b}");
}
