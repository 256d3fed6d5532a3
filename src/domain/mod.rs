//! Pure domain rules: no I/O, no clock (callers pass `now`), no Telegram, HTTP or
//! network types. Everything here is testable as plain functions.

pub mod conversion;
pub mod offer;
pub mod payment;
pub mod relay;
pub mod schedule;
pub mod task;
pub mod tme;
pub mod token;
