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

use super::handlers;
use super::Shared;
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

pub(crate) async fn run(sh: Arc<Shared>, mut poke: mpsc::UnboundedReceiver<()>, mut stop: watch::Receiver<bool>) {
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
    if reconcile {
        handlers::resolve_offer_targets(sh).await;
    }
    end_holds(sh).await?;
    convert_shares(sh)?;
    if reconcile {
        reconcile_holds(sh).await?;
        find_missed_joins(sh).await?;
    }
    Ok(())
}

/// Approves or rejects conversions whose hold window has ended.
async fn end_holds(sh: &Shared) -> anyhow::Result<()> {
    let now = sh.ctx.clock.now();
    let due = sh.ctx.store.read(|c| store::conversions::due_holds(c, now, BATCH))?;
    for c in due {
        match handlers::still_valid(sh, &c).await? {
            Some((valid, evidence)) => {
                sh.ctx.engine.hold_ended(c.id, valid, &evidence, sh.ctx.clock.now())?;
            }
            None => log::info!("scheduler: conversion {} could not be re-checked now; will retry", c.id),
        }
        if matches!(c.action, Action::JoinChannel | Action::JoinRequest | Action::Boost | Action::Comment) {
            pace().await;
        }
    }
    Ok(())
}

/// Rejects conversions in hold whose user left while we were not listening.
async fn reconcile_holds(sh: &Shared) -> anyhow::Result<()> {
    let holds = sh.ctx.store.read(|c| store::conversions::in_hold(c, BATCH))?;
    for c in holds.into_iter().filter(|c| matches!(c.action, Action::JoinChannel | Action::JoinRequest)) {
        let now = sh.ctx.clock.now();
        match handlers::still_valid(sh, &c).await? {
            Some((false, evidence)) => {
                sh.ctx.engine.action_undone(c.id, RejectReason::Undone, &format!("reconciliation: {evidence}"), now)?;
            }
            Some((true, _)) => sh.ctx.store.write(|tx| store::conversions::touch(tx, c.id, now))?,
            None => {}
        }
        pace().await;
    }
    Ok(())
}

/// Accepts joins whose update was missed (e.g. while the daemon was down).
async fn find_missed_joins(sh: &Shared) -> anyhow::Result<()> {
    let since = sh.ctx.clock.now() - MISSED_JOIN_LOOKBACK;
    for action in [Action::JoinChannel, Action::JoinRequest] {
        let leads = sh.ctx.store.read(|c| store::leads::waiting_leads(c, action.as_str(), since, BATCH))?;
        for lead in leads {
            let Some(offer) = sh.ctx.store.read(|c| store::offers::get_offer(c, lead.offer_id))? else { continue };
            let now = sh.ctx.clock.now();
            match handlers::membership(sh, &offer, lead.tg_user_id).await {
                Ok(Some(m)) => {
                    let click_at = sh.ctx.store.read(|c| store::leads::click_by_id(c, lead.click_id))?.map(|c| c.created_at).unwrap_or(lead.started_at);
                    let premium = sh.ctx.store.read(|c| store::users::get_user(c, lead.tg_user_id))?.is_some_and(|u| u.is_premium);
                    if m.since.is_some_and(|s| s >= click_at) {
                        sh.ctx.engine.action_observed(lead.id, action, premium, "reconciliation: getParticipant shows a join after the click", now)?;
                    }
                }
                Ok(None) => {
                    if let Some(c) = sh.ctx.store.read(|c| store::conversions::by_key(c, lead.offer_id, lead.tg_user_id, action))? {
                        sh.ctx.store.write(|tx| store::conversions::touch(tx, c.id, now))?;
                    }
                }
                Err(e) => log::warn!("scheduler: membership of lead {}: {e:#}", lead.id),
            }
            pace().await;
        }
    }
    Ok(())
}

/// A share offer converts when the user's personal link brought a unique visitor.
fn convert_shares(sh: &Shared) -> anyhow::Result<()> {
    let ready = sh.ctx.store.read(|c| store::leads::shares_with_visitors(c, BATCH))?;
    for (lead, visitors) in ready {
        let premium = sh.ctx.store.read(|c| store::users::get_user(c, lead.tg_user_id))?.is_some_and(|u| u.is_premium);
        sh.ctx.engine.action_observed(lead.id, Action::Share, premium, &format!("share link has {visitors} unique visitor(s)"), sh.ctx.clock.now())?;
    }
    Ok(())
}
