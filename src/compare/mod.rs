//! Comparing finished reports: with each other (`diff`), with hand labels (`eval`), and
//! the agreement statistics both need (transitions, confusion, chance-corrected agreement,
//! calibration).
//!
//! Pure: these functions take [`Report`](crate::report::Report)s and label rows already
//! read into memory and return plain data that `render` turns into a document and that
//! serialises as the JSON output. The commands in `cmd/` read the files, call them and
//! print, so every number the user sees is testable without a model, a file or a terminal.

pub mod agreement;
pub mod calibration;
pub mod defs;
pub mod diff;
pub mod eval;
pub mod labels;
pub mod render;
pub mod threshold;
