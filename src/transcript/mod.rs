//! Call transcripts: the [`Call`] model every source format is normalised into.
//!
//! Each platform's export shape lives in a file under `formats/` (one per format family);
//! `detect` picks one from the document's structure; `scan` walks inputs (files,
//! directories, stdin) into a [`Catalog`] of small entries, per-file errors and documents
//! skipped as not being calls; `load` holds the types callers see and re-reads one call on
//! demand; `read` reads a file's bytes, regular files only and bounded. `metadata` is the call's facts besides its turns; `speakers` gives roles to
//! speakers a source only names or numbers. Bad input is data: a broken file becomes a
//! [`LoadError`] and every other file is still read.

use serde::{Deserialize, Serialize};

pub(crate) mod detect;
pub(crate) mod formats;
pub mod load;
pub(crate) mod metadata;
pub(crate) mod read;
mod scan;
pub(crate) mod speakers;
#[cfg(test)]
mod tests;
mod unique_ids;

pub use load::{
    CallEntry, Catalog, LoadError, LoadOptions, Origin, READ_EXTENSIONS, Skipped, SourceRef, TranscriptArgs,
};
pub use metadata::{CallBlock, CallMetadata, Direction, MetadataLevel, MetadataValue};
pub use scan::{Findings, scan_into};
pub use speakers::SpeakerInference;

/// One call, in the shape every later stage reads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Call {
    /// Unique within a run (a duplicate id is suffixed and warned about by the loader).
    pub id: String,
    /// Where it came from: `path`, `path:LINE` for JSONL, `path[INDEX]` for a JSON array.
    pub source: String,
    pub format: Format,
    /// When the call started, if the source says; anchors relative dates ("next Tuesday").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<jiff::Timestamp>,
    /// What the source says about the call besides its turns (ids, times, numbers…).
    #[serde(default)]
    pub metadata: CallMetadata,
    /// Which speaker `--speaker-map auto` took for the agent and why; `None` when the
    /// source or `--speaker-map` gave the roles.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub speaker_inference: Option<SpeakerInference>,
    pub turns: Vec<Turn>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Turn {
    pub speaker: Speaker,
    pub text: String,
    /// Seconds from the start of the call, when the source gives timing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offset_secs: Option<f64>,
}

/// Who spoke. Platform roles (`bot`, `assistant`, `user`, `AGENT`, `CUSTOMER`, channel
/// numbers through `--speaker-map`) all normalise to these four.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Speaker {
    Agent,
    Customer,
    System,
    Tool,
}

impl Speaker {
    pub fn label(self) -> &'static str {
        match self {
            Speaker::Agent => "agent",
            Speaker::Customer => "customer",
            Speaker::System => "system",
            Speaker::Tool => "tool",
        }
    }

    /// System prompts and tool traffic are kept in the model but left out of prompts by
    /// default: they are not what was said on the call.
    pub fn is_conversational(self) -> bool {
        matches!(self, Speaker::Agent | Speaker::Customer)
    }
}

impl Call {
    /// Turns that were actually spoken between agent and customer.
    pub fn conversation(&self) -> impl Iterator<Item = &Turn> {
        self.turns.iter().filter(|t| t.speaker.is_conversational())
    }

    /// Characters of spoken text.
    /// The first 8 bytes of a blake3 hash over every turn's speaker and text.
    pub fn digest(&self) -> u64 {
        let mut bytes = Vec::with_capacity(self.turns.iter().map(|t| t.text.len() + 24).sum());
        for turn in &self.turns {
            bytes.extend_from_slice(turn.speaker.label().as_bytes());
            bytes.extend_from_slice(&(turn.text.len() as u64).to_le_bytes());
            bytes.extend_from_slice(turn.text.as_bytes());
        }
        // One contiguous update, not one per turn: blake3 hashes a long input's 1 KiB
        // chunks side by side in SIMD lanes, but short updates one 64-byte block at a time
        // (the per-turn form was a tenth of a warm re-run's CPU). Same bytes, same hash.
        let hash = blake3::hash(&bytes);
        u64::from_le_bytes(hash.as_bytes()[..8].try_into().expect("8 bytes"))
    }

    pub fn chars(&self) -> usize {
        self.conversation().map(|t| t.text.chars().count()).sum()
    }

    /// A cheap token estimate (about four characters a token for English), used for the
    /// long-call check and `--dry-run` costs; close enough to plan, not to bill.
    pub fn estimated_tokens(&self) -> u64 {
        estimate_tokens_for_chars(self.chars() + 8 * self.conversation().count())
    }
}

/// The token estimate used everywhere, so `inspect`, `--dry-run` and the long-call check agree.
pub fn estimate_tokens_for_chars(chars: usize) -> u64 {
    (chars as u64).div_ceil(4)
}

/// The source formats postcall recognises. Named the same in reports (serde), on the
/// command line (clap) and in messages (strum).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    clap::ValueEnum,
    strum::Display,
    strum::IntoStaticStr,
)]
#[serde(rename_all = "snake_case")]
#[value(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum Format {
    /// `{call_id, transcript: [{role, content}]}`
    Generic,
    /// OpenAI chat messages, as `{messages: [...]}` or a bare array.
    OpenaiMessages,
    /// Smallest AI Atoms: GET conversation and the post-conversation webhook.
    Atoms,
    /// Dialgen onCallComplete webhook / get-metric (`callData.transcription`).
    Dialgen,
    /// Vapi end-of-call-report.
    Vapi,
    /// Retell call webhook / GET call (`transcript_object`).
    Retell,
    /// ElevenLabs post_call_transcription.
    Elevenlabs,
    /// Bland call details (`transcripts`).
    Bland,
    /// AWS Transcribe Call Analytics output.
    AwsTranscribe,
    /// Amazon Connect Contact Lens output.
    AwsConnect,
    /// Twilio Conversational Intelligence sentences (roles from the transcript's participants
    /// or `--speaker-map`).
    TwilioIntelligence,
    /// A logged Twilio ConversationRelay WebSocket session.
    TwilioRelay,
    /// Deepgram pre-recorded responses: utterances, paragraphs, or one channel per party
    /// (roles from `--speaker-map`).
    Deepgram,
    /// Genesys Cloud speech and text analytics transcript (`transcripts[].phrases`).
    Genesys,
    /// LiveKit Agents session history (`session.history.to_dict()`, or a session report).
    Livekit,
    /// Pipecat transcript: `[{role, content, timestamp}]` saved from turn events.
    Pipecat,
    /// OpenAI Realtime conversation items, or a log of the session's server events.
    OpenaiRealtime,
    /// Plain text: `Agent: …` lines, `[00:01:02] Speaker 1: …`, `Name  0:05` blocks.
    #[serde(rename = "text")]
    #[value(name = "text", alias = "txt")]
    #[strum(serialize = "text")]
    PlainText,
    /// WebVTT captions with speakers (`<v Name>` voice tags or `Name:` prefixes).
    #[value(alias = "vtt")]
    Webvtt,
    /// SRT subtitles with `Name:` speaker prefixes.
    Srt,
}

impl Format {
    pub fn name(self) -> &'static str {
        self.into()
    }

    /// The platform's own name, for call metadata; `None` for shapes no platform owns.
    pub fn platform(self) -> Option<&'static str> {
        Some(match self {
            Format::Generic | Format::OpenaiMessages | Format::PlainText | Format::Webvtt | Format::Srt => {
                return None;
            }
            Format::Atoms => "Smallest AI Atoms",
            Format::Dialgen => "Dialgen",
            Format::Vapi => "Vapi",
            Format::Retell => "Retell AI",
            Format::Elevenlabs => "ElevenLabs",
            Format::Bland => "Bland AI",
            Format::AwsTranscribe => "Amazon Transcribe",
            Format::AwsConnect => "Amazon Connect",
            Format::TwilioIntelligence | Format::TwilioRelay => "Twilio",
            Format::Deepgram => "Deepgram",
            Format::Genesys => "Genesys Cloud",
            Format::Livekit => "LiveKit",
            Format::Pipecat => "Pipecat",
            Format::OpenaiRealtime => "OpenAI Realtime",
        })
    }

    /// Text formats, read from the file's text rather than from JSON.
    pub fn is_text(self) -> bool {
        matches!(self, Format::PlainText | Format::Webvtt | Format::Srt)
    }

    /// Formats whose whole call can be a top-level JSON array (of messages, items or
    /// session events), which therefore must not be split into one call per element.
    pub fn reads_whole_arrays(self) -> bool {
        matches!(
            self,
            Format::OpenaiMessages | Format::TwilioRelay | Format::Pipecat | Format::OpenaiRealtime
        )
    }
}

/// `--speaker-map`: roles for speakers a source only numbers or names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SpeakerMap {
    /// `0=agent,1=customer`: exactly these roles (also for role names postcall does not know).
    Roles(RoleMap),
    /// `auto`: pick the agent from what each speaker says, and record why on the call.
    Auto,
}

impl SpeakerMap {
    /// The role given to `key`, matched without regard to case (`auto` gives none).
    pub fn get(&self, key: &str) -> Option<Speaker> {
        self.roles().and_then(|m| m.get(key))
    }

    pub fn roles(&self) -> Option<&RoleMap> {
        match self {
            SpeakerMap::Roles(map) => Some(map),
            SpeakerMap::Auto => None,
        }
    }

    pub fn is_auto(&self) -> bool {
        matches!(self, SpeakerMap::Auto)
    }
}

/// Speaker keys (`0`, `Speaker 1`, `narrator`) and the role each one has.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoleMap(pub Vec<(String, Speaker)>);

impl RoleMap {
    pub fn get(&self, key: &str) -> Option<Speaker> {
        let key = key.trim();
        self.0
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, s)| *s)
    }
}

/// As `--speaker-map` is written (`0=agent,1=customer`, `auto`): how a report's header
/// records it, read back with [`FromStr`](std::str::FromStr).
impl std::fmt::Display for SpeakerMap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SpeakerMap::Auto => f.write_str("auto"),
            SpeakerMap::Roles(RoleMap(pairs)) => {
                for (i, (key, speaker)) in pairs.iter().enumerate() {
                    let comma = if i > 0 { "," } else { "" };
                    write!(f, "{comma}{key}={}", speaker.label())?;
                }
                Ok(())
            }
        }
    }
}

impl Serialize for SpeakerMap {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for SpeakerMap {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<SpeakerMap, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

impl std::str::FromStr for SpeakerMap {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.trim().eq_ignore_ascii_case("auto") {
            return Ok(SpeakerMap::Auto);
        }
        let mut map = Vec::new();
        for pair in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (key, role) = pair.split_once('=').ok_or_else(|| {
                format!("`{pair}` is not KEY=ROLE; write e.g. --speaker-map 0=agent,1=customer, or --speaker-map auto")
            })?;
            let speaker = match role.trim().to_ascii_lowercase().as_str() {
                "agent" => Speaker::Agent,
                "customer" => Speaker::Customer,
                "system" => Speaker::System,
                "tool" => Speaker::Tool,
                other => {
                    return Err(format!(
                        "unknown role `{other}` for speaker {key}; use agent, customer, system or tool"
                    ));
                }
            };
            map.push((key.trim().to_string(), speaker));
        }
        if map.is_empty() {
            return Err("empty speaker map; write e.g. --speaker-map 0=agent,1=customer, or --speaker-map auto".into());
        }
        Ok(SpeakerMap::Roles(RoleMap(map)))
    }
}
