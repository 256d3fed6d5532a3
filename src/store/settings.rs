//! (filled in by its owner; see store/mod.rs)
