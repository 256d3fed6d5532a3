//! tgtrack: a self-hosted daemon that sells verified Telegram actions to CPA networks.
//!
//! Layout (see README "Architecture"):
//! - [`config`]: typed config, validated once.
//! - [`store`]: the one SQLite file; the only module with SQL.
//! - [`domain`]: pure rules (offers, schedule, conversions, postback policy).
//! - [`http`]: the tiny_http sidecar (clicks, shares, relay, health, metrics).
//! - [`postback`]: the durable outbox worker; its sender is the only user of ureq.

pub mod app;
pub mod bot;
pub mod cli;
pub mod clock;
pub mod config;
pub mod demo;
mod demo_ads;
pub mod domain;
pub mod engine;
pub mod http;
pub mod postback;
pub mod report;
pub mod service;
pub mod store;
