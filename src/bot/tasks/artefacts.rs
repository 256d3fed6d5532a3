//! What some tasks need made before they are shown: a per-user invite link, a
//! poll, an invoice, paid media, a personal share link. Each is registered
//! with the engine so the update it produces is matched back to its lead.

use grammers_tl_types as tl;

use super::super::texts::{self, Lang};
use super::super::tg::{self, TgError};
use super::super::{verify, Shared};
use crate::domain::offer::{Action, Offer};
use crate::domain::payment::InvoicePayload;
use crate::domain::task::{TaskKind, TaskRef};
use crate::domain::token;
use crate::store::leads::Lead;

/// A per-user invite link; with `request_needed` for join-request offers, so
/// only the attributed user is approved (telegram.md 1.1).
pub async fn invite_link(sh: &Shared, lead: &Lead, offer: &Offer) -> anyhow::Result<String> {
    if let Some((TaskRef::Invite(link), _, _)) = sh.ctx.engine.task_of(lead.id, TaskKind::Invite)? {
        return Ok(link);
    }
    let Some(channel) = verify::target_chat(sh, offer).await? else {
        return Err(TgError::Unknown(format!("the target chat of offer {}", offer.id)).into());
    };
    let t = sh.now();
    let req = tl::functions::messages::ExportChatInvite {
        legacy_revoke_permanent: false,
        request_needed: offer.action == Action::JoinRequest,
        peer: (&channel).into(),
        expire_date: Some((t + 7 * 86400) as i32),
        // usage_limit counts simultaneous members and is not allowed with requests.
        usage_limit: None,
        title: Some(format!("tgtrack lead {}", lead.id)),
        subscription_pricing: None,
    };
    let link = match sh.tg.invoke(&req).await? {
        tl::enums::ExportedChatInvite::ChatInviteExported(x) => x.link,
        tl::enums::ExportedChatInvite::ChatInvitePublicJoinRequests => {
            anyhow::bail!("Telegram returned no link")
        }
    };
    sh.ctx.engine.task_made(
        lead.id,
        &TaskRef::Invite(link.clone()),
        offer.target.chat_id,
        t,
    )?;
    Ok(link)
}

pub async fn send_poll(sh: &Shared, lead: &Lead, offer: &Offer) -> anyhow::Result<()> {
    let Some(spec) = &offer.target.poll else {
        anyhow::bail!("offer {} has no poll", offer.id)
    };
    let poll = tl::types::Poll {
        id: 0,
        closed: false,
        // Votes are only attributable in non-anonymous polls (telegram.md 1.9).
        public_voters: true,
        multiple_choice: false,
        quiz: false,
        open_answers: false,
        revoting_disabled: false,
        shuffle_answers: false,
        hide_results_until_close: false,
        creator: false,
        subscribers_only: false,
        question: tg::text_entities(&spec.question),
        answers: spec
            .options
            .iter()
            .enumerate()
            .map(|(i, o)| {
                tl::types::PollAnswer {
                    text: tg::text_entities(o),
                    option: vec![i as u8],
                    media: None,
                    added_by: None,
                    date: None,
                }
                .into()
            })
            .collect(),
        close_period: None,
        close_date: None,
        countries_iso2: None,
        hash: 0,
    };
    let media = tl::types::InputMediaPoll {
        poll: poll.into(),
        correct_answers: None,
        attached_media: None,
        solution: None,
        solution_entities: None,
        solution_media: None,
    };
    let updates = sh.tg.send_media(lead.tg_user_id, media.into()).await?;
    let poll_id = tg::sent_message(&updates).and_then(|m| match &m.media {
        Some(tl::enums::MessageMedia::Poll(p)) => match &p.poll {
            tl::enums::Poll::Poll(p) => Some(p.id),
        },
        _ => None,
    });
    let Some(poll_id) = poll_id else {
        anyhow::bail!("Telegram did not return the poll")
    };
    sh.ctx
        .engine
        .task_made(lead.id, &TaskRef::Poll(poll_id), None, sh.now())?;
    Ok(())
}

/// A Stars invoice: currency XTR, no provider (telegram.md 1.6).
pub fn xtr_invoice(
    title: &str,
    description: &str,
    label: &str,
    amount: i64,
    payload: InvoicePayload,
) -> tl::enums::InputMedia {
    let invoice = tl::types::Invoice {
        test: false,
        name_requested: false,
        phone_requested: false,
        email_requested: false,
        shipping_address_requested: false,
        flexible: false,
        phone_to_provider: false,
        email_to_provider: false,
        recurring: false,
        currency: "XTR".into(),
        prices: vec![tl::types::LabeledPrice {
            label: label.into(),
            amount,
        }
        .into()],
        max_tip_amount: None,
        suggested_tip_amounts: None,
        terms_url: None,
        subscription_period: None,
    };
    tl::types::InputMediaInvoice {
        title: title.into(),
        description: description.into(),
        photo: None,
        invoice: invoice.into(),
        payload: payload.encode().into_bytes(),
        provider: None,
        provider_data: tl::types::DataJson { data: "{}".into() }.into(),
        start_param: None,
        extended_media: None,
    }
    .into()
}

pub async fn send_invoice(sh: &Shared, lead: &Lead, offer: &Offer, l: Lang) -> anyhow::Result<()> {
    let amount = offer.target.stars.unwrap_or(1);
    let media = xtr_invoice(
        texts::invoice_title(l),
        &offer.name,
        &offer.name,
        amount,
        InvoicePayload::Task { lead: lead.id.0 },
    );
    sh.tg.send_media(lead.tg_user_id, media).await?;
    sh.ctx
        .engine
        .task_made(lead.id, &TaskRef::Invoice(lead.id.0), None, sh.now())?;
    Ok(())
}

pub async fn send_paid_media(sh: &Shared, lead: &Lead, offer: &Offer) -> anyhow::Result<()> {
    let Some(url) = offer.target.url.clone() else {
        anyhow::bail!("offer {} has no media URL", offer.id)
    };
    let media = tl::types::InputMediaPaidMedia {
        stars_amount: offer.target.stars.unwrap_or(1),
        extended_media: vec![tl::types::InputMediaPhotoExternal {
            spoiler: false,
            url,
            ttl_seconds: None,
        }
        .into()],
        payload: Some(InvoicePayload::Task { lead: lead.id.0 }.encode()),
    };
    sh.tg.send_media(lead.tg_user_id, media.into()).await?;
    sh.ctx
        .engine
        .task_made(lead.id, &TaskRef::PaidMedia(lead.id.0), None, sh.now())?;
    Ok(())
}

/// The lead's personal share link.
pub fn share_link(sh: &Shared, lead: &Lead, offer: &Offer) -> anyhow::Result<String> {
    let token = sh
        .ctx
        .engine
        .share_token(lead, offer, token::click_token, sh.now())?;
    Ok(format!("{}/s/{token}", sh.ctx.public_base_url))
}
