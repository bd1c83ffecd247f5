//! Built-in starter metric files for `postcall init`.
//!
//! Each template is a commented YAML file kept beside this module (so it reads and diffs
//! like the file the user will get) and compiled in: postcall's own format, or a
//! platform's (`atoms`, `polyai`) for teams that keep their definitions in that shape.
//! Tests check that every template validates with no warnings, so a starter file never
//! opens with a complaint, and that each says how to choose the model.

/// A starter metric file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Template {
    /// What `--template` takes.
    pub name: &'static str,
    /// One line for `postcall init --list`.
    pub about: &'static str,
    /// The file's contents.
    pub text: &'static str,
}

/// A template whose file is `templates/<name>.yaml`, beside this module.
macro_rules! template {
    ($name:literal, $about:literal) => {
        Template {
            name: $name,
            about: $about,
            text: include_str!(concat!("templates/", $name, ".yaml")),
        }
    };
}

/// Every template; the first is the default.
pub const TEMPLATES: &[Template] = &[
    template!(
        "basic",
        "call outcome, satisfaction, follow-up needed, issue category (as in the Smallest AI Atoms examples)"
    ),
    template!(
        "atoms",
        "Smallest AI Atoms' own shape (postCallAnalyticsConfig): outcome, satisfaction, follow-up, category, callback time"
    ),
    template!(
        "dialgen-defaults",
        "Dialgen's twelve default metrics: summary, intent, sentiment, confidence, key points, action items, call status, ..."
    ),
    template!(
        "polyai",
        "PolyAI-style definitions (name + definition): booking completed, caller authenticated, resolved, handoff reason"
    ),
    template!(
        "qa",
        "agent quality checks: greeting, caller verified (when applicable), resolved without handoff, compliance disclosure"
    ),
];

/// The template `init` uses without `--template`.
pub const DEFAULT_TEMPLATE: &str = "basic";

/// The template called `name`, if there is one.
pub fn find(name: &str) -> Option<&'static Template> {
    TEMPLATES.iter().find(|t| t.name == name)
}

/// Template names, for `--template`'s accepted values.
pub fn names() -> Vec<&'static str> {
    TEMPLATES.iter().map(|t| t.name).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::{Dialect, parse_spec};

    #[test]
    fn every_template_validates_without_warnings() {
        for t in TEMPLATES {
            let (spec, warnings) = parse_spec(t.text, t.name).unwrap_or_else(|e| panic!("{}: {e:?}", t.name));
            assert!(warnings.is_empty(), "{}: {warnings:?}", t.name);
            assert!(!spec.metrics.is_empty());
            // A platform's shape has no `llm:` section; those templates say which flags choose the model.
            let says_how = match spec.dialect {
                Dialect::Postcall => t.text.contains("# llm:"),
                _ => t.text.contains("--model"),
            };
            assert!(says_how, "{} does not say how to choose the model", t.name);
        }
    }

    #[test]
    fn platform_templates_are_in_their_platforms_shapes() {
        let dialect = |name: &str| parse_spec(find(name).unwrap().text, name).unwrap().0.dialect;
        assert_eq!(dialect("atoms"), Dialect::Atoms);
        assert_eq!(dialect("polyai"), Dialect::Polyai);
        assert_eq!(dialect("dialgen-defaults"), Dialect::Postcall);
    }

    /// Dialgen's default metrics, as its custom-metrics guide lists them (name, type); the
    /// summary is postcall's `summary:`, the rest are metrics whose ids are the snake_case names.
    #[test]
    fn dialgen_defaults_are_dialgens_twelve_in_order_with_their_types() {
        use crate::report::platform::shapes::dialgen_type;
        let (spec, _) = parse_spec(find("dialgen-defaults").unwrap().text, "t").unwrap();
        assert!(spec.summary.is_some(), "summary");
        let listed = [
            ("intent", "string"),
            ("sentiment", "string"),
            ("confidence", "number"),
            ("keyPoints", "array"),
            ("actionItems", "array"),
            ("callStatus", "string"),
            ("callbackRequired", "string"),
            ("promisedDate", "string"),
            ("selfEvaluation", "string"),
            ("followUpAction", "string"),
            ("ticketRaised", "string"),
        ];
        let got: Vec<(String, &str)> = spec
            .metrics
            .iter()
            .map(|m| (m.id.clone(), dialgen_type(&m.kind)))
            .collect();
        let want: Vec<(String, &str)> = listed
            .iter()
            .map(|(n, t)| (crate::spec::lint::snake_case(n), *t))
            .collect();
        assert_eq!(got, want);
        let status = spec.metrics.iter().find(|m| m.id == "call_status").unwrap();
        assert_eq!(status.kind.choices().unwrap(), ["SUCCESS", "UNRESOLVED", "ESCALATION"]);
    }

    #[test]
    fn the_default_template_exists() {
        assert!(find(DEFAULT_TEMPLATE).is_some());
        assert_eq!(names()[0], DEFAULT_TEMPLATE);
    }
}
