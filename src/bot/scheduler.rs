//! Time-driven work on the bot's runtime: ending hold windows (with a re-check
//! against Telegram), reconciling memberships, and converting share links.
//!
//! Reconciliation exists because the update stream cannot cover every outage:
//! Telegram does not document how long getDifference keeps updates, so after
//! downtime, and periodically for conversions in hold, membership is asked
//! again with channels.getParticipant. Calls are spaced out (rate-limited) so
//! a large backlog never turns into a FLOOD_WAIT storm.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, watch};

use super::{verify, Shared};
use crate::domain::conversion::RejectReason;
use crate::domain::offer::Action;
use crate::store;

/// Spacing between Telegram checks in a sweep: at most this many per second.
const CHECKS_PER_SECOND: u64 = 10;
/// How many conversions one sweep looks at.
const BATCH: u32 = 200;
/// Reconcile every this many ticks (the first tick after start always does).
const RECONCILE_EVERY: u32 = 30;
/// Look for missed joins among leads this recent.
const MISSED_JOIN_LOOKBACK: i64 = 7 * 86400;
/// After a check Telegram could not answer, try that conversion again this much later.
const RETRY_AFTER: i64 = 300;
/// A conversion in hold is re-checked at most this often by reconciliation.
const RECHECK_EVERY: i64 = 3600;

pub(crate) async fn run(
    sh: Arc<Shared>,
    mut poke: mpsc::UnboundedReceiver<()>,
    mut stop: watch::Receiver<bool>,
) {
    let mut ticks: u32 = 0;
    loop {
        let reconcile = ticks % RECONCILE_EVERY == 0;
        if let Err(e) = tick(&sh, reconcile).await {
            log::error!("scheduler: {e:#}");
        }
        ticks = ticks.wrapping_add(1);
        tokio::select! {
            _ = tokio::time::sleep(sh.ctx.tick) => {}
            Some(()) = poke.recv() => {}
            _ = stop.changed() => return,
        }
    }
}

async fn pace() {
    tokio::time::sleep(Duration::from_millis(1000 / CHECKS_PER_SECOND)).await;
}

async fn tick(sh: &Shared, reconcile: bool) -> anyhow::Result<()> {
    verify::resolve_offer_targets(sh).await;
    end_holds(sh).await?;
    convert_shares(sh)?;
    if let Err(e) = super::notify::drain(sh).await {
        log::error!("scheduler: notifications: {e:#}");
    }
    if reconcile {
        reconcile_holds(sh).await?;
        find_missed_joins(sh).await?;
    }
    Ok(())
}

/// Approves or rejects conversions whose hold window has ended.
async fn end_holds(sh: &Shared) -> anyhow::Result<()> {
    let now = sh.ctx.clock.now();
    let due = sh
        .ctx
        .store
        .read(|c| store::conversions::due_holds(c, now, BATCH))?;
    for c in due {
        // One failing conversion must not stop the sweep for the others.
        match verify::still_valid(sh, &c).await {
            Ok(Some((valid, evidence))) => {
                if let Err(e) = sh
                    .ctx
                    .engine
                    .hold_ended(c.id, valid, &evidence, sh.ctx.clock.now())
                {
                    log::error!("scheduler: ending the hold of conversion {}: {e}", c.id);
                }
            }
            // Telegram could not be asked (down, or the bot lost its rights):
            // retry later, behind the others, never reject on our failure.
            Ok(None) | Err(_) => postpone(sh, c.id, RETRY_AFTER),
        }
        if matches!(
            c.action,
            Action::JoinChannel | Action::JoinRequest | Action::Boost | Action::Comment
        ) {
            pace().await;
        }
    }
    Ok(())
}

fn postpone(sh: &Shared, id: store::ConversionId, secs: i64) {
    let until = sh.ctx.clock.now() + secs;
    if let Err(e) = sh.ctx.engine.postpone(id, until) {
        log::error!("scheduler: postponing conversion {id}: {e}");
    }
}

/// Rejects conversions in hold whose user left while we were not listening.
async fn reconcile_holds(sh: &Shared) -> anyhow::Result<()> {
    let holds = sh
        .ctx
        .store
        .read(|c| store::conversions::joins_to_reconcile(c, sh.ctx.clock.now(), BATCH))?;
    for c in holds {
        match verify::still_valid(sh, &c).await {
            Ok(Some((false, evidence))) => {
                if let Err(e) = sh.ctx.engine.action_undone(
                    c.id,
                    RejectReason::Undone,
                    &format!("reconciliation: {evidence}"),
                    sh.ctx.clock.now(),
                ) {
                    log::error!("scheduler: reconciling conversion {}: {e}", c.id);
                }
            }
            Ok(Some((true, _))) => postpone(sh, c.id, RECHECK_EVERY),
            Ok(None) | Err(_) => postpone(sh, c.id, RETRY_AFTER),
        }
        pace().await;
    }
    Ok(())
}

/// Accepts joins whose update was missed (e.g. while the daemon was down).
async fn find_missed_joins(sh: &Shared) -> anyhow::Result<()> {
    let now = sh.ctx.clock.now();
    let since = now - MISSED_JOIN_LOOKBACK;
    for action in [Action::JoinChannel, Action::JoinRequest] {
        let leads = sh
            .ctx
            .store
            .read(|c| store::leads::waiting_leads(c, action.as_str(), since, now, BATCH))?;
        for lead in leads {
            if let Err(e) = check_missed_join(sh, &lead).await {
                log::warn!("scheduler: membership of lead {}: {e:#}", lead.id);
            }
            // Whatever the answer, this lead goes to the back of the queue.
            if let Ok(Some(c)) = sh
                .ctx
                .store
                .read(|c| store::conversions::by_key(c, lead.offer_id, lead.tg_user_id, action))
            {
                postpone(sh, c.id, RECHECK_EVERY);
            }
            pace().await;
        }
    }
    Ok(())
}

async fn check_missed_join(sh: &Shared, lead: &store::leads::Lead) -> anyhow::Result<()> {
    let Some(offer) = sh
        .ctx
        .store
        .read(|c| store::offers::get_offer(c, lead.offer_id))?
    else {
        return Ok(());
    };
    let Some(m) = verify::membership(sh, &offer, lead.tg_user_id).await? else {
        return Ok(());
    };
    sh.ctx.engine.missed_join_seen(
        lead.id,
        m.since,
        "reconciliation: getParticipant shows a join after the click",
        sh.ctx.clock.now(),
    )?;
    Ok(())
}

/// A share offer converts when the user's personal link brought a unique visitor.
fn convert_shares(sh: &Shared) -> anyhow::Result<()> {
    let ready = sh
        .ctx
        .store
        .read(|c| store::leads::shares_with_visitors(c, BATCH))?;
    for (lead, visitors) in ready {
        if let Err(e) = sh.ctx.engine.action_observed(
            lead.id,
            Action::Share,
            &format!("share link has {visitors} unique visitor(s)"),
            sh.ctx.clock.now(),
        ) {
            log::error!("scheduler: share of lead {}: {e}", lead.id);
        }
    }
    Ok(())
}
