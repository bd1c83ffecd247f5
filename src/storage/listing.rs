//! [`Listing`]: what a prefix holds, kept while its objects are read.
//!
//! A bucket is listed whole before its first read (the listing is sorted by key), and the
//! list is held until the last read: where a local directory is walked one directory at a
//! time, a store's archive is all in memory at once. One URL an object (a `String` and
//! its text, some 100 bytes) made that the part of the `s3://` memory gap that grew with the
//! archive, so the keys are kept in one buffer, and a URL is made only when its object is
//! read.

use object_store::path::Path as Key;

use super::url::ObjectUrl;

/// Every object under a prefix, sorted by key: its key and its size.
#[derive(Debug)]
pub struct Listing {
    /// What was listed: each object's URL is its bucket's with the object's key.
    listed: ObjectUrl,
    /// The keys, one after another.
    keys: String,
    /// Where each key ends in `keys`.
    ends: Vec<usize>,
    sizes: Vec<u64>,
}

impl Listing {
    /// The objects `found` under `listed`, in any order.
    pub(super) fn new(listed: &ObjectUrl, mut found: Vec<(Key, u64)>) -> Listing {
        found.sort_unstable_by(|a, b| a.0.as_ref().cmp(b.0.as_ref()));
        let mut listing = Listing {
            listed: listed.clone(),
            keys: String::with_capacity(found.iter().map(|(key, _)| key.as_ref().len()).sum()),
            ends: Vec::with_capacity(found.len()),
            sizes: Vec::with_capacity(found.len()),
        };
        for (key, size) in found {
            listing.keys.push_str(key.as_ref());
            listing.ends.push(listing.keys.len());
            listing.sizes.push(size);
        }
        listing
    }

    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// The `index`-th object's key (in the bucket, not below the prefix).
    pub fn key(&self, index: usize) -> &str {
        let start = index.checked_sub(1).map_or(0, |before| self.ends[before]);
        &self.keys[start..self.ends[index]]
    }

    /// The `index`-th object's name: its key's last segment (`a.json`).
    pub fn file_name(&self, index: usize) -> &str {
        self.key(index).rsplit('/').next().unwrap_or_default()
    }

    pub fn size(&self, index: usize) -> u64 {
        self.sizes[index]
    }

    /// The `index`-th object's URL.
    pub fn url(&self, index: usize) -> ObjectUrl {
        self.listed.with_key(self.key(index))
    }

    /// Each object's key and size, in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, u64)> + '_ {
        (0..self.len()).map(|i| (self.key(i), self.size(i)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_listing_gives_back_each_key_and_size_sorted_and_the_url_of_each() {
        let listed = ObjectUrl::parse("s3://archive/calls").unwrap();
        let found = vec![
            (Key::from("calls/b/2.json"), 20),
            (Key::from("calls/a.json"), 10),
            (Key::from("calls/b/1.json"), 30),
        ];
        let listing = Listing::new(&listed, found);
        assert_eq!(listing.len(), 3);
        let all: Vec<(&str, u64)> = listing.iter().collect();
        assert_eq!(
            all,
            [("calls/a.json", 10), ("calls/b/1.json", 30), ("calls/b/2.json", 20)]
        );
        assert_eq!(listing.file_name(2), "2.json");
        assert_eq!(listing.url(1).to_string(), "s3://archive/calls/b/1.json");
        assert_eq!(listing.url(1).key(), "calls/b/1.json");
        assert!(Listing::new(&listed, Vec::new()).is_empty());
    }
}
