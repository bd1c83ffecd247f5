//! The scheduler: work units on a dedicated rayon pool, progress, cancellation.
