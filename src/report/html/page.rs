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

use super::columns::{Columns, Table, Text};
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

/// How the calls' text (see [`Text`]) is embedded: JSON as it is, or gzip'd JSON in base64,
/// which the page reads with the browser's own `DecompressionStream` after its first view
/// is drawn. Reasonings and summaries are most of a page and gzip to a fifth or less, and a
/// 100k-call page must stay under 40 MB. The table's columns are always plain JSON, so the
/// page draws, filters and sorts without waiting.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum DataEncoding {
    /// JSON up to 8 MB of text, gzip past it.
    #[default]
    Auto,
    Json,
    Gzip,
}

/// Data up to this size stays plain JSON with `auto`: readable with a text editor, and
/// faster to open than to decompress.
const GZIP_OVER: usize = 8 * 1_000_000;

/// What a page shows besides the report.
#[derive(Debug, Clone, Default)]
pub struct PageOptions {
    pub encoding: DataEncoding,
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

/// What the page draws its first view from (see [`Table`]).
#[derive(Serialize)]
struct PageData<'c, 'a> {
    report: &'a str,
    header: Option<&'a RunHeader>,
    metrics: Vec<MetricInfo<'a>>,
    stats: Stats,
    trends: Option<Trends>,
    calls: Table<'c, 'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    compare: Option<&'a Diff>,
}

/// What the page reads after its first view is drawn (see [`Text`]).
#[derive(Serialize)]
struct TextData<'c, 'a> {
    calls: Text<'c, 'a>,
    transcripts: Transcripts,
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
    let columns = Columns::of(&report.calls, &ids);
    let data = PageData {
        report: report_path,
        header: report.header.as_ref(),
        stats: stats(
            report_path,
            report,
            options.by.as_deref(),
            crate::stats::consistency::DEFAULT_FLAKY_BELOW,
        )?,
        trends: trends(&report.calls, &set, options.by.as_deref()),
        calls: columns.table(),
        compare: comparison.map(|c| c.diff),
        metrics,
    };
    let text = TextData {
        calls: columns.text(),
        transcripts: embed(
            &report.calls,
            options.transcripts,
            &options.source_bases,
            &report
                .header
                .as_ref()
                .map(|h| h.transcripts.clone())
                .unwrap_or_default(),
        ),
    };
    let data = serde_json::to_string(&data).context("cannot encode the page's data")?;
    let text = serde_json::to_string(&text).context("cannot encode the page's data")?;
    let gzip = match options.encoding {
        DataEncoding::Auto => text.len() > GZIP_OVER,
        DataEncoding::Json => false,
        DataEncoding::Gzip => true,
    };
    let text = if gzip { gzip_base64(&text)? } else { script_safe(&text) };
    fill_template(report_path, report.header.as_ref(), &script_safe(&data), &text, gzip)
}

/// gzip, then base64: its alphabet has no `<`, so it cannot end the element either.
fn gzip_base64(json: &str) -> anyhow::Result<String> {
    use base64::Engine as _;
    use std::io::Write as _;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder
        .write_all(json.as_bytes())
        .context("cannot compress the page's data")?;
    let bytes = encoder.finish().context("cannot compress the page's data")?;
    Ok(base64::engine::general_purpose::STANDARD.encode(bytes))
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

fn fill_template(
    report_path: &str,
    header: Option<&RunHeader>,
    data: &str,
    text: &str,
    gzip: bool,
) -> anyhow::Result<String> {
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
        text => minijinja::Value::from_safe_string(text.to_string()),
        gzip => gzip,
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
    fn gzip_data_is_base64_of_the_json() {
        use base64::Engine as _;
        use std::io::Read as _;
        let encoded = gzip_base64(r#"{"a":"</script>"}"#).unwrap();
        let bytes = base64::engine::general_purpose::STANDARD.decode(&encoded).unwrap();
        let mut text = String::new();
        flate2::read::GzDecoder::new(&bytes[..])
            .read_to_string(&mut text)
            .unwrap();
        assert_eq!(text, r#"{"a":"</script>"}"#);
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
            3,
            "only the page's own three scripts end (data, text, code)"
        );
        // Nothing is fetched: no linked files, no sources, no stylesheet imports; the
        // style's only `url(…)`s name the page's own patterns (`url(#pattern-1)`).
        assert!(!html.contains("<link") && !html.contains(" src="));
        assert!(STYLE.matches("url(").count() > 0 && STYLE.matches("url(").count() == STYLE.matches("url(#").count());
    }
}
