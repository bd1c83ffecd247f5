//! Object storage: transcripts read from and reports, merges and caches written to an
//! S3-compatible server (moto, started per test on 127.0.0.1 by `postcall-testkit`), set up
//! the way a user's shell sets up postcall (`AWS_ENDPOINT_URL`, `AWS_ALLOW_HTTP`, keys).

use std::path::Path;
use std::process::Stdio;

use postcall::report::Report;
use postcall_testkit::fake_llm::{FakeConfig, FakeServer};
use postcall_testkit::s3::{S3Server, SECRET_ACCESS_KEY};

use crate::common::{MODEL, TestDir, files_under, interrupt, output_within, slow_fake, wait_for_requests, wait_until};
use crate::run::{SPEC, dir_with_calls, read_json_report};

/// A moto server with an `archive` bucket holding `dir`'s `calls/` under `calls/`, and an
/// empty `reports` bucket.
fn archive(dir: &TestDir) -> S3Server {
    let s3 = S3Server::start().unwrap_or_else(|e| panic!("{e:#}"));
    s3.create_bucket("archive").unwrap();
    s3.create_bucket("reports").unwrap();
    upload_tree(&s3, &dir.join("calls"), "calls");
    s3
}

fn upload_tree(s3: &S3Server, local: &Path, prefix: &str) {
    for entry in std::fs::read_dir(local).unwrap().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let key = format!("{prefix}/{name}");
        if entry.file_type().unwrap().is_dir() {
            upload_tree(s3, &entry.path(), &key);
        } else {
            s3.put_object("archive", &key, &std::fs::read(entry.path()).unwrap())
                .unwrap();
        }
    }
}

/// `postcall ARGS…` with the server's environment.
fn postcall(dir: &TestDir, s3: &S3Server, args: &[&str]) -> std::process::Command {
    let mut cmd = dir.postcall_process();
    cmd.envs(s3.env());
    cmd.args(args);
    cmd
}

/// `postcall run -m metrics.yaml INPUT … ARGS` against `fake`, with the server's environment.
fn run(dir: &TestDir, s3: &S3Server, fake: &FakeServer, input: &str, args: &[&str]) -> std::process::Command {
    let mut cmd = postcall(dir, s3, &["run", "-m", "metrics.yaml", input]);
    cmd.args(["--base-url", &fake.base_url(), "--model", MODEL, "--quiet"]);
    cmd.args(args);
    cmd
}

/// `calls` calls on disk and in the `archive` bucket (see [`archive`]), and a fake endpoint.
fn archived(calls: usize) -> (TestDir, S3Server, FakeServer) {
    let dir = dir_with_calls(SPEC, calls);
    let s3 = archive(&dir);
    let fake = FakeServer::start(FakeConfig::default()).unwrap();
    (dir, s3, fake)
}

fn succeeds(mut cmd: std::process::Command) -> String {
    let out = cmd.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{cmd:?} failed: {stderr}");
    stderr
}

fn fails(mut cmd: std::process::Command) -> String {
    let out = cmd.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "{cmd:?}: {stderr}");
    stderr
}

fn object_report(s3: &S3Server, key: &str) -> Report {
    let bytes = s3
        .get_object("reports", key)
        .unwrap()
        .unwrap_or_else(|| panic!("no object {key}"));
    serde_json::from_slice(&bytes).unwrap()
}

/// The local report with each call's source as the object it was read from.
fn as_read_from_the_bucket(mut local: Report) -> Report {
    for call in &mut local.calls {
        call.source = format!("s3://archive/{}", call.source);
    }
    local
}

pub(crate) fn assert_same_values(remote: &Report, local: &Report) {
    assert_eq!(remote.metrics, local.metrics);
    assert_eq!(remote.calls, local.calls, "calls differ, values or sources");
    let (r, l) = (remote.header.as_ref().unwrap(), local.header.as_ref().unwrap());
    assert_eq!(
        (r.calls, r.failed_calls, r.invalid_values),
        (l.calls, l.failed_calls, l.invalid_values)
    );
    assert_eq!(
        r.archive, l.archive,
        "the same calls have the same fingerprint wherever they are"
    );
}

#[test]
fn transcripts_from_s3_and_reports_to_s3_equal_the_local_run_value_for_value() {
    let dir = dir_with_calls(SPEC, 24);
    dir.write("calls/notes.md", "not a transcript");
    let s3 = archive(&dir);
    s3.put_object("archive", "calls/notes.md", b"not a transcript").unwrap();
    let fake = FakeServer::start(FakeConfig::default()).unwrap();

    succeeds(run(
        &dir,
        &s3,
        &fake,
        "calls",
        &["--no-cache", "-o", "local.json", "-o", "local.csv"],
    ));
    succeeds(run(
        &dir,
        &s3,
        &fake,
        "s3://archive/calls",
        &[
            "--no-cache",
            "-o",
            "s3://reports/day/r.json",
            "-o",
            "s3://reports/day/r.csv",
        ],
    ));

    let local_report = as_read_from_the_bucket(read_json_report(&dir.join("local.json")));
    assert_same_values(&object_report(&s3, "day/r.json"), &local_report);
    let csv = String::from_utf8(s3.get_object("reports", "day/r.csv").unwrap().unwrap()).unwrap();
    let local_csv = std::fs::read_to_string(dir.join("local.csv")).unwrap();
    assert_eq!(csv, local_csv.replace(",calls/", ",s3://archive/calls/"));
    assert_eq!(s3.keys("reports", "").unwrap(), ["day/r.csv", "day/r.json"]);
    assert_eq!(s3.open_uploads("reports").unwrap(), 0);
}

#[test]
fn one_object_and_a_jsonl_bundle_are_read_like_files() {
    let (dir, s3, fake) = archived(6);
    // The same six calls again, as one JSONL object: each line is re-read by range.
    let mut bundle = String::new();
    for entry in files_under(&dir.join("calls")) {
        let value: serde_json::Value = serde_json::from_slice(&std::fs::read(entry).unwrap()).unwrap();
        bundle.push_str(&serde_json::to_string(&value).unwrap());
        bundle.push('\n');
    }
    s3.put_object("archive", "bundles/day.jsonl", bundle.as_bytes())
        .unwrap();
    succeeds(run(
        &dir,
        &s3,
        &fake,
        "s3://archive/bundles/day.jsonl",
        &["--no-cache", "-o", "bundle.json"],
    ));
    let report = read_json_report(&dir.join("bundle.json"));
    assert_eq!(report.calls.len(), 6);
    assert!(report.calls.iter().all(|c| c.errors.is_empty()), "{:?}", report.calls);
    assert_eq!(report.calls[2].source, "s3://archive/bundles/day.jsonl:3");
}

#[test]
fn a_listed_object_over_the_size_limit_is_named_other_kinds_are_counted_and_the_rest_are_read() {
    let (dir, s3, _fake) = archived(3);
    let big = format!(r#"{{"transcript": "{}"}}"#, "x".repeat(8_000));
    s3.put_object("archive", "calls/0-big.json", big.as_bytes()).unwrap();
    s3.put_object("archive", "calls/zz/recording.wav", b"RIFF").unwrap();
    let out = postcall(&dir, &s3, &["inspect", "s3://archive/calls", "--max-file-size", "6KB"])
        .output()
        .unwrap();
    let said = printed(&out);
    assert!(
        said.contains("s3://archive/calls/0-big.json: 7.8 KiB is over --max-file-size 5.9 KiB: raise --max-file-size, or split the object"),
        "{said}"
    );
    assert!(said.contains("skipped 1 file(s) of other kinds"), "{said}");
    assert!(said.contains("total: 3 call(s)"), "{said}");
}

#[test]
fn an_archive_of_one_call_a_directory_is_read_whole_and_in_order() {
    // `calls/<day>/<id>/transcript.json`: past the first directories, the walk lists the
    // rest of a day flat, after the last call read (S3's `start-after`), not a request a
    // call; what it reads is every call once, in key order, as a local walk reads them.
    let dir = dir_with_calls(SPEC, 0);
    std::fs::create_dir_all(dir.join("calls")).unwrap();
    let s3 = archive(&dir);
    let mut ids = Vec::new();
    for i in 0..60 {
        let id = format!("day{}-{i:03}", i / 30);
        let call = format!(r#"{{"call_id": "{id}", "transcript": [{{"role": "agent", "content": "Hello."}}]}}"#);
        let key = format!("calls/day{}/{i:03}/transcript.json", i / 30);
        s3.put_object("archive", &key, call.as_bytes()).unwrap();
        ids.push(id);
    }
    let (found, said) = inspected_ids(postcall(&dir, &s3, &["inspect", "s3://archive/calls", "--json"]));
    assert_eq!(found, ids, "{said}");
}

/// The call ids `inspect --json` run by `cmd` found, in order, and all it printed.
fn inspected_ids(mut cmd: std::process::Command) -> (Vec<String>, String) {
    let out = cmd.output().unwrap();
    let said = printed(&out);
    assert!(out.status.success(), "{said}");
    let inspected: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {said}"));
    let found = inspected["calls"]
        .as_array()
        .unwrap_or_else(|| panic!("{said}"))
        .iter()
        .map(|c| c["call_id"].as_str().unwrap().to_string())
        .collect();
    (found, said)
}

#[test]
fn a_store_that_ignores_where_a_listing_starts_does_not_have_calls_read_twice() {
    // 20 directories of one call each: after the first 16 the walk lists the rest flat,
    // after the last call read. This store ignores `start-after` and answers the whole
    // prefix again; the calls it names a second time are not read again.
    let store = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let store_url = format!("http://{}", store.local_addr().unwrap());
    let call =
        |i: usize| format!(r#"{{"call_id": "c{i:02}", "transcript": [{{"role": "agent", "content": "Hello."}}]}}"#);
    serve_raw(store, move |request| {
        let line = request.lines().next().unwrap_or_default();
        let object = |i: usize| {
            format!(
                "<Contents><Key>calls/d{i:02}/t.json</Key><LastModified>2026-12-01T00:00:00.000Z</LastModified>\
                 <ETag>\"e\"</ETag><Size>{}</Size></Contents>",
                call(i).len()
            )
        };
        let listing = |entries: String| {
            format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?><ListBucketResult><Name>archive</Name>\
                 <IsTruncated>false</IsTruncated>{entries}</ListBucketResult>"
            )
        };
        let body = if let Some(i) = (0..20).find(|i| line.contains(&format!("/calls/d{i:02}/t.json"))) {
            return format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\netag: \"e\"\r\n\
                 last-modified: Tue, 01 Dec 2026 00:00:00 GMT\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{}",
                call(i).len(),
                call(i)
            );
        } else if let Some(i) = (0..20).find(|i| line.contains(&format!("prefix=calls%2Fd{i:02}%2F"))) {
            listing(object(i))
        } else if line.contains("delimiter=") {
            listing(
                (0..20)
                    .map(|i| format!("<CommonPrefixes><Prefix>calls/d{i:02}/</Prefix></CommonPrefixes>"))
                    .collect(),
            )
        } else {
            // The flat listing of the rest: every object, wherever it was asked to start.
            listing((0..20).map(object).collect())
        };
        format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/xml\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        )
    });
    let dir = dir_with_calls(SPEC, 0);
    let mut inspect = postcall_on_store(&dir, &store_url);
    inspect.args(["inspect", "s3://archive/calls", "--json"]);
    let (found, said) = inspected_ids(inspect);
    let expected: Vec<String> = (0..20).map(|i| format!("c{i:02}")).collect();
    assert_eq!(found, expected, "{said}");
    assert!(!said.contains("duplicate call id"), "{said}");
}

#[test]
fn ctrl_c_leaves_no_partial_object_and_the_existing_report_untouched() {
    let dir = dir_with_calls(SPEC, 40);
    let s3 = archive(&dir);
    s3.put_object("reports", "r.json", b"yesterday's report").unwrap();
    let fake = slow_fake(20);
    let args = [
        "-o",
        "s3://reports/r.json",
        "--concurrency",
        "4",
        "--strategy",
        "per_metric",
    ];
    let child = run(&dir, &s3, &fake, "s3://archive/calls", &args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for_requests(&fake, 60);
    let output = interrupt(child);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("not uploaded to s3://reports/r.json"), "{stderr}");
    assert_eq!(
        s3.get_object("reports", "r.json").unwrap().unwrap(),
        b"yesterday's report"
    );
    assert_eq!(s3.keys("reports", "").unwrap(), ["r.json"], "no partial object");
    assert_eq!(s3.open_uploads("reports").unwrap(), 0);
}

#[test]
fn a_run_the_endpoint_refuses_uploads_nothing() {
    let dir = dir_with_calls(SPEC, 5);
    let s3 = archive(&dir);
    s3.put_object("reports", "r.csv", b"kept").unwrap();
    let fake = FakeServer::start(FakeConfig {
        refuse: Some(postcall_testkit::fake_llm::Refuse::Auth),
        ..Default::default()
    })
    .unwrap();
    let stderr = fails(run(
        &dir,
        &s3,
        &fake,
        "s3://archive/calls",
        &["-o", "s3://reports/r.csv", "-o", "s3://reports/new.json"],
    ));
    assert!(
        stderr.contains("not uploaded to s3://reports/r.csv, s3://reports/new.json"),
        "{stderr}"
    );
    assert_eq!(s3.get_object("reports", "r.csv").unwrap().unwrap(), b"kept");
    assert_eq!(s3.keys("reports", "").unwrap(), ["r.csv"]);
}

#[test]
fn missing_buckets_wrong_credentials_and_unknown_schemes_say_what_to_do() {
    let (dir, s3, fake) = archived(2);
    // Refused with exit 1 before any request, saying each of `says`; returns the stderr.
    let refused = |input: &str, args: &[&str], says: &[&str]| {
        let stderr = fails(run(&dir, &s3, &fake, input, args));
        for line in says {
            assert!(stderr.contains(line), "{input} {args:?}: no {line:?} in {stderr}");
        }
        assert_eq!(fake.requests(), 0, "{input} {args:?}: a request was sent");
        stderr
    };
    let cases: [(&str, &[&str], &[&str]); 4] = [
        (
            "s3://no-such-bucket/calls",
            &["-o", "r.json"],
            &[
                "s3://no-such-bucket/calls: the bucket `no-such-bucket` does not exist",
                "AWS_ENDPOINT_URL",
            ],
        ),
        (
            "calls",
            &["-o", "s3://no-such-bucket/r.json"],
            &["cannot write the report to s3://no-such-bucket/r.json: the bucket `no-such-bucket` does not exist"],
        ),
        (
            "s4://archive/calls",
            &["-o", "r.json"],
            &["s4://archive/calls: unknown scheme `s4://`", "s3://, gs://, az://"],
        ),
        (
            "calls",
            &["-o", "s3://reports/r.json", "--cache-dir", "s3://no-such-bucket/cache"],
            &["cannot use the cache in s3://no-such-bucket/cache"],
        ),
    ];
    for (input, args, says) in cases {
        refused(input, args, says);
    }

    s3.enforce_auth().unwrap();
    let stderr = refused(
        "s3://archive/calls",
        &["-o", "r.json"],
        &["s3://archive/calls: access denied", "AWS_ACCESS_KEY_ID"],
    );
    assert!(!stderr.contains(SECRET_ACCESS_KEY), "the secret never shows: {stderr}");
}

#[test]
fn a_cache_in_a_bucket_answers_the_re_run_without_a_request() {
    let (dir, s3, fake) = archived(8);
    s3.create_bucket("cache").unwrap();
    succeeds(run(
        &dir,
        &s3,
        &fake,
        "s3://archive/calls",
        &["--cache-dir", "s3://cache/postcall", "-o", "first.json"],
    ));
    let asked = fake.requests();
    assert_eq!(asked, 8);
    let entries = s3.keys("cache", "postcall/").unwrap();
    assert_eq!(entries.len(), 8, "{entries:?}");
    assert!(!dir.join(".postcall/cache").exists(), "nothing cached locally");

    succeeds(run(
        &dir,
        &s3,
        &fake,
        "s3://archive/calls",
        &["--cache-dir", "s3://cache/postcall", "-o", "again.json"],
    ));
    assert_eq!(fake.requests(), asked, "the re-run made 0 requests");
    let (a, b) = (
        read_json_report(&dir.join("first.json")),
        read_json_report(&dir.join("again.json")),
    );
    let answers = |r: &Report| {
        r.calls
            .iter()
            .map(|c| (c.call_id.clone(), c.summary.clone(), c.metrics.clone()))
            .collect::<Vec<_>>()
    };
    assert_eq!(answers(&a), answers(&b));
    assert!(b.calls.iter().all(|c| c.usage.cached == 1 && c.usage.requests == 0));
}

#[test]
fn merge_and_convert_read_their_parts_from_s3() {
    let (dir, s3, fake) = archived(20);
    succeeds(run(
        &dir,
        &s3,
        &fake,
        "s3://archive/calls",
        &["--no-cache", "-o", "single.json"],
    ));
    for shard in ["0/2", "1/2"] {
        let part = format!("s3://reports/parts/{}.jsonl", &shard[..1]);
        succeeds(run(
            &dir,
            &s3,
            &fake,
            "s3://archive/calls",
            &["--no-cache", "--shard", shard, "-o", &part],
        ));
    }
    let parts = ["s3://reports/parts/0.jsonl", "s3://reports/parts/1.jsonl"];
    succeeds(postcall(
        &dir,
        &s3,
        &["merge", parts[0], parts[1], "-o", "s3://reports/all.json"],
    ));
    succeeds(postcall(
        &dir,
        &s3,
        &["convert", "s3://reports/all.json", "-o", "all.json"],
    ));
    let merged = read_json_report(&dir.join("all.json"));
    let single = read_json_report(&dir.join("single.json"));
    assert_eq!(merged.calls, single.calls);
    assert_eq!(object_report(&s3, "all.json").calls, single.calls);

    let stderr = fails(postcall(
        &dir,
        &s3,
        &["convert", "s3://reports/absent.json", "-o", "x.csv"],
    ));
    assert!(
        stderr.contains("cannot read the report s3://reports/absent.json: no such object"),
        "{stderr}"
    );
}

/// Each call's object as the bucket holds it: its key under `archive` and its size.
fn object_sizes(dir: &TestDir) -> Vec<(String, u64)> {
    files_under(&dir.join("calls"))
        .into_iter()
        .map(|path| {
            let key = path.strip_prefix(dir.path()).unwrap().to_string_lossy().into_owned();
            (key, std::fs::metadata(&path).unwrap().len())
        })
        .collect()
}

#[test]
fn a_dry_run_reads_each_object_once_and_finds_what_a_run_cached() {
    // A dry run with a cache builds each call's requests to look them up: from the call the
    // scan read, not from a second GET.
    let (dir, s3, fake) = archived(30);
    succeeds(run(&dir, &s3, &fake, "s3://archive/calls", &["-o", "first.json"]));
    s3.record_requests().unwrap();
    let out = run(&dir, &s3, &fake, "s3://archive/calls", &["--dry-run"])
        .output()
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(out.status.success(), "{stderr}");
    assert!(stdout.contains("  calls           30 ("), "{stdout}");
    assert!(
        stdout.contains("  requests        0 to send, 30 answered from the cache"),
        "every answer the run paid for is found: {stdout}"
    );
    let reads = s3.object_reads("archive").unwrap();
    assert_eq!(reads.len(), 30, "{reads:?}");
    assert!(reads.values().all(|&n| n == 1), "one GET per object: {reads:?}");
}

#[test]
fn ctrl_c_stops_a_dry_run_half_way_without_an_estimate() {
    // moto serves some 260 objects a second: 300 take over a second to read, time enough
    // to interrupt the count half-way.
    let (dir, s3, fake) = archived(300);
    s3.record_requests().unwrap();
    let child = run(&dir, &s3, &fake, "s3://archive/calls", &["--dry-run"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let read = || s3.object_reads("archive").unwrap().len();
    wait_until(|| read() >= 20);
    let output = interrupt(child);
    let (stdout, stderr) = (
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
    );
    assert_eq!(output.status.code(), Some(130), "{stderr}");
    assert!(
        stderr.contains("calls: no estimate printed, nothing was sent"),
        "{stderr}"
    );
    assert!(
        !stdout.contains("dry run:"),
        "an estimate of part of the archive: {stdout}"
    );
    assert!(read() < 300, "the scan went on to the end after Ctrl-C");
    assert_eq!(fake.requests(), 0);
}

/// A run over `s3://archive/calls` writing `output` (local), and how many times it read
/// each object of the bucket.
fn counted_run(
    dir: &TestDir,
    s3: &S3Server,
    fake: &FakeServer,
    args: &[&str],
    output: &str,
) -> std::collections::BTreeMap<String, usize> {
    let before = s3.object_reads("archive").unwrap();
    succeeds(run(
        dir,
        s3,
        fake,
        "s3://archive/calls",
        &[&["--no-cache", "-o", output], args].concat(),
    ));
    let mut reads = s3.object_reads("archive").unwrap();
    for (key, n) in before {
        *reads.get_mut(&key).unwrap() -= n;
    }
    reads
}

#[test]
fn each_object_is_fetched_once_and_the_report_equals_the_local_run() {
    // More calls than the run reads ahead of its workers (64), so the scan waits for them
    // and goes on; then a sharded run, which reads every object to find its own calls.
    let (dir, s3, fake) = archived(100);
    succeeds(run(&dir, &s3, &fake, "calls", &["--no-cache", "-o", "local.json"]));
    s3.record_requests().unwrap();

    let reads = counted_run(&dir, &s3, &fake, &[], "remote.json");
    let keys: Vec<String> = object_sizes(&dir).into_iter().map(|(key, _)| key).collect();
    assert_eq!(reads.keys().cloned().collect::<Vec<_>>(), keys);
    assert!(reads.values().all(|&n| n == 1), "one GET per object: {reads:?}");
    let local_report = as_read_from_the_bucket(read_json_report(&dir.join("local.json")));
    assert_same_values(&read_json_report(&dir.join("remote.json")), &local_report);

    let reads = counted_run(&dir, &s3, &fake, &["--shard", "1/3"], "shard.json");
    assert!(
        reads.len() == keys.len() && reads.values().all(|&n| n == 1),
        "{reads:?}"
    );
}

/// Serves each connection on `listener` one request: `answer` gets the request (head and
/// body) and returns the whole response.
fn serve_raw(listener: std::net::TcpListener, answer: impl Fn(&str) -> String + Send + 'static) {
    use std::io::{Read, Write};
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            let mut request = Vec::new();
            let mut buf = [0u8; 8192];
            let head_end = loop {
                let Ok(n) = stream.read(&mut buf) else { break None };
                if n == 0 {
                    break None;
                }
                request.extend_from_slice(&buf[..n]);
                if let Some(at) = request.windows(4).position(|w| w == b"\r\n\r\n") {
                    break Some(at + 4);
                }
            };
            let Some(head_end) = head_end else { continue };
            let head = String::from_utf8_lossy(&request[..head_end]).to_lowercase();
            let length: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0);
            while request.len() < head_end + length {
                match stream.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => request.extend_from_slice(&buf[..n]),
                }
            }
            let response = answer(&String::from_utf8_lossy(&request));
            let _ = stream.write_all(response.as_bytes());
        }
    });
}

/// A server on 127.0.0.1 that answers every request with `status` (`200 OK`) and no body;
/// its address, and the requests it was sent.
fn recording_server(status: &'static str) -> (String, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap().to_string();
    let asked = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let log = std::sync::Arc::clone(&asked);
    serve_raw(listener, move |request| {
        log.lock().unwrap().push(request.to_string());
        format!("HTTP/1.1 {status}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
    });
    (address, asked)
}

/// What a command printed, stdout then stderr.
fn printed(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// What `postcall inspect URL` printed, with `envs` and a HOME of the test's own (no
/// profile, no application-default credentials), checked to have failed.
fn inspect_failing(dir: &TestDir, url: &str, envs: &[(&str, &str)]) -> String {
    let out = dir
        .postcall_process()
        .env("HOME", dir.path())
        .envs(envs.iter().copied())
        .args(["inspect", url])
        .output()
        .unwrap();
    let said = printed(&out);
    assert!(!out.status.success(), "{url}: {said}");
    said
}

#[test]
fn a_bucket_with_no_credentials_anywhere_says_where_postcall_looked_and_asks_the_store_nothing() {
    // Off a cloud machine with nothing set, each provider's chain ends at an instance
    // metadata service that is not there (the test's refuses, as a sandbox's network
    // does). Before, the error named only that request (`PUT
    // http://169.254.169.254/latest/api/token … 403`), which says nothing of what to set.
    let (metadata, metadata_asked) = recording_server("403 Forbidden");
    let (store, store_asked) = recording_server("403 Forbidden");
    let dir = dir_with_calls(SPEC, 1);
    let store_url = format!("http://{store}");
    let metadata_url = format!("http://{metadata}");
    for (url, envs, named) in [
        (
            "s3://archive/calls",
            vec![
                ("AWS_ENDPOINT_URL", store_url.as_str()),
                ("AWS_ALLOW_HTTP", "true"),
                ("AWS_REGION", "us-east-1"),
                ("AWS_METADATA_ENDPOINT", metadata_url.as_str()),
            ],
            "AWS_ACCESS_KEY_ID",
        ),
        (
            "gs://archive/calls",
            vec![
                ("GCE_METADATA_HOST", metadata.as_str()),
                ("GCE_METADATA_IP", metadata.as_str()),
            ],
            "GOOGLE_APPLICATION_CREDENTIALS",
        ),
    ] {
        let said = inspect_failing(&dir, url, &envs);
        assert!(
            said.contains(&format!("{url}: found no credentials to list with")),
            "{url}: names the input and what is missing: {said}"
        );
        assert!(said.contains(named), "{url}: says what to set: {said}");
    }
    let asked: Vec<String> = metadata_asked
        .lock()
        .unwrap()
        .iter()
        .map(|request| request.split_whitespace().nth(1).unwrap_or("").to_string())
        .collect();
    assert!(asked.iter().any(|path| path == "/latest/api/token"), "{asked:?}");
    assert!(
        asked.iter().any(|path| path.starts_with("/computeMetadata/")),
        "{asked:?}"
    );
    assert!(
        store_asked.lock().unwrap().is_empty(),
        "nothing unsigned goes to the store"
    );
}

#[test]
fn an_azure_url_without_an_account_says_how_to_name_one() {
    let dir = dir_with_calls(SPEC, 1);
    let said = inspect_failing(&dir, "az://archive/calls", &[]);
    assert!(said.contains("az://archive/calls: cannot set up the client"), "{said}");
    assert!(said.contains("AZURE_STORAGE_ACCOUNT_NAME"), "{said}");
}

#[test]
fn a_store_that_redirects_elsewhere_is_not_followed_with_the_session_token_or_the_report() {
    // What a hostile or misconfigured store (or anything between) can answer: every request
    // is sent on to another host. object_store's client would follow, with the session
    // token of temporary credentials and, on a PUT, the report.
    let (elsewhere, reached) = recording_server("200 OK");
    let elsewhere_url = format!("http://{elsewhere}");
    let elsewhere_shown = elsewhere_url.clone();
    let store = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let store_url = format!("http://{}", store.local_addr().unwrap());
    serve_raw(store, move |request| {
        let path = request.split_whitespace().nth(1).unwrap_or("/");
        format!(
            "HTTP/1.1 307 Temporary Redirect\r\nlocation: {elsewhere_url}{path}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
        )
    });
    let dir = dir_with_calls(SPEC, 3);
    let fake = FakeServer::start(FakeConfig::default()).unwrap();
    let postcall = |args: &[&str]| {
        postcall_on_store(&dir, &store_url)
            .env("AWS_SESSION_TOKEN", "session-token-not-for-elsewhere")
            .args(args)
            .output()
            .unwrap()
    };
    let base_url = fake.base_url();
    let run = [
        "run",
        "-m",
        "metrics.yaml",
        "calls",
        "--base-url",
        &base_url,
        "--model",
        MODEL,
    ];
    let out = postcall(&[&run[..], &["--quiet", "--no-cache", "-o", "s3://reports/r.json"]].concat());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("redirect, which postcall does not follow"), "{stderr}");
    assert!(
        stderr.contains(&format!("the store answered 307 pointing at {elsewhere_shown}")),
        "{stderr}"
    );
    assert_eq!(fake.requests(), 0, "the output is checked before the first request");

    let out = postcall(&["inspect", "s3://archive/calls"]);
    let said = printed(&out);
    assert!(said.contains("redirect, which postcall does not follow"), "{said}");
    assert!(
        !said.contains("not-for-elsewhere") && !said.contains("not-shown"),
        "{said}"
    );
    assert_eq!(
        reached.lock().unwrap().as_slice(),
        &[] as &[String],
        "nothing reached the other host"
    );
}

/// Which store's listing a hostile server speaks.
#[derive(Clone, Copy)]
enum Api {
    /// S3's ListObjectsV2 (GCS's XML API answers the same).
    S3,
    /// Azure's List Blobs.
    Azure,
}

/// A store on 127.0.0.1 whose every listing page holds one object and names a next page,
/// the token `next` gives for the request; with how many requests it was sent.
fn endless_listing(
    api: Api,
    next: impl Fn(&str) -> String + Send + 'static,
) -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    let asked = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let count = std::sync::Arc::clone(&asked);
    let store = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let store_url = format!("http://{}", store.local_addr().unwrap());
    serve_raw(store, move |request| {
        count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let next = next(request);
        let body = match api {
            Api::S3 => format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?><ListBucketResult><Name>archive</Name>\
                 <Prefix>calls/</Prefix><KeyCount>1</KeyCount><MaxKeys>1000</MaxKeys><IsTruncated>true</IsTruncated>\
                 <Contents><Key>calls/a.json</Key><LastModified>2026-12-01T00:00:00.000Z</LastModified>\
                 <ETag>\"e\"</ETag><Size>10</Size></Contents>\
                 <NextContinuationToken>{next}</NextContinuationToken></ListBucketResult>"
            ),
            Api::Azure => format!(
                "<?xml version=\"1.0\" encoding=\"utf-8\"?><EnumerationResults ContainerName=\"archive\">\
                 <Prefix>calls/</Prefix><Delimiter>/</Delimiter><Blobs><Blob><Name>calls/a.json</Name><Properties>\
                 <Last-Modified>Tue, 01 Dec 2026 00:00:00 GMT</Last-Modified><Etag>0x1</Etag>\
                 <Content-Length>10</Content-Length><Content-Type>application/json</Content-Type>\
                 <BlobType>BlockBlob</BlobType></Properties></Blob></Blobs>\
                 <NextMarker>{next}</NextMarker></EnumerationResults>"
            ),
        };
        format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/xml\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        )
    });
    (store_url, asked)
}

/// The next page a listing that goes round names, its token in the query parameter
/// `token`: B after the first page, then A, then B again.
fn goes_round(token: &'static str) -> impl Fn(&str) -> String + Send + 'static {
    move |request| {
        let after_b = request.contains(&format!("{token}=B"));
        if after_b { "A" } else { "B" }.to_string()
    }
}

/// postcall in `dir`, with keys for the (hostile) store at `store_url`: the secret key is
/// `not-shown`, which nothing postcall prints may contain.
fn postcall_on_store(dir: &TestDir, store_url: &str) -> std::process::Command {
    let mut cmd = dir.postcall_process();
    cmd.envs([
        ("AWS_ENDPOINT_URL", store_url),
        ("AWS_ALLOW_HTTP", "true"),
        ("AWS_ACCESS_KEY_ID", "AKIAPOSTCALLHOSTILE"),
        ("AWS_SECRET_ACCESS_KEY", "not-shown"),
        ("AWS_REGION", "us-east-1"),
    ]);
    cmd
}

/// `postcall run` over `s3://archive/calls` against the fake endpoint at `base_url`,
/// then `more`.
fn run_archive<'a>(base_url: &'a str, more: &[&'a str]) -> Vec<&'a str> {
    let run = [
        "run",
        "-m",
        "metrics.yaml",
        "s3://archive/calls",
        "--base-url",
        base_url,
        "--model",
        MODEL,
    ];
    [&run[..], more].concat()
}

#[test]
fn a_store_whose_listing_goes_round_stops_the_run_instead_of_listing_forever() {
    // A broken or hostile store: every page says there is another, and names pages it gave
    // already (B, then A, then B again). object_store follows the tokens for as long as they
    // come, collecting the same keys each time.
    let (store_url, asked) = endless_listing(Api::S3, goes_round("continuation-token"));
    let dir = dir_with_calls(SPEC, 1);
    let fake = FakeServer::start(FakeConfig::default()).unwrap();
    let base_url = fake.base_url();
    for args in [
        &["inspect", "s3://archive/calls"][..],
        &run_archive(&base_url, &["--quiet", "--no-cache", "-o", "r.json"]),
    ] {
        asked.store(0, std::sync::atomic::Ordering::SeqCst);
        let said = stops_listing(postcall_on_store(&dir, &store_url).args(args), &asked);
        assert!(!said.contains("not-shown"), "{said}");
    }
    assert_eq!(
        fake.requests(),
        0,
        "no call was evaluated from a listing that never ended"
    );
    assert!(!dir.join("r.json").exists());
}

#[test]
fn an_azure_container_whose_listing_goes_round_is_stopped_the_same_way() {
    // Azure names the next page by `marker`, not S3's `continuation-token`.
    let (store_url, asked) = endless_listing(Api::Azure, goes_round("marker"));
    let dir = dir_with_calls(SPEC, 1);
    stops_listing(
        dir.postcall_process()
            .envs([
                ("AZURE_STORAGE_USE_EMULATOR", "true"),
                ("AZURITE_BLOB_STORAGE_URL", store_url.as_str()),
            ])
            .args(["inspect", "az://archive/calls"]),
        &asked,
    );
}

#[test]
fn a_gcs_bucket_whose_listing_goes_round_is_stopped_the_same_way() {
    // GCS's XML API pages as S3's does (`continuation-token`); the store is named by a
    // service-account file, as a user names a GCS-compatible server.
    let (store_url, asked) = endless_listing(Api::S3, goes_round("continuation-token"));
    let dir = dir_with_calls(SPEC, 1);
    let account = postcall_testkit::gcs::service_account(&store_url);
    std::fs::write(dir.join("account.json"), account.to_string()).unwrap();
    let said = stops_listing(
        dir.postcall_process()
            .env("GOOGLE_SERVICE_ACCOUNT", dir.join("account.json"))
            .args(["inspect", "gs://archive/calls"]),
        &asked,
    );
    let key = postcall_testkit::gcs::PRIVATE_KEY;
    let key_body = key
        .trim_start_matches("-----BEGIN PRIVATE KEY-----")
        .trim_end_matches("-----END PRIVATE KEY-----");
    assert!(!said.contains(key_body), "{said}");
}

/// Runs `cmd` against a store whose listing goes round, and checks that postcall stops it
/// (within a few pages, with an error that says so): what it printed. Without the check
/// the listing never ends, so it is given 30 s and then killed.
fn stops_listing(cmd: &mut std::process::Command, asked: &std::sync::atomic::AtomicUsize) -> String {
    let child = cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let Some(out) = output_within(child, std::time::Duration::from_secs(30)) else {
        panic!("{cmd:?}: still listing after 30 s, killed");
    };
    let said = printed(&out);
    assert_ne!(out.status.code(), Some(0), "{said}");
    assert!(said.contains("listing does not end"), "{said}");
    let requests = asked.load(std::sync::atomic::Ordering::SeqCst);
    assert!(requests <= 6, "{requests} list requests");
    said
}

/// A store of three "directories" under `calls/`, `0000/` and `0002/` holding a call each;
/// `second` answers every request about `calls/0001/` (status and body).
fn three_directory_store(second: impl Fn(&str) -> (&'static str, String) + Send + 'static) -> String {
    let store = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let store_url = format!("http://{}", store.local_addr().unwrap());
    let call =
        |id: &str| format!(r#"{{"call_id": "{id}", "transcript": [{{"role": "agent", "content": "Hello, {id}."}}]}}"#);
    serve_raw(store, move |request| {
        let line = request.lines().next().unwrap_or_default();
        let listing = |contents: &str, prefixes: &str| {
            format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?><ListBucketResult><Name>archive</Name>\
                 <IsTruncated>false</IsTruncated>{contents}{prefixes}</ListBucketResult>"
            )
        };
        let object = |key: &str, size: usize| {
            format!(
                "<Contents><Key>{key}</Key><LastModified>2026-12-01T00:00:00.000Z</LastModified>\
                 <ETag>\"e\"</ETag><Size>{size}</Size></Contents>"
            )
        };
        let (status, body) = if line.contains("prefix=calls%2F0000%2F") {
            (
                "200 OK",
                listing(&object("calls/0000/first.json", call("first").len()), ""),
            )
        } else if line.contains("prefix=calls%2F0001%2F") {
            second(line)
        } else if line.contains("prefix=calls%2F0002%2F") {
            (
                "200 OK",
                listing(&object("calls/0002/third.json", call("third").len()), ""),
            )
        } else if line.contains("prefix=calls%2F") {
            let dirs: String = ["0000", "0001", "0002"]
                .iter()
                .map(|d| format!("<CommonPrefixes><Prefix>calls/{d}/</Prefix></CommonPrefixes>"))
                .collect();
            ("200 OK", listing("", &dirs))
        } else if let Some(id) = ["first", "third"]
            .iter()
            .find(|id| line.contains(&format!("/{id}.json")))
        {
            return format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\netag: \"e\"\r\n\
                 last-modified: Tue, 01 Dec 2026 00:00:00 GMT\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{}",
                call(id).len(),
                call(id)
            );
        } else {
            ("404 Not Found", String::new())
        };
        format!(
            "HTTP/1.1 {status}\r\ncontent-type: application/xml\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        )
    });
    store_url
}

#[test]
fn a_directory_the_store_will_not_list_is_named_and_the_calls_listed_before_it_are_evaluated() {
    // The walk reads each directory's calls as it lists them. A directory the store refuses
    // ends the input there: the calls already read are asked and reported, the error names
    // the directory, and the run does not pass.
    // As a bucket policy denying one prefix answers.
    let store_url = three_directory_store(|_| {
        (
            "403 Forbidden",
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>AccessDenied</Code>\
             <Message>Access Denied</Message></Error>"
                .to_string(),
        )
    });
    let dir = dir_with_calls(SPEC, 0);
    let fake = FakeServer::start(FakeConfig::default()).unwrap();
    let base_url = fake.base_url();
    let out = postcall_on_store(&dir, &store_url)
        .args(run_archive(&base_url, &["--no-cache", "-o", "r.json"]))
        .output()
        .unwrap();
    let said = printed(&out);
    assert_ne!(out.status.code(), Some(0), "{said}");
    assert!(
        said.contains("s3://archive/calls/0001"),
        "the directory is named: {said}"
    );
    assert!(
        said.contains("access denied") && said.contains("may not list"),
        "{said}"
    );
    assert!(!said.contains("not-shown"), "{said}");
    let report = read_json_report(&dir.join("r.json"));
    let ids: Vec<&str> = report.calls.iter().map(|c| c.call_id.as_str()).collect();
    assert_eq!(
        ids,
        ["first"],
        "the call listed before the refused directory, and none after"
    );
    assert!(fake.requests() > 0);
}

#[test]
fn a_limit_is_reached_without_waiting_for_the_rest_of_the_bucket_to_be_listed() {
    // `--limit 1` over a bucket whose second directory lists for ever (a million objects,
    // or a store that never ends): the first directory's call is all the run needs.
    let page = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let store_url = three_directory_store(move |_| {
        let n = page.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        std::thread::sleep(std::time::Duration::from_millis(5));
        let body = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><ListBucketResult><Name>archive</Name>\
             <IsTruncated>true</IsTruncated><NextContinuationToken>page-{n}</NextContinuationToken>\
             </ListBucketResult>"
        );
        ("200 OK", body)
    });
    let dir = dir_with_calls(SPEC, 0);
    let fake = FakeServer::start(FakeConfig::default()).unwrap();
    let base_url = fake.base_url();
    let child = postcall_on_store(&dir, &store_url)
        .args(run_archive(
            &base_url,
            &["--quiet", "--no-cache", "--limit", "1", "-o", "r.json"],
        ))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let Some(out) = output_within(child, std::time::Duration::from_secs(30)) else {
        panic!("still listing after 30 s, killed");
    };
    let said = printed(&out);
    assert_eq!(out.status.code(), Some(0), "{said}");
    let report = read_json_report(&dir.join("r.json"));
    let ids: Vec<&str> = report.calls.iter().map(|c| c.call_id.as_str()).collect();
    assert_eq!(ids, ["first"]);
}

#[test]
fn ctrl_c_while_a_bucket_is_listed_stops_at_once_with_nothing_written() {
    // A bucket of millions of objects lists for minutes, a page after another (here: pages
    // without end, each a new token). Nothing is computed yet, so the first Ctrl-C stops.
    let page = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let (store_url, asked) = endless_listing(Api::S3, move |_| {
        let n = page.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        std::thread::sleep(std::time::Duration::from_millis(5));
        format!("page-{n}")
    });
    let dir = dir_with_calls(SPEC, 1);
    std::fs::write(dir.join("r.json"), "the report of an earlier run").unwrap();
    let fake = FakeServer::start(FakeConfig::default()).unwrap();
    let base_url = fake.base_url();
    let child = postcall_on_store(&dir, &store_url)
        .args(run_archive(&base_url, &["-o", "r.json"]))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_until(|| asked.load(std::sync::atomic::Ordering::SeqCst) >= 5);
    let out = interrupt(child);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("nothing was asked, no report was written"), "{stderr}");
    assert!(!stderr.contains("interrupted again"), "one Ctrl-C was enough: {stderr}");
    let after = asked.load(std::sync::atomic::Ordering::SeqCst);
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert_eq!(
        asked.load(std::sync::atomic::Ordering::SeqCst),
        after,
        "no page asked after the exit"
    );
    assert_eq!(fake.requests(), 0);
    assert_eq!(
        std::fs::read_to_string(dir.join("r.json")).unwrap(),
        "the report of an earlier run"
    );
}

#[test]
fn keys_come_from_a_named_aws_profile_and_a_profile_postcall_cannot_use_says_what_to_do() {
    // `aws configure --profile archive` on a laptop: no keys in the environment.
    let (dir, s3, _fake) = archived(4);
    std::fs::write(
        dir.join("credentials"),
        format!(
            "[archive]\naws_access_key_id = {}\naws_secret_access_key = {SECRET_ACCESS_KEY}\n",
            postcall_testkit::s3::ACCESS_KEY_ID
        ),
    )
    .unwrap();
    std::fs::write(
        dir.join("config"),
        "[profile archive]\nregion = us-east-1\n\n[profile corp]\nsso_session = corp\nsso_account_id = 1\n",
    )
    .unwrap();
    let inspect = |profile: &str| {
        let mut cmd = dir.postcall_process();
        as_profile(&mut cmd, &dir, &s3, "credentials", profile);
        let out = cmd.args(["inspect", "s3://archive/calls"]).output().unwrap();
        let said = printed(&out);
        (out.status.code(), said)
    };
    let (code, said) = inspect("archive");
    assert_eq!(code, Some(0), "{said}");
    assert!(said.contains("total: 4 call(s)"), "{said}");

    let (code, said) = inspect("corp");
    assert_ne!(code, Some(0), "{said}");
    assert!(said.contains("the AWS profile `corp` signs in with SSO"), "{said}");
    assert!(
        said.contains("aws configure export-credentials --profile corp --format env"),
        "{said}"
    );
    assert!(!said.contains(SECRET_ACCESS_KEY), "{said}");
}

/// `cmd` pointed at moto with no keys in its environment: only the AWS profile `profile`,
/// from `dir`'s `config` and the credentials file `credentials`, can sign its requests.
fn as_profile(cmd: &mut std::process::Command, dir: &TestDir, s3: &S3Server, credentials: &str, profile: &str) {
    cmd.envs(
        s3.env()
            .into_iter()
            .filter(|(k, _)| !k.contains("_KEY") && *k != "AWS_REGION"),
    );
    cmd.env("AWS_SHARED_CREDENTIALS_FILE", dir.join(credentials))
        .env("AWS_CONFIG_FILE", dir.join("config"))
        .env("AWS_PROFILE", profile)
        // Were the profile not read, the chain would end at the instance role: here, a port
        // nothing listens on.
        .env("AWS_METADATA_ENDPOINT", "http://127.0.0.1:1");
}

#[test]
fn keys_come_from_a_profiles_credential_process_and_a_failing_one_stops_the_run_before_any_request() {
    // `credential_process = …` in ~/.aws/config, as a company sign-in tool or
    // `aws configure export-credentials --format process` is set up: no keys anywhere else.
    let (dir, s3, fake) = archived(3);
    let (key_id, secret) = s3.user_keys("postcall-process").unwrap();
    let expires = (jiff::Timestamp::now() + jiff::SignedDuration::from_hours(1)).to_string();
    std::fs::create_dir(dir.join("sign in")).unwrap();
    std::fs::write(
        dir.join("sign in/creds.sh"),
        format!(
            "[ \"$1 $2\" = '--account the archive' ] || exit 9\n\
             echo '{{\"Version\": 1, \"AccessKeyId\": \"{key_id}\", \"SecretAccessKey\": \"{secret}\", \
             \"Expiration\": \"{expires}\"}}'\n"
        ),
    )
    .unwrap();
    std::fs::write(
        dir.join("sign in/failing.sh"),
        format!(
            "echo '{{\"Version\": 1, \"AccessKeyId\": \"{key_id}\", \"SecretAccessKey\": \"{secret}\"}}'\n\
             echo 'error: your session has expired' >&2\necho 'sign in again with: corp-login' >&2\nexit 2\n"
        ),
    )
    .unwrap();
    // Through `sh`: a script just written and executed can fail with "text file busy"
    // while other tests fork.
    let script = |name: &str| dir.join("sign in").join(name).display().to_string();
    std::fs::write(
        dir.join("config"),
        format!(
            "[profile archive]\nregion = us-east-1\ncredential_process = sh \"{}\" --account \"the archive\"\n\n\
             [profile failing]\ncredential_process = sh \"{}\"\n",
            script("creds.sh"),
            script("failing.sh")
        ),
    )
    .unwrap();
    let run_as = |profile: &str| {
        let mut cmd = dir.postcall_process();
        as_profile(&mut cmd, &dir, &s3, "no-credentials", profile);
        cmd.args([
            "run",
            "-m",
            "metrics.yaml",
            "s3://archive/calls",
            "-o",
            "s3://reports/r.json",
        ])
        .args(["--base-url", &fake.base_url(), "--model", MODEL, "--quiet"]);
        cmd
    };

    s3.record_requests().unwrap();
    let stderr = fails(run_as("failing"));
    let config = dir.join("config");
    assert!(
        stderr.contains(&format!(
            "the credential_process of the AWS profile `failing` (in {}): `sh` failed (exit status: 2): \
             error: your session has expired / sign in again with: corp-login; run it yourself to see why",
            config.display()
        )),
        "{stderr}"
    );
    assert!(!stderr.contains(&secret) && !stderr.contains(&key_id), "{stderr}");
    let sent: Vec<_> = s3
        .requests()
        .unwrap()
        .into_iter()
        .filter(|(_, path)| !path.starts_with("/moto-api"))
        .collect();
    assert_eq!(sent, [] as [(String, String); 0], "nothing was sent to the store");
    assert_eq!(fake.requests(), 0, "nor to the endpoint");

    // From here moto refuses any key but the user's: the run reads and uploads (a failed
    // upload fails the run) signed with the process's.
    s3.enforce_auth().unwrap();
    let stderr = succeeds({
        let mut cmd = run_as("archive");
        cmd.args(["-o", "local.json"]);
        cmd
    });
    assert!(!stderr.contains(&secret), "{stderr}");
    assert_eq!(read_json_report(&dir.join("local.json")).calls.len(), 3);
}
