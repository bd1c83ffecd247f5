//! Call ids made unique as the scan finds them: the first call keeps its id, a later one
//! with the same id takes the first `#N` no call before it has, with a warning. Decided in
//! input order, from what came before, since a run asks each call as the scan makes it.

use std::collections::HashMap;

/// Ids given so far, each with the source of its first call, for the duplicates' warnings.
#[derive(Default)]
pub(super) struct UniqueIds {
    first_seen: HashMap<Box<str>, Box<str>>,
    /// Where each id's search for a free suffix goes on from: starting again at 2 made n
    /// copies of one call cost n² lookups (10,000 copies: 24 s of scan).
    next_suffix: HashMap<Box<str>, u64>,
}

impl UniqueIds {
    /// Takes `id` for the call from `source`; when an earlier call has it, the first free
    /// `id#N` instead, with the warning that says so.
    pub(super) fn claim(&mut self, id: &str, source: &str) -> Option<(String, String)> {
        let Some(first) = self.first_seen.get(id) else {
            self.first_seen.insert(id.into(), source.into());
            return None;
        };
        let warning_first = first.clone();
        let next = self.next_suffix.entry(id.into()).or_insert(2);
        let (n, unique) = (*next..)
            .map(|n| (n, format!("{id}#{n}")))
            .find(|(_, unique)| !self.first_seen.contains_key(unique.as_str()))
            .expect("an unused suffix exists");
        *next = n + 1;
        self.first_seen.insert(unique.as_str().into(), source.into());
        let warning = format!(
            "duplicate call id `{id}`: {source} has the same id as {warning_first}; it is `{unique}` in this run"
        );
        Some((unique, warning))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The ids `UniqueIds` gives calls from `sources` (id, source) in order, and its warnings.
    fn claimed(calls: &[(&str, &str)]) -> (Vec<String>, Vec<String>) {
        let mut ids = UniqueIds::default();
        let mut warnings = Vec::new();
        let given = calls
            .iter()
            .map(|(id, source)| match ids.claim(id, source) {
                Some((unique, warning)) => {
                    warnings.push(warning);
                    unique
                }
                None => id.to_string(),
            })
            .collect();
        (given, warnings)
    }

    #[test]
    fn a_later_duplicate_id_gets_a_suffix_no_earlier_call_has() {
        let (ids, warnings) = claimed(&[("a", "x.json"), ("a", "y.json"), ("a#2", "z.json"), ("a", "w.json")]);
        // z.json's own id was given to y.json before z.json was read: it is the duplicate.
        assert_eq!(ids, ["a", "a#2", "a#2#2", "a#3"]);
        assert_eq!(warnings.len(), 3);
        assert!(
            warnings[0].contains("y.json has the same id as x.json"),
            "{}",
            warnings[0]
        );
        assert!(
            warnings[1].contains("z.json has the same id as y.json"),
            "{}",
            warnings[1]
        );
    }

    #[test]
    fn many_copies_of_one_id_are_numbered_in_order_around_taken_suffixes() {
        let mut calls: Vec<(String, String)> = vec![("call#3".into(), "taken.json".into())];
        calls.extend((0..5_000).map(|i| ("call".to_string(), format!("{i}.json"))));
        let calls: Vec<(&str, &str)> = calls.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
        let (ids, warnings) = claimed(&calls);
        assert_eq!(warnings.len(), 4_999);
        assert_eq!(ids[2], "call#2");
        assert_eq!(ids[3], "call#4", "call#3 is another call's own id");
        assert_eq!(ids[5_000], "call#5001");
        let unique: std::collections::HashSet<&str> = ids.iter().map(String::as_str).collect();
        assert_eq!(unique.len(), ids.len());
    }
}
