//! The pages of a listing, followed by their continuation tokens, checked to go forward.
//!
//! A listing is a page at a time: each answer names the token of the next page, and
//! object_store asks for pages until an answer names none. A store that names a page it
//! already gave (the same token again, or a cycle of them) — broken, or hostile — has that
//! loop ask forever, and the listing collect the same keys over and over until memory runs
//! out. object_store does not check; the client postcall gives it (`storage::client`) sees
//! every request, so it does: a page asked for again after the store answered it, in the
//! same listing, is a [`GoesRound`] error instead of a request.
//!
//! A listing is known by its request without the token (the bucket, prefix, delimiter);
//! its first page, asked with no token, starts it afresh, so listing the same prefix twice
//! is not taken for a loop. A page whose request failed is not counted: its retry asks for
//! it again, rightly.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

use object_store::client::HttpRequest;

/// The query parameters that carry a listing's continuation token: S3's and GCS's
/// (`ListObjectsV2`), Azure's (`List Blobs`).
const TOKENS: [&str; 2] = ["continuation-token", "marker"];

/// Azure's offset, which only a listing's first page carries: not part of which listing.
const FIRST_PAGE_ONLY: &str = "startFrom";

/// The store named a page of this listing that it had already given.
#[derive(Debug, thiserror::Error)]
#[error(
    "the store's listing went round: it named a page it had already given as the next (after {pages} pages); \
     its listing does not end"
)]
pub struct GoesRound {
    pub pages: usize,
}

/// The tokens of each listing in progress whose pages the store answered.
#[derive(Debug, Default)]
pub struct Pages(Mutex<HashMap<String, HashSet<String>>>);

/// A listing page request: the listing it belongs to, and its token (none: the first page).
#[derive(Debug, PartialEq, Eq)]
pub struct Page {
    listing: String,
    token: Option<String>,
}

impl Page {
    /// The page `request` asks for, if it is a listing's (a `GET` with a list's query).
    pub fn of(request: &HttpRequest) -> Option<Page> {
        // An object's GET has no query: only a listing's is parsed.
        let listing_query = request.uri().query().is_some_and(|query| query.contains("list"));
        if request.method() != reqwest::Method::GET || !listing_query {
            return None;
        }
        let url = reqwest::Url::parse(&request.uri().to_string()).ok()?;
        let (mut listing, mut token, mut rest) = (false, None, Vec::new());
        for (name, value) in url.query_pairs() {
            listing |= (name == "list-type" && value == "2") || (name == "comp" && value == "list");
            if TOKENS.contains(&name.as_ref()) {
                token = Some(value.into_owned());
            } else if name != FIRST_PAGE_ONLY {
                rest.push(format!("{name}={value}"));
            }
        }
        if !listing {
            return None;
        }
        rest.sort_unstable();
        let listing = format!("{}{}?{}", url.authority(), url.path(), rest.join("&"));
        Some(Page { listing, token })
    }
}

impl Pages {
    /// Before `page` is asked for: the first page starts its listing afresh; a page the
    /// store already answered in this listing is refused.
    pub fn asking(&self, page: &Page) -> Result<(), GoesRound> {
        let mut listings = self.0.lock().unwrap_or_else(|e| e.into_inner());
        match &page.token {
            None => {
                listings.remove(&page.listing);
                Ok(())
            }
            Some(token) => match listings.get(&page.listing) {
                Some(answered) if answered.contains(token) => Err(GoesRound {
                    pages: answered.len() + 1,
                }),
                _ => Ok(()),
            },
        }
    }

    /// The store answered `page`.
    pub fn answered(&self, page: Page) {
        let mut listings = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let answered = listings.entry(page.listing).or_default();
        if let Some(token) = page.token {
            answered.insert(token);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use object_store::client::HttpRequestBody;

    fn request(method: reqwest::Method, url: &str) -> HttpRequest {
        let mut request = HttpRequest::new(HttpRequestBody::empty());
        *request.method_mut() = method;
        *request.uri_mut() = url.parse().unwrap();
        request
    }

    fn page(url: &str) -> Page {
        Page::of(&request(reqwest::Method::GET, url)).unwrap()
    }

    #[test]
    fn only_listing_requests_are_pages_and_the_token_is_not_part_of_the_listing() {
        let get = |url: &str| Page::of(&request(reqwest::Method::GET, url));
        assert_eq!(get("http://h/b/calls/a.json"), None);
        assert_eq!(get("http://h/b/calls/a.json?versionId=list"), None);
        assert_eq!(Page::of(&request(reqwest::Method::PUT, "http://h/b?list-type=2")), None);
        let first = page("http://h:9/b?list-type=2&prefix=calls%2F");
        let next = page("http://h:9/b?prefix=calls%2F&continuation-token=T%2B1&list-type=2");
        assert_eq!(first.listing, next.listing);
        assert_eq!((first.token, next.token.as_deref()), (None, Some("T+1")));
        let azure = page("http://h/acct/c?restype=container&comp=list&marker=M");
        assert_eq!(azure.token.as_deref(), Some("M"));
        assert_ne!(page("http://h/b?list-type=2&prefix=other%2F").listing, first.listing);
    }

    #[test]
    fn a_listing_that_names_an_answered_page_again_is_refused_and_a_new_listing_is_not() {
        let pages = Pages::default();
        let ask = |url: &str| {
            let asked = page(url);
            pages.asking(&asked).map(|()| pages.answered(asked))
        };
        let first = "http://h/b?list-type=2&prefix=p%2F";
        ask(first).unwrap();
        ask(&format!("{first}&continuation-token=A")).unwrap();
        ask(&format!("{first}&continuation-token=B")).unwrap();
        let round = ask(&format!("{first}&continuation-token=A")).unwrap_err();
        assert_eq!(round.pages, 3);
        assert!(round.to_string().contains("does not end"), "{round}");
        // Another prefix's listing is its own.
        ask("http://h/b?list-type=2&prefix=q%2F&continuation-token=A").unwrap();
        // The same prefix listed again, from its first page, is not a loop.
        ask(first).unwrap();
        ask(&format!("{first}&continuation-token=A")).unwrap();
    }

    #[test]
    fn a_page_whose_request_failed_may_be_asked_again() {
        let pages = Pages::default();
        let asked = page("http://h/b?list-type=2&continuation-token=A");
        pages.asking(&asked).unwrap();
        // No answer (a 503, a reset): the retry asks for the same page.
        pages.asking(&asked).unwrap();
        pages.answered(asked);
        assert!(
            pages
                .asking(&page("http://h/b?list-type=2&continuation-token=A"))
                .is_err()
        );
    }
}
