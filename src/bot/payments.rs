//! Stars payments through the bot: users paying a task's invoice and
//! advertisers paying a campaign's budget. The engine decides; this module
//! answers Telegram, refunds what must go back, and tells the payer.

use super::texts::{self, Lang};
use super::{advertiser, tasks, Shared};
use crate::domain::offer::ConversionStatus;
use crate::engine::{ActionOutcome, Decline, Paid, PaymentOutcome, Refunded, Verdict};
use crate::store::{LeadId, OfferId};

/// Answers a pre-checkout live: Telegram gives about 10 seconds and never
/// replays it (telegram.md 1.6).
pub async fn precheckout(
    sh: &Shared,
    query_id: i64,
    user: i64,
    payload: &[u8],
    currency: &str,
    amount: i64,
) -> anyhow::Result<()> {
    let l = sh.lang_of(user);
    let verdict =
        sh.ctx
            .engine
            .precheckout(user, payload, currency, amount, |a| sh.minimum(a), sh.now());
    let error = match verdict {
        Ok(Verdict::Accept) => None,
        Ok(Verdict::Decline(d)) => Some(decline_text(l, d)),
        Err(e) => {
            // Our failure: decline (no money moves) and keep the reason in the log.
            log::error!("bot: pre-checkout of user {user}: {e}");
            Some(texts::payment_failed(l).to_string())
        }
    };
    sh.tg.answer_precheckout(query_id, error).await?;
    Ok(())
}

fn decline_text(l: Lang, d: Decline) -> String {
    match d {
        Decline::WouldReject(r) => texts::rejected(l, Some(r)),
        Decline::AlreadyDecided => texts::already_decided(l).to_string(),
        other => texts::payment_declined(l, other).to_string(),
    }
}

/// A successful payment (messageActionPaymentSentMe in the payer's chat).
pub async fn paid(
    sh: &Shared,
    user: i64,
    payload: &[u8],
    currency: &str,
    amount: i64,
    charge_id: &str,
) -> anyhow::Result<()> {
    let p = Paid {
        user,
        payload,
        currency,
        amount,
        charge_id,
    };
    match sh.ctx.engine.payment_received(&p, sh.now())? {
        PaymentOutcome::Repeat => Ok(()),
        PaymentOutcome::Refund { offer, lead } => {
            refund(
                sh,
                user,
                charge_id,
                amount,
                offer,
                lead,
                "the payment matched nothing we sell",
            )
            .await
        }
        PaymentOutcome::Task { lead, outcome } => {
            // The pre-checkout passed, but a cap, the schedule or the budget can
            // still have closed before the payment landed (another user took the
            // last slot). The user must not pay for a task that does not count.
            if let ActionOutcome::Decided(c) = &outcome {
                if c.status == ConversionStatus::Rejected {
                    tasks::notify(sh, &lead, &outcome).await;
                    let why = c.reason.map(|r| r.as_str()).unwrap_or("rejected");
                    return refund(
                        sh,
                        user,
                        charge_id,
                        amount,
                        Some(lead.offer_id),
                        Some(lead.id),
                        why,
                    )
                    .await;
                }
            }
            tasks::notify(sh, &lead, &outcome).await;
            Ok(())
        }
        PaymentOutcome::CampaignPaid { offer } => advertiser::campaign_paid(sh, user, offer).await,
    }
}

/// Refunds a Stars charge and records it; a repeated update does not refund twice.
pub async fn refund(
    sh: &Shared,
    user: i64,
    charge_id: &str,
    amount: i64,
    offer: Option<OfferId>,
    lead: Option<LeadId>,
    why: &str,
) -> anyhow::Result<()> {
    if sh.ctx.engine.refunded(charge_id)? {
        return Ok(());
    }
    sh.tg
        .refund(user, charge_id)
        .await
        .map_err(|e| anyhow::anyhow!("cannot refund charge {charge_id}: {e}"))?;
    sh.ctx.engine.refund_recorded(
        &Refunded {
            user,
            offer,
            lead,
            charge_id,
            amount,
            why,
        },
        sh.now(),
    )?;
    if lead.is_some() || offer.is_none() {
        sh.say(user, texts::refunded(sh.lang_of(user))).await?;
    }
    Ok(())
}
