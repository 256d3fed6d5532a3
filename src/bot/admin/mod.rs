//! Admins in the bot: the review queue with Approve / Reject (and the refund),
//! each campaign's card with its CPA wiring (postback, test fire, tracking
//! link), pause / resume / finish, and run-time settings (minimum prices,
//! default hold windows). Entered only when the user is in `telegram.admins`.

mod step;
mod texts;

/// Texts the advertiser's dialogue shares with the admins' (status and action words).
pub mod texts_pub {
    pub use super::texts::{action_word, status_word};
}

pub fn texts_list_label(l: super::texts::Lang, o: &crate::domain::offer::Offer) -> String {
    texts::list_label(l, o)
}

pub use step::AdminButton;

use grammers_client::message::{Button as TgButton, InputMessage, ReplyMarkup};

use super::buttons::Button;
use super::texts::Lang;
use super::{payments, Shared};
use crate::domain::offer::{Offer, OfferStatus, ALL_ACTIONS};
use crate::service::dialogues::{self, Dialogue};
use crate::service::offers::{self as service, Actor, StatusError};
use crate::service::settings as settings_service;
use crate::store::{self, OfferId};
use step::{Effect, Input};

/// Registers the command menu in both languages.
pub async fn set_commands(sh: &Shared) {
    for (lang, cmds) in [("ru", texts::COMMANDS_RU), ("", texts::COMMANDS_EN)] {
        let req = grammers_tl_types::functions::bots::SetBotCommands {
            scope: grammers_tl_types::enums::BotCommandScope::Default,
            lang_code: lang.into(),
            commands: cmds
                .iter()
                .map(|(c, d)| {
                    grammers_tl_types::types::BotCommand {
                        ephemeral: false,
                        command: (*c).into(),
                        description: (*d).into(),
                    }
                    .into()
                })
                .collect(),
        };
        if let Err(e) = sh.tg.invoke(&req).await {
            log::warn!("bot: could not set commands ({lang}): {e}");
        }
    }
}

fn load(sh: &Shared, admin: i64) -> step::AdminState {
    match sh
        .ctx
        .store
        .read(|c| store::dialogues::load(c, Dialogue::Admin, admin))
    {
        Ok(Some((v, json))) if v == step::VERSION => {
            serde_json::from_str(&json).unwrap_or_default()
        }
        _ => step::AdminState::Idle,
    }
}

fn save(sh: &Shared, admin: i64, s: &step::AdminState) -> anyhow::Result<()> {
    match s {
        step::AdminState::Idle => dialogues::clear(&sh.ctx.store, Dialogue::Admin, admin)?,
        s => dialogues::save(
            &sh.ctx.store,
            Dialogue::Admin,
            admin,
            step::VERSION,
            &serde_json::to_string(s).expect("state serializes"),
            sh.now(),
        )?,
    }
    Ok(())
}

/// Plain text from an admin: consumed if the admin dialogue asked a question.
pub async fn text(sh: &Shared, admin: i64, l: Lang, text: &str) -> anyhow::Result<bool> {
    let state = load(sh, admin);
    if state == step::AdminState::Idle {
        return Ok(false);
    }
    let (next, effects) = step::step(state, Input::Text(text.to_string()));
    save(sh, admin, &next)?;
    run(sh, admin, l, effects).await?;
    Ok(true)
}

/// An admin button (the router checked the presser is an admin). Returns an alert to show.
pub async fn button(
    sh: &Shared,
    admin: i64,
    l: Lang,
    b: AdminButton,
) -> anyhow::Result<Option<String>> {
    let (next, effects) = step::step(load(sh, admin), Input::Button(b));
    save(sh, admin, &next)?;
    run(sh, admin, l, effects).await
}

/// `/campaigns`: what waits for review, then every campaign with its card button.
pub async fn review_queue(sh: &Shared, admin: i64, l: Lang) -> anyhow::Result<()> {
    let offers = sh.ctx.store.read(store::offers::list_offers)?;
    let pending: Vec<_> = offers
        .iter()
        .filter(|o| o.status == OfferStatus::PendingReview)
        .collect();
    if pending.is_empty() {
        sh.say(admin, texts::queue_empty(l)).await?;
    }
    for o in pending {
        send_review_card(sh, admin, l, o).await?;
    }
    let listed: Vec<_> = offers
        .iter()
        .filter(|o| {
            matches!(
                o.status,
                OfferStatus::Active | OfferStatus::Paused | OfferStatus::AwaitingPayment
            )
        })
        .rev()
        .take(30)
        .collect();
    if !listed.is_empty() {
        let rows: Vec<Vec<TgButton>> = listed
            .iter()
            .map(|o| {
                vec![TgButton::data(
                    texts::list_label(l, o),
                    Button::Admin(AdminButton::Card(o.id)).encode(),
                )]
            })
            .collect();
        sh.send(
            admin,
            InputMessage::new()
                .text(texts::all_campaigns(l))
                .reply_markup(ReplyMarkup::from_buttons(&rows)),
        )
        .await?;
    }
    Ok(())
}

async fn send_review_card(
    sh: &Shared,
    admin: i64,
    l: Lang,
    o: &Offer,
) -> anyhow::Result<Option<i32>> {
    let rows = vec![vec![
        TgButton::data(
            texts::approve(l),
            Button::Admin(AdminButton::Approve(o.id)).encode(),
        ),
        TgButton::data(
            texts::reject(l),
            Button::Admin(AdminButton::Reject(o.id)).encode(),
        ),
    ]];
    let paid = sh.ctx.store.read(|c| {
        store::payments::paid_for(
            c,
            OfferId(o.id),
            crate::domain::payment::PaymentKind::CampaignBudget,
        )
    })?;
    let text = texts::review_card(l, o, paid, &self::link(sh, o));
    sh.send_id(
        admin,
        InputMessage::new()
            .text(text)
            .reply_markup(ReplyMarkup::from_buttons(&rows)),
    )
    .await
}

/// A campaign was paid: every admin gets its card with Approve and Reject.
pub async fn campaign_paid(sh: &Shared, offer: OfferId) -> anyhow::Result<()> {
    let Some(o) = sh.ctx.store.read(|c| store::offers::get_offer(c, offer))? else {
        return Ok(());
    };
    for admin in sh.ctx.telegram.admins.clone() {
        let l = sh.lang_of(admin);
        match send_review_card(sh, admin, l, &o).await {
            Ok(Some(msg)) => {
                service::review_card_sent(&sh.ctx.store, offer, admin, msg)?;
            }
            Ok(None) => {}
            // Admins who never started the bot cannot be messaged; /campaigns still lists it.
            Err(e) => log::warn!("bot: review card for admin {admin}: {e:#}"),
        }
    }
    Ok(())
}

/// After the first decision, every admin's card says who decided and loses its buttons.
async fn close_cards(sh: &Shared, offer: OfferId, decided_by: i64, approved: bool) {
    let cards = match sh.ctx.store.read(|c| store::offers::review_cards(c, offer)) {
        Ok(c) => c,
        Err(e) => return log::error!("bot: review cards of {offer}: {e}"),
    };
    let Ok(Some(o)) = sh.ctx.store.read(|c| store::offers::get_offer(c, offer)) else {
        return;
    };
    for (admin, msg) in cards {
        let l = sh.lang_of(admin);
        let text = texts::decided_card(l, &o, decided_by, approved);
        if let Err(e) = sh.tg.edit(admin, msg, InputMessage::new().text(text)).await {
            log::warn!("bot: updating the review card of admin {admin}: {e}");
        }
    }
}

fn link(sh: &Shared, o: &Offer) -> String {
    format!("{}/click/{}?uid={{click_id}}", sh.ctx.public_base_url, o.id)
}

fn offer(sh: &Shared, id: i64) -> anyhow::Result<Option<Offer>> {
    Ok(sh
        .ctx
        .store
        .read(|c| store::offers::get_offer(c, OfferId(id)))?)
}

async fn run(
    sh: &Shared,
    admin: i64,
    l: Lang,
    effects: Vec<Effect>,
) -> anyhow::Result<Option<String>> {
    let mut alert = None;
    for e in effects {
        alert = apply(sh, admin, l, e).await?.or(alert);
    }
    Ok(alert)
}

async fn apply(sh: &Shared, admin: i64, l: Lang, e: Effect) -> anyhow::Result<Option<String>> {
    let now = sh.now();
    match e {
        Effect::Ask(q) => sh.say(admin, texts::ask(l, q)).await.map(|_| None),
        Effect::Invalid(q, p) => sh.say(admin, texts::reask(l, p, q)).await.map(|_| None),
        Effect::Card(id) => {
            let Some(o) = offer(sh, id)? else {
                return Ok(Some(texts::no_campaign(l).into()));
            };
            let rows = texts::card_buttons(l, &o);
            sh.send(
                admin,
                InputMessage::new()
                    .text(texts::full_card(l, &o, &link(sh, &o)))
                    .reply_markup(ReplyMarkup::from_buttons(&rows)),
            )
            .await?;
            Ok(None)
        }
        Effect::Approve(id) => {
            match service::set_status(
                &sh.ctx.store,
                OfferId(id),
                Some(OfferStatus::PendingReview),
                OfferStatus::Active,
                Actor::Admin(admin),
                now,
            ) {
                Ok(o) => {
                    close_cards(sh, OfferId(id), admin, true).await;
                    if let Some(adv) = o.advertiser_id {
                        let al = sh.lang_of(adv);
                        sh.say(adv, texts::advertiser_approved(al, &o)).await?;
                    }
                    Ok(Some(texts::done(l).into()))
                }
                Err(e) => Ok(Some(texts::status_error(l, &e))),
            }
        }
        Effect::Reject { offer: id, reason } => {
            match service::set_status(
                &sh.ctx.store,
                OfferId(id),
                Some(OfferStatus::PendingReview),
                OfferStatus::Rejected,
                Actor::Admin(admin),
                now,
            ) {
                Ok(o) => {
                    sh.ctx.engine.note(
                        None,
                        None,
                        "rejection reason",
                        &format!("offer {id}: {reason}"),
                        now,
                    )?;
                    // Nothing ran, so the whole budget goes back: every charge, refunded whole.
                    let mut refunded = 0;
                    for (payer, charge, amount) in
                        service::refundable_charges(&sh.ctx.store, OfferId(id))?
                    {
                        match payments::refund(
                            sh,
                            payer,
                            &charge,
                            amount,
                            Some(OfferId(id)),
                            None,
                            &format!("campaign rejected: {reason}"),
                        )
                        .await
                        {
                            Ok(()) => refunded += amount,
                            Err(e) => {
                                log::error!("bot: refund of campaign {id}: {e:#}");
                                sh.say(admin, texts::refund_failed(l, id, &e.to_string()))
                                    .await?;
                            }
                        }
                    }
                    close_cards(sh, OfferId(id), admin, false).await;
                    if let Some(adv) = o.advertiser_id {
                        let al = sh.lang_of(adv);
                        sh.say(adv, texts::advertiser_rejected(al, &o, &reason, refunded))
                            .await?;
                    }
                    sh.say(admin, texts::rejected_done(l, id, refunded)).await?;
                    Ok(None)
                }
                Err(e) => {
                    sh.say(admin, texts::status_error(l, &e)).await?;
                    Ok(None)
                }
            }
        }
        Effect::SetPostback { offer: id, line } => {
            let Some(o) = offer(sh, id)? else {
                return Ok(Some(texts::no_campaign(l).into()));
            };
            match crate::postback::spec::parse_line(&line, &o.postback) {
                Ok(spec) => {
                    service::set_postback(
                        &sh.ctx.store,
                        OfferId(id),
                        &spec,
                        Actor::Admin(admin),
                        now,
                    )?;
                    sh.say(admin, texts::postback_set(l, id, &spec)).await?;
                }
                Err(e) => {
                    save(sh, admin, &step::AdminState::Postback { offer: id })?;
                    sh.say(admin, texts::bad_postback(l, &e, id)).await?;
                }
            }
            Ok(None)
        }
        Effect::TestPostback(id) => {
            let store = sh.ctx.store.clone();
            let cfg = sh.ctx.postback.clone();
            // The test fire blocks on HTTP (ureq): off the bot's runtime thread.
            let report = tokio::task::spawn_blocking(move || {
                crate::postback::cli::test(&store, &cfg, OfferId(id), None)
            })
            .await?;
            let text = match report {
                Ok(r) => texts::test_report(l, &r.to_string()),
                Err(e) => texts::test_failed(l, &format!("{e:#}")),
            };
            sh.say(admin, text).await?;
            Ok(None)
        }
        Effect::Link(id) => {
            let Some(o) = offer(sh, id)? else {
                return Ok(Some(texts::no_campaign(l).into()));
            };
            sh.say(admin, texts::tracking_link(l, &link(sh, &o)))
                .await?;
            Ok(None)
        }
        Effect::Pause(id) | Effect::Resume(id) | Effect::Finish(id) => {
            let to = match e {
                Effect::Pause(_) => OfferStatus::Paused,
                Effect::Resume(_) => OfferStatus::Active,
                _ => OfferStatus::Finished,
            };
            match service::set_status(
                &sh.ctx.store,
                OfferId(id),
                None,
                to,
                Actor::Admin(admin),
                now,
            ) {
                Ok(o) => {
                    if let Some(adv) = o.advertiser_id.filter(|a| *a != admin) {
                        let al = sh.lang_of(adv);
                        sh.say(adv, texts::advertiser_status(al, &o)).await?;
                    }
                    Ok(Some(texts::now_status(l, &o)))
                }
                Err(e) => Ok(Some(texts::status_error(l, &e))),
            }
        }
        Effect::SetMinPrice { action, price } => {
            if let Err(e) = settings_service::set_min_price(
                &sh.ctx.store,
                action,
                price,
                Actor::Admin(admin),
                now,
            ) {
                return Ok(Some(e.to_string()));
            }
            settings(sh, admin, l).await?;
            Ok(None)
        }
        Effect::SetHold { action, seconds } => {
            if let Err(e) = settings_service::set_default_hold(
                &sh.ctx.store,
                action,
                seconds,
                Actor::Admin(admin),
                now,
            ) {
                return Ok(Some(e.to_string()));
            }
            settings(sh, admin, l).await?;
            Ok(None)
        }
    }
}

/// `/settings`: minimum prices and default hold windows, each with an edit button.
pub async fn settings(sh: &Shared, admin: i64, l: Lang) -> anyhow::Result<()> {
    let mut lines = Vec::new();
    let mut rows = Vec::new();
    for a in ALL_ACTIONS {
        let min = sh.minimum(a);
        let hold = store::settings::default_hold(&sh.ctx.store, a)?;
        lines.push(texts::setting_line(l, a, min, hold));
        rows.push(vec![
            TgButton::data(
                texts::edit_min(l, a),
                Button::Admin(AdminButton::MinPrice(a)).encode(),
            ),
            TgButton::data(
                texts::edit_hold(l),
                Button::Admin(AdminButton::Hold(a)).encode(),
            ),
        ]);
    }
    let text = format!("{}\n\n{}", texts::settings_title(l), lines.join("\n"));
    sh.send(
        admin,
        InputMessage::new()
            .text(text)
            .reply_markup(ReplyMarkup::from_buttons(&rows)),
    )
    .await
}

/// An advertiser's own status change from their campaign card: the same
/// rules as the admins', with ownership checked by the service.
pub fn status_error_text(l: Lang, e: &StatusError) -> String {
    texts::status_error(l, e)
}
