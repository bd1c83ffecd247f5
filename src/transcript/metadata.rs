//! Call metadata: the facts a platform keeps about a call besides what was said, normalised
//! into one [`CallMetadata`] whatever the export shape.
//!
//! Every field is optional and filled only from what the source holds: a reader that does
//! not find a field leaves it `None` rather than deriving a guess (a duration is computed
//! from start and end only when the source gives both). Some fields are personal data, so
//! each has a [`Tier`]: reports show `basic` fields by default and personal ones only when
//! asked (`--metadata all`). The report side reads the fields through [`CallMetadata::fields`]
//! so columns keep one stable order and one tier each.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// Which way the call went, from the business's side.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, strum::IntoStaticStr)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum Direction {
    /// The customer called in.
    Inbound,
    /// The business (or its agent) called out.
    Outbound,
    /// A browser or app session rather than a phone call (Retell `web_call`, LiveKit rooms).
    Web,
}

impl Direction {
    /// As reports write it (serde's spelling).
    pub fn name(self) -> &'static str {
        self.into()
    }

    /// Reads the spellings platforms use: `inbound`, `inboundPhoneCall`, `telephony_inbound`,
    /// `INBOUND`, `web_call`, … Anything else is not a direction.
    pub fn parse(raw: &str) -> Option<Direction> {
        let lower = raw.trim().to_ascii_lowercase();
        if lower.contains("inbound") || lower == "incoming" || lower == "in" {
            Some(Direction::Inbound)
        } else if lower.contains("outbound") || lower == "outgoing" || lower == "out" {
            Some(Direction::Outbound)
        } else if lower.contains("web") {
            Some(Direction::Web)
        } else {
            None
        }
    }
}

/// How much metadata a report shows (`--metadata none|basic|all`). The run header records
/// it, so a CSV made later from the report (`convert`) has the same `call.*` columns.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, clap::ValueEnum, Serialize, Deserialize,
)]
#[value(rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum MetadataLevel {
    /// No metadata at all.
    None,
    /// Times, duration, direction, ids and status: nothing that identifies a person.
    #[default]
    Basic,
    /// Also phone numbers, names and URLs (recording links can hold the voices themselves).
    All,
}

/// The level a field needs before a report may show it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Tier {
    /// Shown with `--metadata basic` (the default) and `all`.
    Basic,
    /// Personal data: phone numbers, names, URLs. Shown only with `--metadata all`.
    Personal,
}

impl Tier {
    pub fn visible_at(self, level: MetadataLevel) -> bool {
        match level {
            MetadataLevel::None => false,
            MetadataLevel::Basic => self == Tier::Basic,
            MetadataLevel::All => true,
        }
    }
}

/// What the source says about a call, besides its turns. The call's start time is not here:
/// it lives on [`super::Call::started_at`], which also anchors relative dates in prompts;
/// [`CallMetadata::fields`] lists it first so a report gets every fact from one place.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CallMetadata {
    /// The platform's own name for where the call happened ("Vapi", "Amazon Connect"), from
    /// the format; `None` for postcall's generic shape, plain text and captions.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub platform: Option<String>,
    /// The platform's id for the call exactly as exported (the run's `call_id` may be a
    /// file name instead, or carry a `#2` suffix when two inputs share an id). Basic.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub call_id: Option<String>,
    /// When the call ended. Basic.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ended_at: Option<Timestamp>,
    /// Length of the call in seconds, as the platform reports it (or end minus start when
    /// it gives both times and no duration). Basic.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration_secs: Option<f64>,
    /// Basic.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub direction: Option<Direction>,
    /// The platform's id of the agent or assistant that took the call (a voice agent's id,
    /// Connect's agent ARN…). Basic.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<String>,
    /// The agent's display name (a bot's name, or a human agent's). Personal.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agent_name: Option<String>,
    /// The platform's id for the customer or contact record (Dialgen `contactId`, Connect
    /// `ContactId`, a CRM id), never a phone number. Basic.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contact_id: Option<String>,
    /// The customer's phone number: `from` on inbound calls, `to` on outbound. Personal.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customer_number: Option<String>,
    /// The business line's number (the other end from the customer). Personal.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agent_number: Option<String>,
    /// The customer's name, when the platform stores one outside the transcript. Personal.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customer_name: Option<String>,
    /// Where the recording is. Personal: whoever has the link may hear the call.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recording_url: Option<String>,
    /// The platform's status for the call (`ended`, `completed`, `done`), verbatim. Basic.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// Why the call ended (`customer-ended-call`, `user_hangup`, `voicemail`), verbatim. Basic.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ended_reason: Option<String>,
}

/// A report's `call` block: the call's start time and the facts `--metadata` lets it show.
/// Only what the source held is there (a field it did not have is absent, never guessed).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CallBlock {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<Timestamp>,
    #[serde(flatten)]
    pub facts: CallMetadata,
}

impl CallBlock {
    /// The block for a call at `level`; `None` when nothing is left to show.
    pub fn new(started_at: Option<Timestamp>, metadata: &CallMetadata, level: MetadataLevel) -> Option<CallBlock> {
        let block = CallBlock {
            started_at: started_at.filter(|_| Tier::Basic.visible_at(level)),
            facts: metadata.visible(level),
        };
        (block != CallBlock::default()).then_some(block)
    }

    /// The fields `level` allows, in [`FIELDS`] order, for writers with fixed columns.
    pub fn fields(&self, level: MetadataLevel) -> Vec<(&'static str, Option<MetadataValue<'_>>)> {
        self.facts.fields(self.started_at, level)
    }
}

/// One metadata value, typed for writers that keep types (JSON) and printable for those
/// that do not (CSV).
#[derive(Debug, Clone, PartialEq)]
pub enum MetadataValue<'a> {
    Text(&'a str),
    Time(Timestamp),
    Seconds(f64),
}

impl std::fmt::Display for MetadataValue<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MetadataValue::Text(s) => f.write_str(s),
            MetadataValue::Time(t) => write!(f, "{t}"),
            MetadataValue::Seconds(s) => write!(f, "{s}"),
        }
    }
}

/// Every field a report may show, in column order, with its tier. `started_at` comes from
/// the call itself.
pub const FIELDS: &[(&str, Tier)] = &[
    ("platform", Tier::Basic),
    ("call_id", Tier::Basic),
    ("started_at", Tier::Basic),
    ("ended_at", Tier::Basic),
    ("duration_secs", Tier::Basic),
    ("direction", Tier::Basic),
    ("agent_id", Tier::Basic),
    ("contact_id", Tier::Basic),
    ("status", Tier::Basic),
    ("ended_reason", Tier::Basic),
    ("agent_name", Tier::Personal),
    ("customer_name", Tier::Personal),
    ("customer_number", Tier::Personal),
    ("agent_number", Tier::Personal),
    ("recording_url", Tier::Personal),
];

impl CallMetadata {
    /// The fields `level` allows, in [`FIELDS`] order, each with its value or `None` when
    /// the source did not have it (a CSV writer keeps the column; a JSON writer may drop it).
    pub fn fields(
        &self,
        started_at: Option<Timestamp>,
        level: MetadataLevel,
    ) -> Vec<(&'static str, Option<MetadataValue<'_>>)> {
        FIELDS
            .iter()
            .filter(|(_, tier)| tier.visible_at(level))
            .map(|&(name, _)| (name, self.value(name, started_at)))
            .collect()
    }

    fn value(&self, name: &str, started_at: Option<Timestamp>) -> Option<MetadataValue<'_>> {
        use MetadataValue::{Seconds, Text, Time};

        fn text(s: &Option<String>) -> Option<MetadataValue<'_>> {
            s.as_deref().map(MetadataValue::Text)
        }
        match name {
            "platform" => text(&self.platform),
            "call_id" => text(&self.call_id),
            "started_at" => started_at.map(Time),
            "ended_at" => self.ended_at.map(Time),
            "duration_secs" => self.duration_secs.map(Seconds),
            "direction" => self.direction.map(|d| Text(d.name())),
            "agent_id" => text(&self.agent_id),
            "contact_id" => text(&self.contact_id),
            "status" => text(&self.status),
            "ended_reason" => text(&self.ended_reason),
            "agent_name" => text(&self.agent_name),
            "customer_name" => text(&self.customer_name),
            "customer_number" => text(&self.customer_number),
            "agent_number" => text(&self.agent_number),
            "recording_url" => text(&self.recording_url),
            _ => None,
        }
    }

    /// A copy holding only what `level` allows, for writers that serialise the struct whole.
    pub fn visible(&self, level: MetadataLevel) -> CallMetadata {
        let basic = Tier::Basic.visible_at(level);
        let personal = Tier::Personal.visible_at(level);
        let keep = |allowed: bool, v: &Option<String>| if allowed { v.clone() } else { None };
        CallMetadata {
            platform: keep(basic, &self.platform),
            call_id: keep(basic, &self.call_id),
            ended_at: self.ended_at.filter(|_| basic),
            duration_secs: self.duration_secs.filter(|_| basic),
            direction: self.direction.filter(|_| basic),
            agent_id: keep(basic, &self.agent_id),
            contact_id: keep(basic, &self.contact_id),
            status: keep(basic, &self.status),
            ended_reason: keep(basic, &self.ended_reason),
            agent_name: keep(personal, &self.agent_name),
            customer_name: keep(personal, &self.customer_name),
            customer_number: keep(personal, &self.customer_number),
            agent_number: keep(personal, &self.agent_number),
            recording_url: keep(personal, &self.recording_url),
        }
    }

    /// Fills `duration_secs` from the two times when the platform gave both but no
    /// duration: arithmetic on what the source said, not a guess.
    pub(crate) fn complete(&mut self, started_at: Option<Timestamp>) {
        if self.duration_secs.is_none()
            && let (Some(start), Some(end)) = (started_at, self.ended_at)
            && end >= start
        {
            self.duration_secs = Some(end.duration_since(start).as_secs_f64());
        }
    }

    /// Who the customer is on a call with two numbers, by direction: the caller on an
    /// inbound call, the callee on an outbound one. Without a direction neither is known.
    pub(crate) fn set_numbers(&mut self, from: Option<&str>, to: Option<&str>) {
        let clean = |n: Option<&str>| n.map(str::trim).filter(|n| !n.is_empty()).map(str::to_string);
        let (customer, agent) = match self.direction {
            Some(Direction::Inbound) => (from, to),
            Some(Direction::Outbound) => (to, from),
            _ => (None, None),
        };
        self.customer_number = self.customer_number.take().or_else(|| clean(customer));
        self.agent_number = self.agent_number.take().or_else(|| clean(agent));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_direction_is_named_as_reports_write_it() {
        for direction in [Direction::Inbound, Direction::Outbound, Direction::Web] {
            assert_eq!(serde_json::to_value(direction).unwrap(), direction.name());
        }
        assert_eq!(Direction::Outbound.name(), "outbound");
    }

    fn sample() -> CallMetadata {
        CallMetadata {
            platform: Some("Vapi".into()),
            call_id: Some("c1".into()),
            direction: Some(Direction::Inbound),
            customer_number: Some("+14155550142".into()),
            recording_url: Some("https://example.invalid/r.wav".into()),
            status: Some("ended".into()),
            ..CallMetadata::default()
        }
    }

    #[test]
    fn basic_level_hides_numbers_names_and_urls() {
        let m = sample();
        let basic: Vec<&str> = m.fields(None, MetadataLevel::Basic).iter().map(|(n, _)| *n).collect();
        assert!(basic.contains(&"direction") && basic.contains(&"status"));
        assert!(!basic.contains(&"customer_number") && !basic.contains(&"recording_url"));
        assert!(m.fields(None, MetadataLevel::None).is_empty());
        assert_eq!(m.fields(None, MetadataLevel::All).len(), FIELDS.len());
        let visible = m.visible(MetadataLevel::Basic);
        assert_eq!(visible.customer_number, None);
        assert_eq!(visible.call_id.as_deref(), Some("c1"));
        assert_eq!(m.visible(MetadataLevel::None), CallMetadata::default());
    }

    #[test]
    fn numbers_follow_the_direction_and_are_never_guessed_without_it() {
        let mut m = CallMetadata {
            direction: Some(Direction::Outbound),
            ..CallMetadata::default()
        };
        m.set_numbers(Some("+1800"), Some("+1415"));
        assert_eq!(m.customer_number.as_deref(), Some("+1415"));
        assert_eq!(m.agent_number.as_deref(), Some("+1800"));
        let mut unknown = CallMetadata::default();
        unknown.set_numbers(Some("+1800"), Some("+1415"));
        assert_eq!(unknown.customer_number, None);
    }

    #[test]
    fn duration_is_end_minus_start_only_when_both_are_known() {
        let start: Timestamp = "2024-06-10T15:02:11Z".parse().unwrap();
        let mut m = CallMetadata {
            ended_at: Some("2024-06-10T15:02:55.200Z".parse().unwrap()),
            ..CallMetadata::default()
        };
        m.complete(Some(start));
        assert_eq!(m.duration_secs, Some(44.2));
        let mut none = CallMetadata::default();
        none.complete(Some(start));
        assert_eq!(none.duration_secs, None);
    }

    #[test]
    fn directions_in_platform_spellings() {
        assert_eq!(Direction::parse("inboundPhoneCall"), Some(Direction::Inbound));
        assert_eq!(Direction::parse("telephony_outbound"), Some(Direction::Outbound));
        assert_eq!(Direction::parse("web_call"), Some(Direction::Web));
        assert_eq!(Direction::parse("phone_call"), None);
    }
}
