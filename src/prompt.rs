//! Turning a call and a metric group into chat messages.
