//! Smallest AI Atoms and Dialgen metric definitions, converted to postcall's own.
