//! Shards: one run's calls split over independent processes on a job engine (a Kubernetes
//! Indexed Job, an AWS Batch array job, a CI matrix), joined afterwards by `postcall merge`.
//!
//! A call belongs to shard `blake3(call_id) mod N`, not to a position in the file order, so
//! adding files to an archive moves no existing call to another shard. Every shard reads
//! the whole archive and selects the same calls (`--limit`, `--sample` apply before the
//! split), so each can record the [`Archive`] fingerprint of that selection: `merge` refuses
//! parts whose fingerprints differ, since they were not cut from the same set of calls.

use serde::{Deserialize, Serialize};

/// The variables `--shard auto` reads, in the order it tries them.
pub const ENV_EXPLICIT: &str = "POSTCALL_SHARD";
pub const ENV_COUNT: &str = "POSTCALL_SHARD_COUNT";
pub const ENV_KUBERNETES: &str = "JOB_COMPLETION_INDEX";
pub const ENV_AWS_BATCH: &str = "AWS_BATCH_JOB_ARRAY_INDEX";

/// Which part of the calls a run takes: shard `index` (0-based) of `count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    pub index: u32,
    pub count: u32,
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl Shard {
    /// Parses `I/N` (0 ≤ I < N); `what` names where the text came from, for the error.
    pub fn parse(text: &str, what: &str) -> Result<Shard, String> {
        let usage =
            || format!("{what} is `{text}`; write the shard as I/N with 0 ≤ I < N, e.g. 0/4 for the first of four");
        let (index, count) = text.trim().split_once('/').ok_or_else(usage)?;
        // Read wider than a shard is, so that too many shards is said as that.
        let index: u64 = index.trim().parse().map_err(|_| usage())?;
        let count: u64 = count.trim().parse().map_err(|_| usage())?;
        if count == 0 || index >= count {
            return Err(usage());
        }
        let (Ok(index), Ok(count)) = (u32::try_from(index), u32::try_from(count)) else {
            return Err(format!(
                "{what} is `{text}`; a run splits into at most {} shards",
                u32::MAX
            ));
        };
        Ok(Shard { index, count })
    }

    /// Whether the call with this id is in this shard.
    pub fn holds(&self, call_id: &str) -> bool {
        bucket(call_id, self.count) == self.index
    }
}

/// The shard of `call_id` among `count`: the first 8 bytes of its blake3 hash, mod `count`.
pub fn bucket(call_id: &str, count: u32) -> u32 {
    let hash = blake3::hash(call_id.as_bytes());
    let first = u64::from_le_bytes(hash.as_bytes()[..8].try_into().expect("8 bytes"));
    (first % u64::from(count)) as u32
}

/// What `--shard` said: a shard, or `auto` (from the job engine's environment).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShardArg {
    Fixed(Shard),
    Auto,
}

/// clap's parser for `--shard`.
pub fn parse_arg(text: &str) -> Result<ShardArg, String> {
    if text.eq_ignore_ascii_case("auto") {
        return Ok(ShardArg::Auto);
    }
    Shard::parse(text, "--shard").map(ShardArg::Fixed)
}

/// The shard `--shard auto` means, from `env` (a lookup, so tests need not touch the
/// process environment): `POSTCALL_SHARD=I/N`, else an engine's index variable with the
/// count from `--shard-count` or `POSTCALL_SHARD_COUNT`.
pub fn from_env(count_flag: Option<u32>, env: impl Fn(&str) -> Option<String>) -> anyhow::Result<Shard> {
    if let Some(text) = env(ENV_EXPLICIT).filter(|t| !t.trim().is_empty()) {
        return Shard::parse(&text, ENV_EXPLICIT).map_err(anyhow::Error::msg);
    }
    let Some((name, index)) = [ENV_KUBERNETES, ENV_AWS_BATCH]
        .into_iter()
        .find_map(|name| env(name).map(|value| (name, value)))
    else {
        anyhow::bail!(
            "--shard auto found no shard index: set {ENV_EXPLICIT}=I/N, or run as a Kubernetes Indexed Job \
             ({ENV_KUBERNETES}) or an AWS Batch array job ({ENV_AWS_BATCH}); or pass --shard I/N"
        );
    };
    let index: u32 = index
        .trim()
        .parse()
        .map_err(|_| anyhow::anyhow!("{name} is `{index}`, not a shard index (0, 1, 2, …)"))?;
    let count = match count_flag {
        Some(count) => count,
        None => {
            let text = env(ENV_COUNT).ok_or_else(|| {
                anyhow::anyhow!(
                    "--shard auto read the index {index} from {name} but not how many shards there are: pass \
                     --shard-count N (the Job's completions, the array size) or set {ENV_COUNT}"
                )
            })?;
            text.trim()
                .parse()
                .map_err(|_| anyhow::anyhow!("{ENV_COUNT} is `{text}`, not a number of shards"))?
        }
    };
    Shard::parse(
        &format!("{index}/{count}"),
        &format!("the shard from {name} and the count"),
    )
    .map_err(anyhow::Error::msg)
}

/// The calls a run was chosen from (after `--limit` / `--sample`, before `--shard`): how many,
/// and a fingerprint over their ids and contents.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Archive {
    pub calls: usize,
    pub fingerprint: String,
}

/// An [`Archive`]'s fingerprint, made as the calls are found: a sum of each call's hash, so
/// it does not depend on the order they came in (nor needs them all at once), and a call
/// added, removed or changed changes it.
#[derive(Debug, Clone, Default)]
pub struct Fingerprint {
    calls: usize,
    sum: [u64; 4],
}

impl Fingerprint {
    /// Counts in the call `id` whose turns hash to `digest`.
    pub fn add(&mut self, id: &str, digest: u64) {
        let mut hasher = blake3::Hasher::new();
        hasher.update(&(id.len() as u64).to_le_bytes());
        hasher.update(id.as_bytes());
        hasher.update(&digest.to_le_bytes());
        let hash = hasher.finalize();
        for (lane, bytes) in self.sum.iter_mut().zip(hash.as_bytes().chunks_exact(8)) {
            *lane = lane.wrapping_add(u64::from_le_bytes(bytes.try_into().expect("8 bytes")));
        }
        self.calls += 1;
    }

    pub fn archive(&self) -> Archive {
        let mut hasher = blake3::Hasher::new();
        hasher.update(&(self.calls as u64).to_le_bytes());
        for lane in self.sum {
            hasher.update(&lane.to_le_bytes());
        }
        Archive {
            calls: self.calls,
            fingerprint: hasher.finalize().to_hex()[..32].to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| vars.iter().find(|(n, _)| *n == name).map(|(_, v)| v.to_string())
    }

    #[test]
    fn shards_parse_and_refuse_what_cannot_be_a_shard() {
        assert_eq!(parse_arg("1/4"), Ok(ShardArg::Fixed(Shard { index: 1, count: 4 })));
        assert_eq!(parse_arg("AUTO"), Ok(ShardArg::Auto));
        for bad in ["4/4", "1/0", "1", "a/4", "-1/4", ""] {
            let err = parse_arg(bad).unwrap_err();
            assert!(err.contains("I/N"), "{bad}: {err}");
        }
        let too_many = parse_arg("0/4294967296").unwrap_err();
        assert!(too_many.contains("at most 4294967295 shards"), "{too_many}");
        assert_eq!(
            parse_arg("4294967294/4294967295"),
            Ok(ShardArg::Fixed(Shard {
                index: u32::MAX - 1,
                count: u32::MAX
            }))
        );
    }

    #[test]
    fn every_call_is_in_exactly_one_shard_and_stays_there_when_calls_are_added() {
        let ids: Vec<String> = (0..2000).map(|i| format!("call-{i}")).collect();
        let shards: Vec<Shard> = (0..4).map(|index| Shard { index, count: 4 }).collect();
        let mut sizes = [0usize; 4];
        for id in &ids {
            let holders: Vec<&Shard> = shards.iter().filter(|s| s.holds(id)).collect();
            assert_eq!(holders.len(), 1, "{id}");
            sizes[holders[0].index as usize] += 1;
        }
        // Roughly even: each within 15 % of 500.
        assert!(sizes.iter().all(|&n| (425..=575).contains(&n)), "{sizes:?}");
        // The shard depends on the id alone, not on the other calls.
        assert_eq!(bucket("call-7", 4), bucket("call-7", 4));
    }

    #[test]
    fn auto_reads_each_engine_and_says_what_is_missing() {
        let k8s = [(ENV_KUBERNETES, "2")];
        assert_eq!(from_env(Some(3), env(&k8s)).unwrap(), Shard { index: 2, count: 3 });
        let batch = [(ENV_AWS_BATCH, "0"), (ENV_COUNT, "5")];
        assert_eq!(from_env(None, env(&batch)).unwrap(), Shard { index: 0, count: 5 });
        let explicit = [(ENV_EXPLICIT, "1/2"), (ENV_KUBERNETES, "7")];
        assert_eq!(from_env(None, env(&explicit)).unwrap(), Shard { index: 1, count: 2 });

        let none = from_env(Some(2), env(&[])).unwrap_err().to_string();
        assert!(none.contains(ENV_KUBERNETES) && none.contains(ENV_AWS_BATCH), "{none}");
        let no_count = from_env(None, env(&k8s)).unwrap_err().to_string();
        assert!(no_count.contains("--shard-count"), "{no_count}");
        let too_big = from_env(Some(2), env(&k8s)).unwrap_err().to_string();
        assert!(too_big.contains("2/2"), "{too_big}");
    }

    #[test]
    fn the_fingerprint_is_of_the_calls_not_their_order() {
        let of = |calls: &[(&str, u64)]| {
            let mut fingerprint = Fingerprint::default();
            for (id, digest) in calls {
                fingerprint.add(id, *digest);
            }
            fingerprint.archive()
        };
        let archive = of(&[("a", 1), ("b", 2), ("c", 3)]);
        assert_eq!(archive.calls, 3);
        assert_eq!(archive, of(&[("c", 3), ("a", 1), ("b", 2)]));
        // A changed transcript, a renamed call, one call fewer or one twice: another archive.
        for other in [
            of(&[("a", 1), ("b", 2), ("c", 4)]),
            of(&[("a", 1), ("b", 2), ("d", 3)]),
            of(&[("a", 1), ("b", 2)]),
            of(&[("a", 1), ("b", 2), ("c", 3), ("c", 3)]),
        ] {
            assert_ne!(other.fingerprint, archive.fingerprint);
        }
    }
}
