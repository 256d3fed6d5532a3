//! What an answer means and what happens next: pure functions of the outcome,
//! the attempt count, `now` and a jitter draw, so they are tested as tables.

use std::time::Duration;

use crate::config::PostbackConfig;
use crate::store::postbacks::{PostbackState, Transition};

/// What one attempt came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// 2xx, and the preset's body check (if any) agreed.
    Accepted,
    /// The receiver (or our own guard) said no in a way retrying will not change:
    /// 4xx other than 408/429, a body check, a redirect, a refused address.
    Refused { reason: String },
    /// Worth trying again later: 408, 429, 5xx, timeouts, connection errors.
    Transient {
        reason: String,
        retry_after: Option<Duration>,
    },
}

impl Outcome {
    /// Classifies an HTTP answer. `body_check` is the preset's verdict on a 2xx
    /// body; `retry_after` is the receiver's Retry-After, when it sent one.
    pub fn from_status(
        status: u16,
        body_check: Result<(), String>,
        retry_after: Option<Duration>,
    ) -> Outcome {
        match status {
            200..=299 => match body_check {
                Ok(()) => Outcome::Accepted,
                Err(reason) => Outcome::Refused { reason },
            },
            408 | 429 | 500..=599 => Outcome::Transient {
                reason: format!("HTTP {status}"),
                retry_after,
            },
            // Redirects are not followed: a POST would turn into a GET, and the
            // operator should point the template at the final URL anyway.
            300..=399 => Outcome::Refused {
                reason: format!("HTTP {status}: redirect not followed; use the final URL"),
            },
            _ => Outcome::Refused {
                reason: format!("HTTP {status}"),
            },
        }
    }

    pub fn reason(&self) -> Option<&str> {
        match self {
            Outcome::Accepted => None,
            Outcome::Refused { reason } | Outcome::Transient { reason, .. } => Some(reason),
        }
    }
}

/// The retry knobs of `[postback]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    pub max_attempts: u32,
    pub backoff: Duration,
    pub backoff_max: Duration,
}

impl From<&PostbackConfig> for RetryPolicy {
    fn from(c: &PostbackConfig) -> Self {
        RetryPolicy {
            max_attempts: c.max_attempts,
            backoff: c.backoff,
            backoff_max: c.backoff_max,
        }
    }
}

impl RetryPolicy {
    /// The wait after the `failures`-th consecutive failure (1-based):
    /// `backoff * 2^(failures-1)`, capped at `backoff_max`, then "equal jitter"
    /// (between half and all of it, by `jitter` in [0, 1)) so a receiver that
    /// came back is not hit by every queued postback in the same instant.
    pub fn delay(&self, failures: u32, jitter: f64) -> Duration {
        let exp = failures.saturating_sub(1).min(32);
        let full = self
            .backoff
            .saturating_mul(1u32 << exp.min(31))
            .min(self.backoff_max);
        let jitter = jitter.clamp(0.0, 1.0);
        full / 2 + full.mul_f64(jitter) / 2
    }

    /// The row's next state after an attempt with `outcome`; `attempts`
    /// counts attempts in this cycle including this one.
    pub fn decide(&self, outcome: &Outcome, attempts: u32, now_ms: i64, jitter: f64) -> Transition {
        let last_error = outcome.reason().map(str::to_string);
        let (state, due_at_ms) = match outcome {
            Outcome::Accepted => (PostbackState::Delivered, now_ms),
            Outcome::Refused { .. } => (PostbackState::Failed, now_ms),
            Outcome::Transient { .. } if attempts >= self.max_attempts => {
                (PostbackState::Dead, now_ms)
            }
            Outcome::Transient { retry_after, .. } => {
                let mut wait = self.delay(attempts, jitter);
                // Honour the receiver's own estimate, within our ceiling.
                if let Some(ra) = retry_after {
                    wait = wait.max((*ra).min(self.backoff_max));
                }
                (PostbackState::Pending, now_ms + wait.as_millis() as i64)
            }
        };
        Transition {
            state,
            attempts,
            due_at_ms,
            last_error,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> RetryPolicy {
        RetryPolicy {
            max_attempts: 4,
            backoff: Duration::from_secs(30),
            backoff_max: Duration::from_secs(300),
        }
    }

    #[test]
    fn classification_table() {
        let ok = || Ok(());
        let table: &[(u16, Result<(), String>, &str)] = &[
            (200, ok(), "accepted"),
            (204, ok(), "accepted"),
            (200, Err("success=false".into()), "refused"),
            (301, ok(), "refused"),
            (400, ok(), "refused"),
            (403, ok(), "refused"),
            (404, ok(), "refused"),
            (408, ok(), "transient"),
            (429, ok(), "transient"),
            (500, ok(), "transient"),
            (503, ok(), "transient"),
            (599, ok(), "transient"),
        ];
        for (status, check, want) in table {
            let got = match Outcome::from_status(*status, check.clone(), None) {
                Outcome::Accepted => "accepted",
                Outcome::Refused { .. } => "refused",
                Outcome::Transient { .. } => "transient",
            };
            assert_eq!(got, *want, "HTTP {status}");
        }
    }

    #[test]
    fn delay_doubles_caps_and_jitters() {
        let p = policy();
        let s = Duration::from_secs;
        // (failures, jitter) -> delay
        let table = [
            (1, 0.0, s(15)),
            (1, 0.999_999_9, s(30)),
            (2, 0.0, s(30)),
            (2, 0.5, s(45)),
            (3, 1.0, s(120)),
            (4, 1.0, s(240)),
            (5, 1.0, s(300)),
            (5, 0.0, s(150)),
            (200, 1.0, s(300)),
        ];
        for (n, j, want) in table {
            let got = p.delay(n, j);
            assert!(
                got.abs_diff(want) < Duration::from_millis(1),
                "failures {n}, jitter {j}: {got:?} != {want:?}"
            );
        }
    }

    #[test]
    fn decisions_table() {
        let p = policy();
        let now = 1_000_000;
        let transient = Outcome::Transient {
            reason: "HTTP 503".into(),
            retry_after: None,
        };
        let slow_down = Outcome::Transient {
            reason: "HTTP 429".into(),
            retry_after: Some(Duration::from_secs(200)),
        };
        let too_slow = Outcome::Transient {
            reason: "HTTP 429".into(),
            retry_after: Some(Duration::from_secs(9999)),
        };
        let refused = Outcome::Refused {
            reason: "HTTP 404".into(),
        };
        // (outcome, attempts incl. this one, state, due offset in ms)
        let table = [
            (&Outcome::Accepted, 1, PostbackState::Delivered, 0),
            (&Outcome::Accepted, 4, PostbackState::Delivered, 0),
            (&refused, 1, PostbackState::Failed, 0),
            (&transient, 1, PostbackState::Pending, 15_000),
            (&transient, 2, PostbackState::Pending, 30_000),
            (&transient, 3, PostbackState::Pending, 60_000),
            (&transient, 4, PostbackState::Dead, 0),
            (&transient, 9, PostbackState::Dead, 0),
            (&slow_down, 1, PostbackState::Pending, 200_000),
            (&too_slow, 1, PostbackState::Pending, 300_000),
        ];
        for (outcome, attempts, state, offset) in table {
            let t = p.decide(outcome, attempts, now, 0.0);
            assert_eq!(
                (t.state, t.due_at_ms - now, t.attempts),
                (state, offset, attempts),
                "{outcome:?} #{attempts}"
            );
            assert_eq!(t.last_error.as_deref(), outcome.reason());
        }
    }
}
