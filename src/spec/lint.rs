//! Lint rules for metric files.
