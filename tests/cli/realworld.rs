//! Acceptance over `../shared/data/realworld`: payloads the platforms really sent or
//! document (see its SOURCES.md). Every file must read as its platform meant it: the right
//! calls, turn counts, roles and order, or be skipped with a reason when it is not a call.
//!
//! The expectations below were written by reading each payload, not by running postcall;
//! the text prefixes are a few words, enough to pin order and UTF-8. The folder is not part
//! of the repository (its licences do not allow copying): it is found as `shared/data/realworld`
//! beside the repository or beside any folder above it (a worktree), or at
//! `$POSTCALL_REALWORLD_DIR`; without it the test prints a note and passes, so a clean
//! machine's CI still runs the rest.

use std::path::{Path, PathBuf};

use postcall::transcript::{Call, Catalog, LoadOptions, Speaker, SpeakerMap};

use Speaker::{Agent, Customer};

/// One call as its platform meant it.
struct Expected {
    /// Agent and customer turns, in order.
    spoken: usize,
    agents: usize,
    first: (Speaker, &'static str),
    last: (Speaker, &'static str),
}

/// What one file is.
enum File {
    Calls(&'static [Expected]),
    /// Not a call: skipped, with a reason containing this.
    Skipped(&'static str),
    /// Speakers with no roles at all and nothing telling in what they say: an error asking
    /// for `--speaker-map`, with or without `auto`.
    NeedsSpeakerMap,
}

const fn call(spoken: usize, agents: usize, first: (Speaker, &'static str), last: (Speaker, &'static str)) -> Expected {
    Expected {
        spoken,
        agents,
        first,
        last,
    }
}

const EXPECTED: &[(&str, File)] = &[
    (
        "aws_connect__contact-lens-chat-original-docs-example.json",
        File::Calls(&[call(
            28,
            15,
            (Agent, "Hello, thanks for reaching"),
            (Agent, "Ok great! Have a great day."),
        )]),
    ),
    (
        "aws_connect__contact-lens-chat-redacted-docs-example.json",
        File::Calls(&[call(
            28,
            14,
            (Agent, "Hello, thanks for reaching"),
            (Agent, "Ok great! Have a great day."),
        )]),
    ),
    (
        "aws_connect__contact-lens-voice-original-docs-example.json",
        File::Calls(&[call(10, 5, (Agent, "Okay."), (Customer, "Thank you. Sir."))]),
    ),
    (
        "aws_connect__contact-lens-voice-redacted-docs-example.json",
        File::Calls(&[call(10, 5, (Agent, "Okay."), (Customer, "Thank you. Sir."))]),
    ),
    (
        "aws_transcribe__call-analytics-redacted-docs-example-2021.json",
        File::Calls(&[call(
            3,
            1,
            (Customer, "Hey Mr [PII]?"),
            (Customer, "Yeah, this is [PII]."),
        )]),
    ),
    (
        "bland__call-completed-webhook-agent-action.json",
        File::Calls(&[call(
            6,
            4,
            (Agent, "Hello, thank you for calling."),
            (Agent, "Goodbye, Mr. Chung."),
        )]),
    ),
    (
        "bland__get-call-details-docs-example-trimmed.json",
        File::Calls(&[call(2, 1, (Customer, "Hello?"), (Agent, "Hi there! I'm calling"))]),
    ),
    (
        "deepgram__prerecorded-nova3-diarize-utterances-paragraphs-call-center.json",
        File::Calls(&[call(
            49,
            25,
            (Agent, "Hi. Thank you for calling"),
            (Agent, "Not a problem. Is there"),
        )]),
    ),
    (
        "deepgram__prerecorded-nova3-paragraphs-only-derived.json",
        File::Calls(&[call(
            56,
            28,
            (Agent, "Hi. Thank you for calling"),
            (Customer, "Yep. You too. Bye."),
        )]),
    ),
    (
        "elevenlabs__get-conversation-inbound-law-firm-end-call.json",
        File::Calls(&[call(
            15,
            8,
            (Agent, "Welcome to, Sword"),
            (Agent, "You're welcome. Thank you"),
        )]),
    ),
    (
        "elevenlabs__get-conversation-outbound-twilio-end-call-tool.json",
        File::Calls(&[call(
            13,
            7,
            (Agent, "Hi, I am Mehedi"),
            (Agent, "Thank you, Arif. We look"),
        )]),
    ),
    (
        "elevenlabs__list-conversations-no-transcripts.json",
        File::Skipped("conversation list"),
    ),
    (
        "elevenlabs__post-call-audio-webhook-docs-example-no-transcript.json",
        File::Skipped("`post_call_audio`"),
    ),
    (
        "elevenlabs__post-call-transcription-webhook-docs-example.json",
        File::Calls(&[call(
            3,
            2,
            (Agent, "Hey there angelo."),
            (Agent, "I do not have access"),
        )]),
    ),
    (
        "elevenlabs__webhook-data-tamil-language-switch-tool.json",
        File::Calls(&[call(
            15,
            8,
            (Agent, "I am Angelo, reaching out"),
            (Agent, "நன்றி, திரு ஏக்கம்பன். நான்"),
        )]),
    ),
    (
        "openai_messages__pipecat-llm-context-bare-array.json",
        File::Calls(&[call(
            27,
            12,
            (Agent, "Hello, I'm Marvius"),
            (Customer, "I don't know. Marvius"),
        )]),
    ),
    (
        "retell__call-analyzed-not-connected-empty-transcript.json",
        File::Skipped("never connected"),
    ),
    (
        "retell__get-call-v2-api-reference-example.json",
        File::Calls(&[call(7, 4, (Agent, "hi how are you doing?"), (Agent, "have a nice day"))]),
    ),
    (
        "retell__get-call-web-call-words.json",
        File::Calls(&[call(
            6,
            4,
            (Agent, "Hello, this is [Your Name]"),
            (Agent, "It seems like now might"),
        )]),
    ),
    (
        "twilio_intelligence__list-sentences-openapi-example.json",
        File::NeedsSpeakerMap,
    ),
    (
        "twilio_relay__session-log-assembled-from-docs.jsonl",
        File::Calls(&[call(
            2,
            1,
            (Customer, "Hi! Can you tell me about life?"),
            (Agent, "Life is a complex set of"),
        )]),
    ),
    (
        "twilio_relay__session-log-bare-array-assembled-from-docs.json",
        File::Calls(&[call(
            2,
            1,
            (Customer, "Hi! Can you tell me about life?"),
            (Agent, "Life is a complex set of"),
        )]),
    ),
    (
        "vapi__end-of-call-report-squad-transfer-tools.json",
        File::Calls(&[call(9, 5, (Agent, "Hi there. I'm assistant 1."), (Customer, "Great."))]),
    ),
    (
        "vapi__get-call-object-voicemail.json",
        File::Calls(&[call(
            4,
            2,
            (Customer, "Your call has been forwarded"),
            (Agent, "Hi. This is Morgan Freebot"),
        )]),
    ),
    (
        "vapi__list-calls-array-3-calls.json",
        File::Calls(&[
            call(
                4,
                2,
                (Customer, "Your call has been forwarded"),
                (Agent, "Hi. This is Morgan Freebot"),
            ),
            call(
                2,
                1,
                (Customer, "Hi. You've reached"),
                (Agent, "Hi. This is Morgan Freebaud."),
            ),
            call(
                2,
                1,
                (Customer, "Call has been forwarded"),
                (Agent, "Hi. This is Morgan Freebaud."),
            ),
        ]),
    ),
    (
        "vapi__tool-calls-server-message-midcall.json",
        File::Skipped("`tool-calls` server message"),
    ),
];

fn folder() -> Option<PathBuf> {
    let from_env = std::env::var_os("POSTCALL_REALWORLD_DIR").map(PathBuf::from);
    let root = crate::common::repo_root();
    let beside = root
        .ancestors()
        .map(|a| a.join("shared/data/realworld"))
        .find(|p| p.is_dir());
    match from_env.or(beside).filter(|p| p.is_dir()) {
        Some(path) => Some(path),
        None => {
            eprintln!(
                "note: no shared/data/realworld found above {}; real-world acceptance skipped",
                root.display()
            );
            None
        }
    }
}

fn name_of(source: &str) -> &str {
    let file = Path::new(source.split('[').next().unwrap_or(source));
    file.file_name().and_then(|n| n.to_str()).unwrap_or(source)
}

fn check_call(file: &str, index: usize, call: &Call, want: &Expected) {
    let spoken: Vec<_> = call.conversation().collect();
    let at = format!("{file}[{index}]");
    assert_eq!(spoken.len(), want.spoken, "{at}: spoken turns");
    assert_eq!(
        spoken.iter().filter(|t| t.speaker == Agent).count(),
        want.agents,
        "{at}: agent turns"
    );
    let (first, last) = (spoken[0], spoken[spoken.len() - 1]);
    assert_eq!(first.speaker, want.first.0, "{at}: first speaker");
    assert!(
        first.text.starts_with(want.first.1),
        "{at}: first turn is {:?}",
        first.text
    );
    assert_eq!(last.speaker, want.last.0, "{at}: last speaker");
    assert!(last.text.starts_with(want.last.1), "{at}: last turn is {:?}", last.text);
    // Order in time agrees with order in the list wherever the platform gave times.
    let offsets: Vec<f64> = call.turns.iter().filter_map(|t| t.offset_secs).collect();
    assert!(
        offsets.windows(2).all(|w| w[0] <= w[1] + 1e-9),
        "{at}: offsets go backwards: {offsets:?}"
    );
}

#[test]
fn every_real_payload_reads_as_its_platform_meant_it() {
    let Some(dir) = folder() else { return };
    let options = LoadOptions {
        format: None,
        speaker_map: Some(SpeakerMap::Auto),
        ..Default::default()
    };
    let catalog = Catalog::scan(std::slice::from_ref(&dir), &options);
    let mut listed = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| !n.ends_with(".md"))
        .collect::<Vec<_>>();
    listed.sort();
    let expected: Vec<&str> = EXPECTED.iter().map(|(f, _)| *f).collect();
    assert_eq!(listed, expected, "every payload has an expectation");
    assert_eq!(catalog.skipped_non_json, 2, "README.md and SOURCES.md are not read");
    for (file, what) in EXPECTED {
        let entries: Vec<usize> = (0..catalog.entries.len())
            .filter(|&i| name_of(&catalog.entries[i].source_display) == *file)
            .collect();
        let skipped = catalog.skipped.iter().find(|s| name_of(&s.source_display) == *file);
        let error = catalog.errors.iter().find(|e| name_of(&e.source_display) == *file);
        match what {
            File::Calls(calls) => {
                assert!(error.is_none() && skipped.is_none(), "{file}: {error:?} {skipped:?}");
                assert_eq!(entries.len(), calls.len(), "{file}: calls");
                for (n, (&i, want)) in entries.iter().zip(*calls).enumerate() {
                    let call = catalog.load(i, &options).unwrap_or_else(|e| panic!("{file}: {e}"));
                    check_call(file, n, &call, want);
                }
            }
            File::Skipped(reason) => {
                assert!(
                    entries.is_empty() && error.is_none(),
                    "{file}: read as a call or an error"
                );
                let skipped = skipped.unwrap_or_else(|| panic!("{file}: not skipped"));
                assert!(skipped.reason.contains(reason), "{file}: {}", skipped.reason);
            }
            File::NeedsSpeakerMap => {
                let error = error.unwrap_or_else(|| panic!("{file}: no error"));
                assert!(error.message.contains("--speaker-map"), "{file}: {}", error.message);
            }
        }
    }
}

#[test]
fn real_payloads_without_roles_ask_for_a_speaker_map_unless_auto() {
    let Some(dir) = folder() else { return };
    let catalog = Catalog::scan(&[dir], &LoadOptions::default());
    let mut asking: Vec<&str> = catalog
        .errors
        .iter()
        .filter(|e| e.message.contains("postcall does not guess who is the agent"))
        .map(|e| name_of(&e.source_display))
        .collect();
    asking.sort();
    assert_eq!(
        asking,
        [
            "deepgram__prerecorded-nova3-diarize-utterances-paragraphs-call-center.json",
            "deepgram__prerecorded-nova3-paragraphs-only-derived.json",
            "twilio_intelligence__list-sentences-openapi-example.json",
        ]
    );
    assert_eq!(catalog.errors.len(), 3, "{:#?}", catalog.errors);
}

#[test]
fn real_payloads_auto_roles_say_why_and_squad_offsets_run_on() {
    let Some(dir) = folder() else { return };
    let options = LoadOptions {
        format: None,
        speaker_map: Some(SpeakerMap::Auto),
        ..Default::default()
    };
    let deepgram = dir.join("deepgram__prerecorded-nova3-diarize-utterances-paragraphs-call-center.json");
    let catalog = Catalog::scan(&[deepgram], &options);
    let call = catalog.load(0, &options).unwrap();
    let inference = call.speaker_inference.expect("auto recorded its choice");
    assert_eq!(inference.agent, "0");
    assert!(
        inference.reason.contains("\"thank you for calling\" (turn 1)"),
        "{}",
        inference.reason
    );

    // After the transfer the second assistant's secondsFromStart starts again near 0; the
    // epoch time keeps counting.
    let squad = dir.join("vapi__end-of-call-report-squad-transfer-tools.json");
    let catalog = Catalog::scan(&[squad], &options);
    let call = catalog.load(0, &options).unwrap();
    let second = call
        .conversation()
        .find(|t| t.text.starts_with("Hi there. I'm assistant 2."))
        .unwrap();
    assert!(second.offset_secs.unwrap() > 15.0, "{:?}", second.offset_secs);
    assert_eq!(call.metadata.ended_reason.as_deref(), Some("customer-ended-call"));

    let retell = dir.join("retell__get-call-v2-api-reference-example.json");
    let catalog = Catalog::scan(&[retell], &options);
    assert!(
        catalog.warnings.iter().any(|w| w.contains("has 7 turns")),
        "{:?}",
        catalog.warnings
    );
}
