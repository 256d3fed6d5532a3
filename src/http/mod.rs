//! The HTTP sidecar (being built).
