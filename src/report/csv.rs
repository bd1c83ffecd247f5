//! CSV for spreadsheets: one row per call, formula-safe cells.
