//! How often a report's evidence held up, per metric: the hallucination rate a QA lead
//! reads in `stats` and `eval`. One tally, so both commands count the same way.

use serde::Serialize;

use crate::report::{CallResult, MetricResult};

/// A metric's quotes over a set of calls.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct EvidenceTally {
    /// Answers (of any status but invalid) that cited at least one quote.
    pub answers_with_quotes: usize,
    pub quotes: usize,
    /// Quotes found in the transcript (in the cited turn or another).
    pub verified: usize,
    /// Of those, the ones found in another turn than the one cited.
    pub found_elsewhere: usize,
    /// `ok` values flagged because no quote of theirs was found (`evidence_unverified`).
    pub unverified_values: usize,
    /// `ok` values, the denominator of `unverified_values`.
    pub ok_values: usize,
}

impl EvidenceTally {
    /// The tally of metric `id` over `calls`; `None` when no answer cites anything and none
    /// is flagged (the metric was asked without evidence, or the report predates it).
    pub fn of<'a>(id: &str, calls: impl IntoIterator<Item = &'a CallResult>) -> Option<EvidenceTally> {
        let mut tally = EvidenceTally::default();
        for result in calls.into_iter().filter_map(|c| c.metrics.get(id)) {
            if matches!(result, MetricResult::Ok { .. }) {
                tally.ok_values += 1;
            }
            let Some(grounds) = result.grounds() else {
                continue;
            };
            if !grounds.evidence.is_empty() {
                tally.answers_with_quotes += 1;
            }
            tally.quotes += grounds.evidence.len();
            tally.verified += grounds.evidence.iter().filter(|e| e.verified).count();
            tally.found_elsewhere += grounds.evidence.iter().filter(|e| e.found_in_turn.is_some()).count();
            tally.unverified_values += usize::from(grounds.evidence_unverified);
        }
        (tally.quotes > 0 || tally.unverified_values > 0).then_some(tally)
    }

    /// Share of quotes found in the transcript.
    pub fn verified_share(&self) -> Option<f64> {
        (self.quotes > 0).then(|| self.verified as f64 / self.quotes as f64)
    }

    /// `41 of 45 quotes found (91 %), 2 in another turn; 3 of 40 values unverified`.
    pub fn describe(&self) -> String {
        let mut text = match self.verified_share() {
            Some(share) => format!(
                "{} of {} quotes found ({:.0} %)",
                self.verified,
                self.quotes,
                share * 100.0
            ),
            None => "no quotes".to_string(),
        };
        if self.found_elsewhere > 0 {
            text.push_str(&format!(", {} in another turn than cited", self.found_elsewhere));
        }
        text.push_str(&format!(
            "; {} of {} values unverified",
            self.unverified_values, self.ok_values
        ));
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::answer::testing::*;
    use crate::report::{Evidence, Grounds, Value};

    fn quoted(verified: &[(bool, Option<usize>)], flagged: bool) -> MetricResult {
        MetricResult::Ok {
            value: Value::Bool(true),
            confidence: None,
            reasoning: None,
            grounds: Grounds {
                evidence: verified
                    .iter()
                    .map(|&(verified, found_in_turn)| Evidence {
                        turn: Some(1),
                        quote: "q".into(),
                        verified,
                        found_in_turn,
                    })
                    .collect(),
                evidence_unverified: flagged,
                consistency: None,
                samples: None,
                confidence_unavailable: None,
            },
        }
    }

    #[test]
    fn quotes_found_elsewhere_and_flagged_values_are_counted_per_metric() {
        let calls = [
            call("a", vec![("m", quoted(&[(true, None), (false, None)], false))]),
            call("b", vec![("m", quoted(&[(false, None)], true))]),
            call(
                "c",
                vec![("m", quoted(&[(true, Some(4))], false)), ("other", ok(Value::Int(1)))],
            ),
            call("d", vec![("m", null())]),
        ];
        let tally = EvidenceTally::of("m", &calls).unwrap();
        assert_eq!(
            (
                tally.answers_with_quotes,
                tally.quotes,
                tally.verified,
                tally.found_elsewhere
            ),
            (3, 4, 2, 1)
        );
        assert_eq!((tally.unverified_values, tally.ok_values), (1, 3));
        assert_eq!(
            tally.describe(),
            "2 of 4 quotes found (50 %), 1 in another turn than cited; 1 of 3 values unverified"
        );
        assert_eq!(
            EvidenceTally::of("other", &calls),
            None,
            "no evidence asked, nothing to say"
        );
    }
}
