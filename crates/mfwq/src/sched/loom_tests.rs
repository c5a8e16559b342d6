//! Loom models of the scheduler (filled in below).
