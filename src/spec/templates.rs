//! Built-in starter metric files for `postcall init`.
//!
//! Each template is a commented YAML file kept beside this module (so it reads and diffs
//! like the file the user will get) and compiled in. Tests check that every template
//! validates with no warnings, so a starter file never opens with a complaint.

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

/// Every template; the first is the default.
pub const TEMPLATES: &[Template] = &[
    Template {
        name: "basic",
        about: "call outcome, satisfaction, follow-up needed, issue category (as in the Smallest AI Atoms examples)",
        text: include_str!("templates/basic.yaml"),
    },
    Template {
        name: "dialgen-defaults",
        about: "summary, intent, sentiment, key points, action items, call status, callback, promised date, follow-up, ticket",
        text: include_str!("templates/dialgen-defaults.yaml"),
    },
    Template {
        name: "qa",
        about: "agent quality checks: greeting, caller verified (when applicable), resolved without handoff, compliance disclosure",
        text: include_str!("templates/qa.yaml"),
    },
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
    use crate::spec::parse_spec;

    #[test]
    fn every_template_validates_without_warnings() {
        for t in TEMPLATES {
            let (spec, warnings) = parse_spec(t.text, t.name).unwrap_or_else(|e| panic!("{}: {e:?}", t.name));
            assert!(warnings.is_empty(), "{}: {warnings:?}", t.name);
            assert!(!spec.metrics.is_empty());
            assert!(t.text.contains("# llm:"), "{} lacks a commented llm section", t.name);
        }
    }

    #[test]
    fn the_default_template_exists() {
        assert!(find(DEFAULT_TEMPLATE).is_some());
        assert_eq!(names()[0], DEFAULT_TEMPLATE);
    }
}
