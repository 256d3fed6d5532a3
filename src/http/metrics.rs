//! In-memory request metrics, rendered as Prometheus text by `/metrics`.
//!
//! Counters are plain atomics bumped once per request (relaxed: each is an
//! independent count, nothing is ordered by them), so recording costs a few
//! nanoseconds and no lock. They count from process start, as Prometheus
//! counters do; postback figures come from the database at scrape time.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// Which handler answered; a label on the response counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    Click,
    Share,
    Healthz,
    Metrics,
    Relay,
    Other,
}

const ROUTES: [(Route, &str); 6] = [
    (Route::Click, "click"),
    (Route::Share, "share"),
    (Route::Healthz, "healthz"),
    (Route::Metrics, "metrics"),
    (Route::Relay, "relay"),
    (Route::Other, "other"),
];

/// The statuses we answer with; anything else is counted as "other".
const STATUSES: [u16; 14] = [
    200, 302, 400, 401, 404, 405, 409, 410, 413, 422, 500, 501, 503, 0,
];

/// Latency bucket upper bounds in microseconds: 0.25 ms to 1 s.
const BUCKETS_US: [u64; 13] = [
    250,
    500,
    1_000,
    2_500,
    5_000,
    10_000,
    25_000,
    50_000,
    100_000,
    250_000,
    500_000,
    1_000_000,
    u64::MAX,
];

#[derive(Default)]
pub struct Metrics {
    responses: [[AtomicU64; STATUSES.len()]; ROUTES.len()],
    clicks_new: AtomicU64,
    clicks_repeat: AtomicU64,
    share_visits: AtomicU64,
    share_unique: AtomicU64,
    latency_buckets: [AtomicU64; BUCKETS_US.len()],
    latency_sum_us: AtomicU64,
    /// The connection layer's own counters (open, shed, evicted, the answers
    /// tiny_http gives by itself), once the server runs.
    server: OnceLock<Arc<tiny_http::ServerStats>>,
}

fn route_index(r: Route) -> usize {
    ROUTES
        .iter()
        .position(|(x, _)| *x == r)
        .unwrap_or(ROUTES.len() - 1)
}

impl Metrics {
    /// Reads the connection layer's counters from now on.
    pub fn attach_server(&self, stats: Arc<tiny_http::ServerStats>) {
        let _ = self.server.set(stats);
    }

    /// Answers the server produced itself (malformed or over-limit requests,
    /// shed connections), by status; zero before the server runs.
    pub fn server_responses(&self, status: u16) -> u64 {
        self.server.get().map_or(0, |s| {
            s.refusals()
                .into_iter()
                .find(|(st, _)| *st == status)
                .map_or(0, |(_, n)| n)
        })
    }

    /// One answer, by route and status.
    pub fn count(&self, route: Route, status: u16) {
        let s = STATUSES
            .iter()
            .position(|x| *x == status)
            .unwrap_or(STATUSES.len() - 1);
        self.responses[route_index(route)][s].fetch_add(1, Relaxed);
    }

    /// How long one request took, from being taken to its answer written.
    pub fn observe_latency(&self, elapsed: Duration) {
        let us = elapsed.as_micros().min(u64::MAX as u128) as u64;
        let b = BUCKETS_US
            .iter()
            .position(|le| us <= *le)
            .unwrap_or(BUCKETS_US.len() - 1);
        self.latency_buckets[b].fetch_add(1, Relaxed);
        self.latency_sum_us.fetch_add(us, Relaxed);
    }

    pub fn click_recorded(&self, created: bool) {
        if created {
            &self.clicks_new
        } else {
            &self.clicks_repeat
        }
        .fetch_add(1, Relaxed);
    }

    pub fn share_visited(&self, unique: bool) {
        self.share_visits.fetch_add(1, Relaxed);
        if unique {
            self.share_unique.fetch_add(1, Relaxed);
        }
    }

    /// Answers for one route and status so far (for tests and the benchmark).
    pub fn responses(&self, route: Route, status: u16) -> u64 {
        STATUSES
            .iter()
            .position(|x| *x == status)
            .map_or(0, |s| self.responses[route_index(route)][s].load(Relaxed))
    }

    /// Prometheus text exposition of the in-memory part.
    pub fn render(&self, out: &mut String) {
        let _ = writeln!(out, "# HELP tgtrack_clicks_total Clicks recorded before their redirect, by whether the token was new.");
        let _ = writeln!(out, "# TYPE tgtrack_clicks_total counter");
        let _ = writeln!(
            out,
            "tgtrack_clicks_total{{token=\"new\"}} {}",
            self.clicks_new.load(Relaxed)
        );
        let _ = writeln!(
            out,
            "tgtrack_clicks_total{{token=\"repeat\"}} {}",
            self.clicks_repeat.load(Relaxed)
        );

        let _ = writeln!(
            out,
            "# HELP tgtrack_http_responses_total Answers by route and status (302 is a redirect)."
        );
        let _ = writeln!(out, "# TYPE tgtrack_http_responses_total counter");
        for (ri, (_, route)) in ROUTES.iter().enumerate() {
            for (si, status) in STATUSES.iter().enumerate() {
                let n = self.responses[ri][si].load(Relaxed);
                // Zero series for impossible pairs would only be noise.
                if n == 0 && !matches!(*route, "click" | "share") {
                    continue;
                }
                let status = if *status == 0 {
                    "other".to_string()
                } else {
                    status.to_string()
                };
                let _ = writeln!(
                    out,
                    "tgtrack_http_responses_total{{route=\"{route}\",status=\"{status}\"}} {n}"
                );
            }
        }
        // Answers the connection layer gives before any route sees the request.
        if let Some(server) = self.server.get() {
            for (status, n) in server.refusals() {
                let status = if status == 0 {
                    "other".to_string()
                } else {
                    status.to_string()
                };
                let _ = writeln!(
                    out,
                    "tgtrack_http_responses_total{{route=\"server\",status=\"{status}\"}} {n}"
                );
            }
        }

        let _ = writeln!(out, "# HELP tgtrack_share_visits_total Share link visits; unique counts first visits per visitor hash.");
        let _ = writeln!(out, "# TYPE tgtrack_share_visits_total counter");
        let _ = writeln!(
            out,
            "tgtrack_share_visits_total {}",
            self.share_visits.load(Relaxed)
        );
        let _ = writeln!(
            out,
            "# HELP tgtrack_share_unique_visitors_total Share link visits from visitor hashes not seen before."
        );
        let _ = writeln!(out, "# TYPE tgtrack_share_unique_visitors_total counter");
        let _ = writeln!(
            out,
            "tgtrack_share_unique_visitors_total {}",
            self.share_unique.load(Relaxed)
        );

        let _ = writeln!(out, "# HELP tgtrack_http_request_duration_seconds Time from taking a request to having written its answer.");
        let _ = writeln!(
            out,
            "# TYPE tgtrack_http_request_duration_seconds histogram"
        );
        let mut cumulative = 0;
        for (i, le) in BUCKETS_US.iter().enumerate() {
            cumulative += self.latency_buckets[i].load(Relaxed);
            let le = if *le == u64::MAX {
                "+Inf".to_string()
            } else {
                format!("{}", *le as f64 / 1e6)
            };
            let _ = writeln!(
                out,
                "tgtrack_http_request_duration_seconds_bucket{{le=\"{le}\"}} {cumulative}"
            );
        }
        let sum = self.latency_sum_us.load(Relaxed) as f64 / 1e6;
        let _ = writeln!(out, "tgtrack_http_request_duration_seconds_sum {sum}");
        let _ = writeln!(
            out,
            "tgtrack_http_request_duration_seconds_count {cumulative}"
        );

        if let Some(server) = self.server.get() {
            let families: [(&str, &str, &str, u64); 5] = [
                ("tgtrack_http_connections", "gauge", "Connections open now (each holds a socket and a thread).", server.open_connections() as u64),
                ("tgtrack_http_connections_accepted_total", "counter", "Connections accepted.", server.accepted()),
                ("tgtrack_http_connections_shed_total", "counter", "Connections answered 503 at once: at http.max_connections with none idle, or no thread could be started.", server.shed()),
                ("tgtrack_http_connections_evicted_total", "counter", "Idle keep-alive connections closed to make room near http.max_connections.", server.evicted_idle()),
                ("tgtrack_http_accept_errors_total", "counter", "Failed accept calls (e.g. EMFILE).", server.accept_errors()),
            ];
            for (name, kind, help, v) in families {
                let _ = writeln!(
                    out,
                    "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {v}"
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counts_and_cumulative_buckets() {
        let m = Metrics::default();
        for (status, t) in [
            (302, Duration::from_micros(100)),
            (302, Duration::from_millis(3)),
            (418, Duration::from_secs(5)),
        ] {
            m.count(Route::Click, status);
            m.observe_latency(t);
        }
        m.click_recorded(true);
        m.share_visited(true);
        m.share_visited(false);
        let mut out = String::new();
        m.render(&mut out);
        assert!(
            out.contains("tgtrack_http_responses_total{route=\"click\",status=\"302\"} 2"),
            "{out}"
        );
        assert!(
            out.contains("tgtrack_http_responses_total{route=\"click\",status=\"other\"} 1"),
            "{out}"
        );
        assert!(
            out.contains("tgtrack_http_request_duration_seconds_bucket{le=\"0.00025\"} 1"),
            "{out}"
        );
        assert!(
            out.contains("tgtrack_http_request_duration_seconds_bucket{le=\"0.005\"} 2"),
            "{out}"
        );
        assert!(
            out.contains("tgtrack_http_request_duration_seconds_bucket{le=\"+Inf\"} 3"),
            "{out}"
        );
        assert!(out.contains("tgtrack_clicks_total{token=\"new\"} 1"));
        assert!(
            out.contains("tgtrack_share_visits_total 2")
                && out.contains("tgtrack_share_unique_visitors_total 1")
        );
        assert_eq!(m.responses(Route::Click, 302), 2);
    }
}
