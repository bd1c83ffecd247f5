//! Results where users work: the `call` block every report carries, `--metadata`, and the
//! platform-shaped outputs (`atoms`, `dialgen`), checked field by field against the seed
//! documents' shapes for a call of each transcript format.

use postcall_testkit::fake_llm::{FakeConfig, FakeServer};
use serde_json::{Value, json};

use crate::common::{TestDir, fixture};
use crate::run::SPEC;

/// A run over `files` (fixtures under `formats/`) with `args`; returns stdout's text.
fn run_over(files: &[&str], args: &[&str]) -> (TestDir, FakeServer) {
    let fake = FakeServer::start(FakeConfig::default()).unwrap();
    let dir = TestDir::new();
    dir.write("metrics.yaml", SPEC);
    for file in files {
        let text = std::fs::read(fixture(&format!("formats/{file}"))).unwrap();
        dir.write(&format!("calls/{file}"), text);
    }
    let out = dir.run_against(&fake).args(["--quiet"]).args(args).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    (dir, fake)
}

fn lines(path: &std::path::Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// The call lines of a `.jsonl` report, by the platform's call id.
fn calls_of(path: &std::path::Path) -> Vec<Value> {
    lines(path).into_iter().filter(|l| l.get("call_id").is_some()).collect()
}

#[test]
fn every_report_carries_the_call_block_at_the_metadata_level_asked() {
    let (dir, _fake) = run_over(&["dialgen.json"], &["-o", "basic.jsonl", "-o", "basic.csv"]);
    let call = &calls_of(&dir.join("basic.jsonl"))[0];
    assert_eq!(
        call["call"],
        json!({
            "started_at": "2024-06-10T15:02:11Z",
            "platform": "Dialgen",
            "call_id": "call_8c1e2f",
            "ended_at": "2024-06-10T15:02:55.2Z",
            "duration_secs": 44.0,
            "agent_id": "agent_northwind",
            "contact_id": "contact_5521",
            "status": "COMPLETED",
        }),
        "basic: times, ids, status; no number, name or URL"
    );
    let csv = std::fs::read_to_string(dir.join("basic.csv")).unwrap();
    let mut rows = csv.lines();
    let header: Vec<&str> = rows.next().unwrap().split(',').collect();
    let row: Vec<&str> = rows.next().unwrap().split(',').collect();
    let cell = |name: &str| {
        row[header
            .iter()
            .position(|h| *h == name)
            .unwrap_or_else(|| panic!("{name}"))]
    };
    assert_eq!(cell("call.started_at"), "2024-06-10T15:02:11Z");
    assert_eq!(cell("call.contact_id"), "contact_5521");
    assert_eq!(cell("call.duration_secs"), "44");
    assert_eq!(
        cell("call.direction"),
        "",
        "the export has no direction: none is invented"
    );
    assert!(!header.contains(&"call.customer_number"));

    let out = dir
        .run_unconfigured()
        .args(["--quiet", "-o", "all.jsonl", "--metadata", "all"])
        .args(["--base-url", &_fake.base_url(), "--model", "m"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let call = &calls_of(&dir.join("all.jsonl"))[0];
    assert_eq!(call["call"]["customer_number"], "+14155550142");
    assert_eq!(call["call"]["customer_name"], "Maria Lopez");
    assert_eq!(
        call["call"]["recording_url"],
        "https://example.invalid/recordings/call_8c1e2f.mp3"
    );

    let out = dir
        .run_unconfigured()
        .args(["--quiet", "-o", "none.jsonl", "-o", "none.csv"])
        .args(["--metadata", "none", "--base-url", &_fake.base_url(), "--model", "m"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(calls_of(&dir.join("none.jsonl"))[0].get("call"), None);
    let csv = std::fs::read_to_string(dir.join("none.csv")).unwrap();
    assert!(!csv.contains("call."), "{csv}");
}

#[test]
fn the_call_block_of_each_format_is_what_its_fixture_holds() {
    let files = [
        "smallest_atoms.json",
        "vapi.json",
        "retell.json",
        "elevenlabs.json",
        "bland.json",
        "aws_connect_contact_lens.json",
        "generic.json",
    ];
    let (dir, _fake) = run_over(&files, &["-o", "r.jsonl", "--metadata", "all"]);
    let calls = calls_of(&dir.join("r.jsonl"));
    let by_platform = |platform: &str| {
        calls
            .iter()
            .find(|c| c["call"]["platform"] == platform)
            .unwrap_or_else(|| panic!("no {platform} call in {calls:#?}"))
            .clone()
    };
    let atoms = by_platform("Smallest AI Atoms");
    assert_eq!(atoms["call"]["call_id"], "CALL-1718031731000-4f9a2c");
    assert_eq!(atoms["call"]["direction"], "inbound");
    assert_eq!(atoms["call"]["customer_number"], "+14155550142");
    assert_eq!(atoms["call"]["agent_number"], "+18005550199");
    assert_eq!(atoms["call"]["agent_name"], "Northwind Support");
    let vapi = by_platform("Vapi");
    assert_eq!(vapi["call"]["ended_reason"], "customer-ended-call");
    assert_eq!(vapi["call"]["duration_secs"], 44.2);
    let retell = by_platform("Retell AI");
    assert_eq!(retell["call"]["status"], "ended");
    assert_eq!(retell["call"]["ended_reason"], "user_hangup");
    assert_eq!(by_platform("ElevenLabs")["call"]["status"], "done");
    assert_eq!(by_platform("Bland AI")["call"]["ended_reason"], "USER");
    let generic = calls
        .iter()
        .find(|c| c["call_id"] == "northwind-refund-481772")
        .expect("the generic call");
    assert_eq!(generic["call"]["started_at"], "2024-06-10T15:02:11Z");
    assert!(
        generic["call"].get("platform").is_none(),
        "postcall's own shape names no platform"
    );
}

/// The values the report holds for a call, to compare a platform document with.
fn report_values(dir: &TestDir, report: &str) -> Value {
    calls_of(&dir.join(report))[0]["metrics"].clone()
}

#[test]
fn atoms_documents_have_post_call_analytics_as_atoms_returns_it() {
    let (dir, _fake) = run_over(&["smallest_atoms.json"], &["-o", "r.jsonl", "-o", "r.atoms.jsonl"]);
    let docs = lines(&dir.join("r.atoms.jsonl"));
    assert_eq!(docs.len(), 1, "one document per call, no header lines");
    let doc = &docs[0];
    assert_eq!(doc["callId"], "CALL-1718031731000-4f9a2c");
    let analytics = &doc["postCallAnalytics"];
    assert!(analytics["summary"].is_string());
    let values = report_values(&dir, "r.jsonl");
    let items = analytics["dispositionMetrics"].as_array().unwrap();
    assert_eq!(items.len(), 9, "every metric of the file, in its order");
    let types: Vec<&str> = items
        .iter()
        .map(|i| i["dispositionMetricType"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        [
            "ENUM", "INTEGER", "STRING", "BOOLEAN", "STRING", "DATETIME", "STRING", "STRING", "BOOLEAN"
        ]
    );
    for item in items {
        let id = item["identifier"].as_str().unwrap();
        let result = &values[id];
        let keys: Vec<&str> = item.as_object().unwrap().keys().map(String::as_str).collect();
        for key in [
            "identifier",
            "value",
            "confidence",
            "reasoning",
            "dispositionMetricPrompt",
        ] {
            assert!(keys.contains(&key), "{id}: {keys:?}");
        }
        if let Some(list) = result["value"].as_array() {
            // Atoms has no list type: the items go as one STRING.
            let joined: Vec<&str> = list.iter().map(|v| v.as_str().unwrap()).collect();
            assert_eq!(item["value"], joined.join("; "), "{id}");
        } else if result["status"] == "ok" {
            assert_eq!(item["value"], result["value"], "{id}");
            assert!(item.get("postcall").is_none(), "{id}");
        } else {
            assert_eq!(item["value"], Value::Null, "{id}");
            assert_eq!(item["postcall"]["status"], result["status"], "{id}");
        }
    }
    assert_eq!(doc["postcall"]["call"]["platform"], "Smallest AI Atoms");
    assert!(doc["postcall"]["metricsSha256"].as_str().unwrap().len() == 64);
}

#[test]
fn dialgen_documents_are_its_webhook_body_with_the_call_data_the_source_had() {
    let files = ["dialgen.json", "vapi.json"];
    let (dir, _fake) = run_over(&files, &["-o", "r.dialgen.json", "--metadata", "all"]);
    let docs: Value = serde_json::from_str(&std::fs::read_to_string(dir.join("r.dialgen.json")).unwrap()).unwrap();
    let docs = docs.as_array().expect("a .json destination gets an array");
    assert_eq!(docs.len(), 2);
    let dialgen = docs.iter().find(|d| d["callData"]["id"] == "call_8c1e2f").unwrap();
    assert_eq!(dialgen["success"], true);
    let data = &dialgen["callData"];
    assert_eq!(data["contactId"], "contact_5521");
    assert_eq!(data["agentId"], "agent_northwind");
    assert_eq!(data["status"], "COMPLETED");
    assert_eq!(data["startTime"], "2024-06-10T15:02:11Z");
    assert_eq!(data["endTime"], "2024-06-10T15:02:55.2Z");
    assert_eq!(data["duration"], 44.0);
    assert_eq!(data["phoneNumber"], "+14155550142");
    assert_eq!(data["contactName"], "Maria Lopez");
    assert_eq!(
        data["recordingUrl"],
        "https://example.invalid/recordings/call_8c1e2f.mp3"
    );
    assert!(data["summary"].is_string());
    let schema = dialgen["metricSchema"].as_object().unwrap();
    let types: Vec<&str> = schema.values().map(|s| s["type"].as_str().unwrap()).collect();
    assert_eq!(
        types,
        [
            "string", "number", "number", "boolean", "string", "string", "array", "array", "boolean"
        ]
    );
    for (id, custom) in data["customMetrics"].as_object().unwrap() {
        assert_eq!(custom["schema"]["type"], schema[id]["type"], "{id}");
        assert_eq!(custom["schema"]["name"], id.as_str());
        assert!(custom["schema"]["description"].is_string(), "{id}");
        assert!(custom["schema"]["isRequired"].is_boolean(), "{id}");
        assert_eq!(custom["value"], data["metricJson"][id], "{id}");
    }
    assert_eq!(data["customMetrics"]["call_outcome"]["schema"]["isRequired"], true);

    // A Vapi call has no contact id or status: absent, never made up.
    let vapi = docs
        .iter()
        .find(|d| d["postcall"]["call"]["platform"] == "Vapi")
        .unwrap();
    assert!(vapi["callData"].get("contactId").is_none());
    assert!(vapi["callData"].get("status").is_none());
    assert_eq!(vapi["callData"]["phoneNumber"], "+14155550142");
}

#[test]
fn platform_documents_without_metadata_all_leave_out_numbers_names_and_urls() {
    let (dir, _fake) = run_over(&["dialgen.json"], &["-o", "r.dialgen.jsonl"]);
    let doc = &lines(&dir.join("r.dialgen.jsonl"))[0];
    for key in ["phoneNumber", "contactName", "recordingUrl"] {
        assert!(doc["callData"].get(key).is_none(), "{key} with --metadata basic");
    }
    assert_eq!(doc["callData"]["contactId"], "contact_5521");
}
