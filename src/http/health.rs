//! `GET /healthz` and `GET /metrics`.

use super::router::{HttpError, Reply};
use super::server::Context;
use crate::store::postbacks::{counts_by_state, outbox_depth};

/// 200 when a pooled connection answers `SELECT 1`, else 503; both in JSON so
/// a load balancer and a human read the same thing.
pub fn healthz(ctx: &Context) -> Result<Reply, HttpError> {
    Ok(match ctx.store.ping() {
        Ok(()) => Reply::text(
            200,
            "application/json",
            &br#"{"status":"ok","database":"ok"}"#[..],
        ),
        Err(e) => {
            log::warn!("healthz: database unreachable: {e}");
            Reply::text(
                503,
                "application/json",
                &br#"{"status":"unavailable","database":"unreachable"}"#[..],
            )
        }
    })
}

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
            log::warn!("metrics: cannot read postback counts: {e}");
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
