//! Format detection from a JSON document's structure.
