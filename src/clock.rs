//! The daemon's clock: real time plus an offset the demo can advance, so a
//! 72-hour hold window passes in a second. Everything that stamps or decides
//! with `now` (clicks, shares, decisions, postback due times) reads this one
//! clock and passes it down. It depends on nothing.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

/// Wall-clock unix seconds, for what is not business time (logs, the CLI).
pub fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

fn unix_now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

#[derive(Clone, Default, Debug)]
pub struct Clock {
    offset: Arc<AtomicI64>,
}

impl Clock {
    pub fn new() -> Clock {
        Clock::default()
    }

    /// Unix seconds.
    pub fn now(&self) -> i64 {
        unix_now() + self.offset.load(Ordering::Relaxed)
    }

    /// Unix milliseconds, for postback due times.
    pub fn now_ms(&self) -> i64 {
        unix_now_ms() + self.offset.load(Ordering::Relaxed) * 1000
    }

    /// Moves this clock (and every clone) forward.
    pub fn advance(&self, secs: i64) {
        self.offset.fetch_add(secs, Ordering::Relaxed);
    }
}
