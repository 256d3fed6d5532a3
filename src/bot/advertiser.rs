//! Advertisers in the bot: the `/ads` wizard's glue (the pure wizard is in
//! `ads/`), what happens when a campaign is paid, and pause / resume of the
//! advertiser's own campaigns (the list and figures are `statistic.rs`).

use grammers_client::message::{Button as TgButton, InputMessage, ReplyMarkup};

use super::admin;
use super::buttons::Button;
use super::texts::Lang;
use super::Shared;
use crate::domain::offer::{Action, OfferStatus};
use crate::service::offers::{self as service, Actor};
use crate::store::{self, OfferId};

/// Buttons on an advertiser's campaign list. Encoded as `c:<tag>:<offer>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CampaignButton {
    Details(i64),
    Pause(i64),
    Resume(i64),
}

impl CampaignButton {
    pub fn encode(self) -> String {
        let (tag, n) = match self {
            CampaignButton::Details(o) => ("d", o),
            CampaignButton::Pause(o) => ("p", o),
            CampaignButton::Resume(o) => ("r", o),
        };
        format!("c:{tag}:{n}")
    }

    pub fn decode(rest: &str) -> Option<CampaignButton> {
        let (tag, n) = rest.split_once(':')?;
        let n: i64 = n.parse().ok().filter(|n| *n > 0)?;
        Some(match tag {
            "d" => CampaignButton::Details(n),
            "p" => CampaignButton::Pause(n),
            "r" => CampaignButton::Resume(n),
            _ => return None,
        })
    }
}

/// The campaign was paid: the wizard is over, the advertiser is told it waits
/// for review, and every admin gets the review card.
pub async fn campaign_paid(sh: &Shared, user: i64, offer: OfferId) -> anyhow::Result<()> {
    super::ads_glue::finished(sh, user)?;
    let l = sh.lang_of(user);
    sh.say(user, texts::paid(l, offer.0)).await?;
    admin::campaign_paid(sh, offer).await
}

/// A button on an advertiser's campaign: ownership is checked here and by the
/// service, so forged button data shows nothing and changes nothing.
pub async fn campaign_button(
    sh: &Shared,
    user: i64,
    l: Lang,
    b: CampaignButton,
) -> anyhow::Result<Option<String>> {
    let id = match b {
        CampaignButton::Details(o) | CampaignButton::Pause(o) | CampaignButton::Resume(o) => o,
    };
    let Some(o) = sh
        .ctx
        .store
        .read(|c| store::offers::get_offer(c, OfferId(id)))?
        .filter(|o| o.advertiser_id == Some(user) || sh.is_admin(user))
    else {
        return Ok(Some(texts::not_found(l).into()));
    };
    let actor = if o.advertiser_id == Some(user) {
        Actor::Advertiser(user)
    } else {
        Actor::Admin(user)
    };
    let to = match b {
        CampaignButton::Details(_) => None,
        CampaignButton::Pause(_) => Some(OfferStatus::Paused),
        CampaignButton::Resume(_) => Some(OfferStatus::Active),
    };
    let o = match to {
        Some(to) => {
            match service::set_status(&sh.ctx.store, OfferId(id), None, to, actor, sh.now()) {
                Ok(o) => o,
                Err(e) => return Ok(Some(admin::status_error_text(l, &e))),
            }
        }
        None => o,
    };
    let mut text = texts::details(l, &o, sh.is_admin(user));
    if o.action == Action::ThirdPartyBot {
        if let Some(secret) = &o.relay_secret {
            text.push_str(&texts::relay_secret(
                l,
                o.id,
                secret,
                &sh.ctx.public_base_url,
            ));
        }
    }
    let mut row = Vec::new();
    match o.status {
        OfferStatus::Active => row.push(TgButton::data(
            texts::pause(l),
            Button::Campaign(CampaignButton::Pause(o.id)).encode(),
        )),
        OfferStatus::Paused => row.push(TgButton::data(
            texts::resume(l),
            Button::Campaign(CampaignButton::Resume(o.id)).encode(),
        )),
        _ => {}
    }
    let mut msg = InputMessage::new().text(text);
    if !row.is_empty() {
        msg = msg.reply_markup(ReplyMarkup::from_buttons(&[row]));
    }
    sh.send(user, msg).await?;
    Ok(None)
}

mod texts {
    use crate::bot::admin::texts_pub::{action_word, status_word};
    use crate::bot::texts::{duration, Lang};
    use crate::domain::offer::Offer;

    macro_rules! t {
        ($lang:expr, $ru:expr, $en:expr) => {
            match $lang {
                Lang::Ru => $ru,
                Lang::En => $en,
            }
        };
    }

    pub fn paid(l: Lang, id: i64) -> String {
        t!(l,
            format!("Оплата получена, спасибо! Кампания #{id} отправлена на проверку; я напишу, когда администратор её рассмотрит."),
            format!("Payment received, thank you! Campaign #{id} is sent for review; I will write when an admin has looked at it."))
    }
    pub fn not_found(l: Lang) -> &'static str {
        t!(l, "Кампания не найдена.", "Campaign not found.")
    }
    pub fn pause(l: Lang) -> &'static str {
        t!(l, "⏸ Пауза", "⏸ Pause")
    }
    pub fn resume(l: Lang) -> &'static str {
        t!(l, "▶️ Возобновить", "▶️ Resume")
    }
    pub fn details(l: Lang, o: &Offer, _admin: bool) -> String {
        let budget = match o.budget_total {
            Some(b) => format!("{} / {b} ⭐", o.budget_spent),
            None => "∞".into(),
        };
        format!(
            "#{} «{}»\n{}: {}\n{}: {}\n{}: {} / {} ⭐\n{}: {budget}\n{}: {}",
            o.id,
            o.name,
            t!(l, "Статус", "Status"),
            status_word(l, o.status),
            t!(l, "Действие", "Action"),
            action_word(l, o.action),
            t!(l, "Цена (обычный / Premium)", "Price (regular / Premium)"),
            o.price.regular,
            o.price.premium,
            t!(l, "Потрачено / бюджет", "Spent / budget"),
            t!(l, "Удержание", "Hold"),
            duration(l, o.hold_seconds),
        )
    }
    pub fn relay_secret(l: Lang, id: i64, secret: &str, base: &str) -> String {
        t!(l,
            format!("\n\nСекрет для relay (держите в тайне): {secret}\nВаш сервер сообщает о запусках на {base}/postbacks/relay с offer_id {id}, подписывая запрос HMAC-SHA256 (см. docs/RELAY.md)."),
            format!("\n\nRelay secret (keep it private): {secret}\nYour server reports starts to {base}/postbacks/relay with offer_id {id}, signing each request with HMAC-SHA256 (see docs/RELAY.md)."))
    }
}
