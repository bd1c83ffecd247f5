//! Built-in starter metric files for `postcall init`.
