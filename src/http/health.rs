//! `GET /healthz` and `GET /metrics`.

use std::time::Duration;

use super::router::{HttpError, Reply};
use super::server::Context;
use crate::store::postbacks::{counts_by_state, outbox_depth};
use crate::store::Writable;

/// 200 when a pooled connection answers `SELECT 1` and the database takes
/// writes (the last write committed, or a probe write does), else 503 with the
/// reason; both in JSON so a load balancer and a human read the same thing. A
/// full disk leaves reads working but fails every click: that is unhealthy.
pub fn healthz(ctx: &Context) -> Result<Reply, HttpError> {
    if let Err(e) = ctx.store.ping() {
        super::router::warn_throttled(format!("healthz: database unreachable: {e}"));
        let body = serde_json::json!({
            "status": "unavailable",
            "database": "unreachable",
            "reason": e.to_string(),
        });
        return Ok(Reply::text(503, "application/json", format!("{body}\n")));
    }
    Ok(match ctx.store.writable(WRITE_FRESH) {
        Writable::Yes => Reply::text(
            200,
            "application/json",
            &br#"{"status":"ok","database":"ok"}"#[..],
        ),
        Writable::No(why) => {
            super::router::warn_throttled(format!("healthz: database unwritable: {why}"));
            let body = serde_json::json!({
                "status": "unavailable",
                "database": "unwritable",
                "reason": why,
            });
            Reply::text(503, "application/json", format!("{body}\n"))
        }
    })
}

/// A write this recent stands for the database's health; older, /healthz
/// probes with a write of its own (so an idle daemon still notices a full disk).
const WRITE_FRESH: Duration = Duration::from_secs(5);

/// Prometheus text: the in-memory counters, then postback figures read from
/// the database. If the database cannot be read, those lines are left out and
/// `tgtrack_database_up` says 0, so the scrape itself still succeeds.
pub fn metrics(ctx: &Context) -> Result<Reply, HttpError> {
    let mut out = String::with_capacity(4096);
    ctx.metrics.render(&mut out);
    let postbacks = ctx
        .store
        .read(|c| Ok::<_, crate::store::StoreError>((counts_by_state(c)?, outbox_depth(c)?)));
    use std::fmt::Write as _;
    match postbacks {
        Ok((states, depth)) => {
            let _ = writeln!(
                out,
                "# HELP tgtrack_postbacks Postbacks in the outbox by state."
            );
            let _ = writeln!(out, "# TYPE tgtrack_postbacks gauge");
            for (state, n) in states {
                let _ = writeln!(out, "tgtrack_postbacks{{state=\"{}\"}} {n}", state.as_str());
            }
            let _ = writeln!(
                out,
                "# HELP tgtrack_postback_outbox_depth Postbacks waiting for delivery."
            );
            let _ = writeln!(out, "# TYPE tgtrack_postback_outbox_depth gauge");
            let _ = writeln!(out, "tgtrack_postback_outbox_depth {depth}");
            let _ = writeln!(
                out,
                "# HELP tgtrack_database_up Whether the database could be read for this scrape.\n# TYPE tgtrack_database_up gauge\ntgtrack_database_up 1"
            );
        }
        Err(e) => {
            super::router::warn_throttled(format!("metrics: cannot read postback counts: {e}"));
            let _ = writeln!(
                out,
                "# HELP tgtrack_database_up Whether the database could be read for this scrape.\n# TYPE tgtrack_database_up gauge\ntgtrack_database_up 0"
            );
        }
    }
    Ok(Reply::text(
        200,
        "text/plain; version=0.0.4; charset=utf-8",
        out,
    ))
}
