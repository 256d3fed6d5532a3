//! Sends advertiser notifications (recorded by the engine and `service::notify`)
//! to the campaign's advertiser and the admins, from the scheduler's tick.
//! A user who blocked the bot is skipped by `Shared::send`; the row is already
//! marked sent, so nothing piles up or repeats.

use super::texts::Lang;
use super::Shared;
use crate::domain::offer::Offer;
use crate::engine::notify::{ADMIN_LOST, BUDGET_EXHAUSTED, BUDGET_LOW, CAP, POSTBACKS_FAILING};
use crate::service::notify as service;
use crate::store::notifications::Notification;

/// Notifications sent per tick; the rest wait for the next one.
const BATCH: u32 = 50;

pub async fn drain(sh: &Shared) -> anyhow::Result<()> {
    let now = sh.now();
    service::detect_failing_postbacks(&sh.ctx.store, now)?;
    for (n, offer) in service::claim(&sh.ctx.store, BATCH, now)? {
        let mut to: Vec<i64> = offer.advertiser_id.into_iter().collect();
        to.extend(sh.ctx.telegram.admins.iter().copied());
        to.sort_unstable();
        to.dedup();
        for user in to {
            let l = sh.lang_of(user);
            if let Err(e) = sh.say(user, text(l, &n, &offer)).await {
                log::warn!("bot: notification {} to {user}: {e:#}", n.id);
            }
        }
    }
    Ok(())
}

/// A lost admin right seen while verifying: recorded once, sent by `drain`.
pub fn admin_rights_lost(sh: &Shared, offer: &Offer, detail: &str) {
    if let Err(e) = service::admin_rights_lost(&sh.ctx.store, offer, detail, sh.now()) {
        log::error!(
            "bot: recording lost admin rights of offer {}: {e}",
            offer.id
        );
    }
}

macro_rules! t {
    ($lang:expr, $ru:expr, $en:expr) => {
        match $lang {
            Lang::Ru => $ru,
            Lang::En => $en,
        }
    };
}

pub fn text(l: Lang, n: &Notification, o: &Offer) -> String {
    let name = format!("#{} «{}»", o.id, o.name);
    let d = &n.detail;
    match n.kind.as_str() {
        CAP => t!(l,
            format!("🎯 {name}: лимит конверсий достигнут ({d}). Новые действия сверх лимита не оплачиваются."),
            format!("🎯 {name}: the conversion cap is reached ({d}). Actions over the cap are not paid for.")),
        BUDGET_LOW => t!(l,
            format!("💰 {name}: осталось меньше 10% бюджета ({d}). Пополните бюджет, чтобы кампания не остановилась."),
            format!("💰 {name}: less than 10% of the budget is left ({d}). Top it up so the campaign does not stop.")),
        BUDGET_EXHAUSTED => t!(l,
            format!("⛔ {name}: бюджет исчерпан ({d}), кампания поставлена на паузу."),
            format!("⛔ {name}: the budget is exhausted ({d}); the campaign is paused.")),
        ADMIN_LOST => t!(l,
            format!("⚠️ {name}: бот больше не администратор целевого чата, проверять действия нельзя. Кампания поставлена на паузу. Что сделать: снова назначьте бота администратором чата, затем возобновите кампанию в /statistic."),
            format!("⚠️ {name}: the bot is no longer an administrator of the target chat, so actions cannot be verified. The campaign is paused. To fix: make the bot an administrator of the chat again, then resume the campaign in /statistic.")),
        POSTBACKS_FAILING => t!(l,
            format!("📡 {name}: постбэки в CPA-сеть не доходят ({d} не доставлено за сутки). Проверьте URL постбэка."),
            format!("📡 {name}: postbacks to the CPA network are failing ({d} undelivered in a day). Check the postback URL.")),
        other => format!("{name}: {other} {d}"),
    }
}
