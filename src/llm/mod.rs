//! The endpoint client (OpenAI-compatible), request building and response parsing.
