//! Shared inputs for the hooksig benchmarks.
