//! A review page built from a report: the data it embeds and the HTML around it.
//!
//! The page is one file that opens from disk with no network: the stylesheet and the
//! script (this folder's `page.css` and `page.js`, postcall's own) are inlined, and the
//! report's data is one compact JSON document in a `<script type="application/json">`
//! that the script reads. Report text is untrusted (a call id or a reasoning can say
//! `</script><script>…`), so the JSON is written with `<`, `>` and `&` as `\u` escapes:
//! nothing in it can end the element or open a comment, and `JSON.parse` gives the text
//! back unchanged. The script only ever puts report text into the page as text nodes.
//!
//! The overview's numbers are `stats`' own ([`crate::stats`]), and a comparison is `diff`'s
//! ([`crate::compare::diff`]), so the page and the terminal never disagree.

use std::path::PathBuf;

use anyhow::Context as _;
use serde::Serialize;

use super::columns::Columns;
use super::transcripts::{TranscriptCap, Transcripts, embed};
use super::trends::{Trends, trends};
use crate::answer::MetricSet;
use crate::compare::diff::Diff;
use crate::report::{Report, RunHeader};
use crate::spec::MetricKind;
use crate::stats::{Stats, stats};

const TEMPLATE: &str = include_str!("page.html");
const STYLE: &str = include_str!("page.css");
const SCRIPT: &str = include_str!("page.js");

/// What a page shows besides the report.
#[derive(Debug, Clone, Default)]
pub struct PageOptions {
    /// `--by METRIC`: every chart split by one enum or boolean metric.
    pub by: Option<String>,
    pub transcripts: TranscriptCap,
    /// Where relative sources are looked for after the working directory.
    pub source_bases: Vec<PathBuf>,
}

/// The compared report and what `diff` found, for `view --compare BASE`.
pub struct Comparison<'a> {
    pub diff: &'a Diff,
}

#[derive(Serialize)]
struct PageData<'a> {
    report: &'a str,
    header: Option<&'a RunHeader>,
    metrics: Vec<MetricInfo<'a>>,
    stats: Stats,
    trends: Option<Trends>,
    calls: Columns<'a>,
    transcripts: Transcripts,
    #[serde(skip_serializing_if = "Option::is_none")]
    compare: Option<&'a Diff>,
}

#[derive(Serialize)]
struct MetricInfo<'a> {
    id: &'a str,
    #[serde(flatten)]
    kind: &'a MetricKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    prompt: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<&'a str>,
    /// True when the report had no definition and the type was read from the values.
    inferred: bool,
}

/// The whole page for `report` (read from `report_path`), as HTML text.
pub fn render_page(
    report_path: &str,
    report: &Report,
    options: &PageOptions,
    comparison: Option<Comparison<'_>>,
) -> anyhow::Result<String> {
    let set = MetricSet::of_report(report);
    let metrics: Vec<MetricInfo<'_>> = set
        .kinds
        .iter()
        .map(|(id, kind)| {
            let definition = set.definitions.get(id);
            MetricInfo {
                id,
                kind,
                prompt: definition.map(|d| d.prompt.as_str()).filter(|p| !p.is_empty()),
                description: definition.and_then(|d| d.description.as_deref()),
                inferred: set.inferred.contains(id),
            }
        })
        .collect();
    let ids: Vec<&str> = set.kinds.keys().map(String::as_str).collect();
    let data = PageData {
        report: report_path,
        header: report.header.as_ref(),
        stats: stats(report_path, report, options.by.as_deref())?,
        trends: trends(&report.calls, &set),
        calls: Columns::of(&report.calls, &ids),
        transcripts: embed(&report.calls, options.transcripts, &options.source_bases),
        compare: comparison.map(|c| c.diff),
        metrics,
    };
    let json = serde_json::to_string(&data).context("cannot encode the page's data")?;
    fill_template(report_path, report.header.as_ref(), &script_safe(&json))
}

/// JSON that cannot end a `<script>` element or open a comment inside one: `<`, `>` and
/// `&` only occur inside JSON strings, where their `\u` escapes mean the same.
pub(crate) fn script_safe(json: &str) -> String {
    let mut out = String::with_capacity(json.len() + json.len() / 64);
    for c in json.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            // Line and paragraph separators are legal in JSON, not in older script text.
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out
}

/// The report's facts the top of the page states: model, metric file, run time, whether
/// the run was complete. Rendered into the HTML itself, so they read even without script.
fn facts(header: Option<&RunHeader>) -> Vec<(&'static str, String)> {
    let Some(h) = header else {
        return vec![(
            "run",
            "unknown: the report has no run header (a .jsonl from an older postcall)".to_string(),
        )];
    };
    let sha: String = h.metrics_sha256.chars().take(12).collect();
    let mut facts = vec![
        ("model", h.model.clone()),
        ("metric file", format!("sha256 {sha}…")),
        ("started", h.started_at.to_string()),
    ];
    if let Some(end) = h.finished_at {
        let took = end.duration_since(h.started_at);
        facts.push(("run time", format!("{:.0} s", took.as_secs_f64())));
    }
    let complete = if h.complete {
        format!("complete: {} calls", h.calls)
    } else {
        let why = h.stopped.map(|s| format!(", {s}")).unwrap_or_default();
        format!(
            "INCOMPLETE: {} calls written, {} not done{why}",
            h.calls, h.calls_not_done
        )
    };
    facts.push(("completeness", complete));
    if h.failed_calls > 0 || h.invalid_values > 0 {
        facts.push((
            "problems",
            format!("{} failed calls, {} invalid values", h.failed_calls, h.invalid_values),
        ));
    }
    facts
}

fn fill_template(report_path: &str, header: Option<&RunHeader>, data: &str) -> anyhow::Result<String> {
    let mut env = minijinja::Environment::new();
    env.add_template("page.html", TEMPLATE)
        .context("the page template does not parse (a bug in postcall)")?;
    let template = env.get_template("page.html").context("the page template is missing")?;
    let context = minijinja::context! {
        title => report_path,
        facts => facts(header),
        style => minijinja::Value::from_safe_string(STYLE.to_string()),
        script => minijinja::Value::from_safe_string(SCRIPT.to_string()),
        data => minijinja::Value::from_safe_string(data.to_string()),
    };
    template
        .render(context)
        .context("cannot render the review page (a bug in postcall)")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::answer::testing::*;

    #[test]
    fn report_text_cannot_leave_the_data_element() {
        let hostile = "</script><script>alert(1)</script><!--";
        let safe = script_safe(&serde_json::to_string(hostile).unwrap());
        assert!(!safe.contains('<') && !safe.contains('>'), "{safe}");
        assert_eq!(serde_json::from_str::<String>(&safe).unwrap(), hostile);
    }

    #[test]
    fn the_script_and_style_cannot_end_their_own_elements() {
        for (name, text) in [("page.js", SCRIPT), ("page.css", STYLE)] {
            let lower = text.to_ascii_lowercase();
            assert!(
                !lower.contains("</script") && !lower.contains("</style") && !lower.contains("<!--"),
                "{name}"
            );
        }
    }

    #[test]
    fn a_page_has_its_facts_and_data_without_any_network_reference() {
        let report = report_of(
            vec![enum_metric("outcome", &["resolved", "escalated"])],
            vec![call("</script>c1", vec![("outcome", ok_text("resolved"))])],
        );
        let html = render_page("r.json", &report, &PageOptions::default(), None).unwrap();
        assert!(html.contains("<script type=\"application/json\" id=\"data\">"));
        assert!(html.contains("\\u003c/script\\u003ec1"));
        assert_eq!(
            html.matches("</script>").count(),
            2,
            "only the page's own two scripts end"
        );
        // Nothing is fetched: no linked files, no sources, no stylesheet imports.
        assert!(!html.contains("<link") && !html.contains(" src=") && !STYLE.contains("url("));
    }
}
