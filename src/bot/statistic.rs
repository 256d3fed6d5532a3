//! `/statistic`: the campaign list (own campaigns; admins: all, filtered by
//! advertiser), one campaign's figures, its chart (PNG photo) and CSV files.
//!
//! Every figure comes from `service::stats`, the implementation `tgtrack stats`
//! uses. Button data is forgeable: each handler loads the campaign and checks
//! it is the user's (or the user is an admin) before showing or sending anything.

use grammers_client::message::{Button as TgButton, InputMessage, ReplyMarkup};

use super::advertiser::CampaignButton;
use super::buttons::Button;
use super::texts::Lang;
use super::tg::{FileKind, OutFile, TgError};
use super::Shared;
use crate::domain::offer::{Offer, OfferStatus};
use crate::report;
use crate::service::stats::{self, CampaignStats, Window};
use crate::store::{self, OfferId};

/// Campaigns per page of the list.
pub const PAGE: usize = 8;
/// Days the chart and the per-day CSV cover.
pub const SERIES_DAYS: u64 = 30;

/// Buttons of the statistic room. Encoded as `s:<tag>:<numbers>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatsButton {
    /// A page of the list; `advertiser` 0 = every campaign the user may see.
    List {
        page: u32,
        advertiser: i64,
    },
    /// Admins: pick an advertiser to filter by.
    Advertisers,
    Details(i64),
    Chart(i64),
    DaysCsv(i64),
    ConversionsCsv(i64),
}

impl StatsButton {
    pub fn encode(self) -> String {
        match self {
            StatsButton::List { page, advertiser } => format!("s:l:{page}:{advertiser}"),
            StatsButton::Advertisers => "s:a:0".into(),
            StatsButton::Details(o) => format!("s:d:{o}"),
            StatsButton::Chart(o) => format!("s:g:{o}"),
            StatsButton::DaysCsv(o) => format!("s:c:{o}"),
            StatsButton::ConversionsCsv(o) => format!("s:v:{o}"),
        }
    }

    pub fn decode(rest: &str) -> Option<StatsButton> {
        let (tag, rest) = rest.split_once(':')?;
        if tag == "l" {
            let (page, adv) = rest.split_once(':')?;
            return Some(StatsButton::List {
                page: page.parse().ok()?,
                advertiser: adv.parse().ok().filter(|a| *a >= 0)?,
            });
        }
        if tag == "a" {
            return (rest == "0").then_some(StatsButton::Advertisers);
        }
        let n: i64 = rest.parse().ok().filter(|n| *n > 0)?;
        Some(match tag {
            "d" => StatsButton::Details(n),
            "g" => StatsButton::Chart(n),
            "c" => StatsButton::DaysCsv(n),
            "v" => StatsButton::ConversionsCsv(n),
            _ => return None,
        })
    }
}

/// `/statistic`: the first page of the user's campaigns.
pub async fn open(sh: &Shared, user: i64, l: Lang) -> anyhow::Result<()> {
    list(sh, user, l, 0, 0).await
}

/// The campaigns `user` may see, newest first; admins may filter by advertiser.
fn visible(sh: &Shared, user: i64, advertiser: i64) -> anyhow::Result<Vec<Offer>> {
    let mut offers = if sh.is_admin(user) {
        if advertiser > 0 {
            sh.ctx
                .store
                .read(|c| store::offers::offers_of_advertiser(c, advertiser))?
        } else {
            sh.ctx.store.read(store::offers::list_offers)?
        }
    } else {
        // Whatever the button said, an advertiser sees only their own.
        sh.ctx
            .store
            .read(|c| store::offers::offers_of_advertiser(c, user))?
    };
    offers.retain(|o| o.status != OfferStatus::Draft);
    offers.sort_by_key(|o| std::cmp::Reverse(o.id));
    Ok(offers)
}

async fn list(sh: &Shared, user: i64, l: Lang, page: u32, advertiser: i64) -> anyhow::Result<()> {
    let admin = sh.is_admin(user);
    let advertiser = if admin { advertiser } else { 0 };
    let offers = visible(sh, user, advertiser)?;
    if offers.is_empty() && !admin {
        return sh.say(user, texts::no_campaigns(l)).await;
    }
    let pages = offers.len().div_ceil(PAGE).max(1);
    let page = (page as usize).min(pages - 1);
    let mut rows: Vec<Vec<TgButton>> = offers
        .iter()
        .skip(page * PAGE)
        .take(PAGE)
        .map(|o| {
            vec![TgButton::data(
                super::admin::texts_list_label(l, o),
                Button::Stats(StatsButton::Details(o.id)).encode(),
            )]
        })
        .collect();
    let mut nav = Vec::new();
    let to = |p: usize| {
        Button::Stats(StatsButton::List {
            page: p as u32,
            advertiser,
        })
        .encode()
    };
    if page > 0 {
        nav.push(TgButton::data("◀", to(page - 1)));
    }
    if page + 1 < pages {
        nav.push(TgButton::data("▶", to(page + 1)));
    }
    if !nav.is_empty() {
        rows.push(nav);
    }
    if admin {
        rows.push(vec![TgButton::data(
            texts::filter(l),
            Button::Stats(StatsButton::Advertisers).encode(),
        )]);
    }
    let head = texts::list_head(l, page + 1, pages, offers.len(), advertiser);
    sh.send(
        user,
        InputMessage::new()
            .text(head)
            .reply_markup(ReplyMarkup::from_buttons(&rows)),
    )
    .await
}

/// `/ledger` (admins): payments, refunds, spend and balances per advertiser,
/// the same figures as `tgtrack ledger`.
pub async fn ledger(sh: &Shared, user: i64, l: Lang) -> anyhow::Result<()> {
    let ledger = crate::service::ledger::ledger(&sh.ctx.store)?;
    sh.say(user, texts::ledger(l, &ledger)).await
}

/// Admins: the advertisers to filter the list by.
async fn advertisers(sh: &Shared, user: i64, l: Lang) -> anyhow::Result<()> {
    let offers = sh.ctx.store.read(store::offers::list_offers)?;
    let mut ids: Vec<i64> = offers.iter().filter_map(|o| o.advertiser_id).collect();
    ids.sort_unstable();
    ids.dedup();
    let mut rows: Vec<Vec<TgButton>> = vec![vec![TgButton::data(
        texts::everyone(l),
        Button::Stats(StatsButton::List {
            page: 0,
            advertiser: 0,
        })
        .encode(),
    )]];
    for id in ids.into_iter().take(40) {
        let who = sh
            .ctx
            .store
            .read(|c| store::users::get_user(c, id))?
            .map(|u| match u.username {
                Some(n) => format!("@{n}"),
                None => u.first_name.unwrap_or_else(|| id.to_string()),
            })
            .unwrap_or_else(|| id.to_string());
        rows.push(vec![TgButton::data(
            who,
            Button::Stats(StatsButton::List {
                page: 0,
                advertiser: id,
            })
            .encode(),
        )]);
    }
    sh.send(
        user,
        InputMessage::new()
            .text(texts::pick_advertiser(l))
            .reply_markup(ReplyMarkup::from_buttons(&rows)),
    )
    .await
}

/// A button of the statistic room; returns the alert to show, if any.
pub async fn button(
    sh: &Shared,
    user: i64,
    l: Lang,
    b: StatsButton,
) -> anyhow::Result<Option<String>> {
    let id = match b {
        StatsButton::List { page, advertiser } => {
            list(sh, user, l, page, advertiser).await?;
            return Ok(None);
        }
        StatsButton::Advertisers if sh.is_admin(user) => {
            advertisers(sh, user, l).await?;
            return Ok(None);
        }
        StatsButton::Advertisers => {
            log::warn!("bot: user {user} pressed the admins' advertiser filter");
            return Ok(Some(super::texts::admins_only(l).to_string()));
        }
        StatsButton::Details(o)
        | StatsButton::Chart(o)
        | StatsButton::DaysCsv(o)
        | StatsButton::ConversionsCsv(o) => o,
    };
    let Some(o) = sh
        .ctx
        .store
        .read(|c| store::offers::get_offer(c, OfferId(id)))?
        .filter(|o| o.advertiser_id == Some(user) || sh.is_admin(user))
    else {
        // Forged or stale: the same answer whether the campaign exists or not.
        log::info!("bot: user {user} asked for campaign {id} statistics they may not see");
        return Ok(Some(texts::not_found(l).into()));
    };
    let now = sh.now();
    match b {
        StatsButton::Details(_) => details(sh, user, l, &o, now).await?,
        StatsButton::Chart(_) => {
            let days = stats::series(&sh.ctx.store, &o, SERIES_DAYS, now)?;
            let title = texts::chart_title(l, &o);
            let labels = report::chart::Labels {
                title: &title,
                clicks: texts::clicks(l),
                approved: texts::approved(l),
                rejected: texts::rejected(l),
                spent: texts::spent(l),
            };
            let png = report::chart::png(&days, &labels)?;
            let name = format!("campaign-{}-chart.png", o.id);
            let file = OutFile {
                name: &name,
                mime: "image/png",
                kind: FileKind::Photo,
                bytes: &png,
            };
            send_file(sh, user, &file, &title).await?;
        }
        StatsButton::DaysCsv(_) => {
            let days = stats::series(&sh.ctx.store, &o, SERIES_DAYS, now)?;
            let csv = report::csv::days(&days);
            let name = format!("campaign-{}-days.csv", o.id);
            let file = OutFile {
                name: &name,
                mime: "text/csv",
                kind: FileKind::Document,
                bytes: &csv,
            };
            send_file(sh, user, &file, &texts::days_caption(l, &o)).await?;
        }
        StatsButton::ConversionsCsv(_) => {
            let rows = stats::conversions(&sh.ctx.store, OfferId(o.id))?;
            let csv = report::csv::conversions(&rows, o.postback.send_user_id);
            let name = format!("campaign-{}-conversions.csv", o.id);
            let file = OutFile {
                name: &name,
                mime: "text/csv",
                kind: FileKind::Document,
                bytes: &csv,
            };
            send_file(sh, user, &file, &texts::conversions_caption(l, &o)).await?;
        }
        StatsButton::List { .. } | StatsButton::Advertisers => unreachable!("handled above"),
    }
    Ok(None)
}

/// Sends a file; a user who blocked the bot is skipped like `Shared::send` does.
async fn send_file(
    sh: &Shared,
    user: i64,
    file: &OutFile<'_>,
    caption: &str,
) -> anyhow::Result<()> {
    match sh.tg.send_file(user, file, caption).await {
        Ok(_) => Ok(()),
        Err(TgError::Unreachable(why)) => {
            log::info!("bot: user {user} cannot receive files ({why})");
            Ok(())
        }
        Err(e) => Err(e.into()),
    }
}

async fn details(sh: &Shared, user: i64, l: Lang, o: &Offer, now: i64) -> anyhow::Result<()> {
    let Some(s) = stats::campaign(&sh.ctx.store, OfferId(o.id), now)? else {
        return sh.say(user, texts::not_found(l)).await;
    };
    let mut rows = vec![
        vec![
            TgButton::data(
                texts::chart(l),
                Button::Stats(StatsButton::Chart(o.id)).encode(),
            ),
            TgButton::data(
                texts::days_csv(l),
                Button::Stats(StatsButton::DaysCsv(o.id)).encode(),
            ),
        ],
        vec![TgButton::data(
            texts::conversions_csv(l),
            Button::Stats(StatsButton::ConversionsCsv(o.id)).encode(),
        )],
    ];
    match o.status {
        OfferStatus::Active => rows.push(vec![TgButton::data(
            texts::pause(l),
            Button::Campaign(CampaignButton::Pause(o.id)).encode(),
        )]),
        OfferStatus::Paused => rows.push(vec![TgButton::data(
            texts::resume(l),
            Button::Campaign(CampaignButton::Resume(o.id)).encode(),
        )]),
        _ => {}
    }
    sh.send(
        user,
        InputMessage::new()
            .text(texts::figures(l, &s))
            .reply_markup(ReplyMarkup::from_buttons(&rows)),
    )
    .await
}

pub mod texts {
    use super::*;
    use crate::bot::admin::texts_pub::status_word;

    macro_rules! t {
        ($lang:expr, $ru:expr, $en:expr) => {
            match $lang {
                Lang::Ru => $ru,
                Lang::En => $en,
            }
        };
    }

    pub fn no_campaigns(l: Lang) -> &'static str {
        t!(
            l,
            "У вас пока нет кампаний. Создайте первую: /ads",
            "You have no campaigns yet. Create one: /ads"
        )
    }
    pub fn not_found(l: Lang) -> &'static str {
        t!(l, "Кампания не найдена.", "Campaign not found.")
    }
    pub fn list_head(l: Lang, page: usize, pages: usize, total: usize, advertiser: i64) -> String {
        let filter = if advertiser > 0 {
            t!(
                l,
                format!(" (рекламодатель {advertiser})"),
                format!(" (advertiser {advertiser})")
            )
        } else {
            String::new()
        };
        t!(
            l,
            format!("Кампании{filter}: {total}, страница {page}/{pages}. Выберите кампанию:"),
            format!("Campaigns{filter}: {total}, page {page}/{pages}. Pick a campaign:")
        )
    }
    pub fn filter(l: Lang) -> &'static str {
        t!(l, "🔎 По рекламодателю", "🔎 By advertiser")
    }
    pub fn everyone(l: Lang) -> &'static str {
        t!(l, "Все кампании", "All campaigns")
    }
    pub fn pick_advertiser(l: Lang) -> &'static str {
        t!(l, "Чьи кампании показать?", "Whose campaigns?")
    }
    pub fn chart(l: Lang) -> &'static str {
        t!(l, "📈 График", "📈 Chart")
    }
    pub fn days_csv(l: Lang) -> &'static str {
        t!(l, "📄 CSV по дням", "📄 CSV by day")
    }
    pub fn conversions_csv(l: Lang) -> &'static str {
        t!(l, "📄 CSV конверсий", "📄 Conversions CSV")
    }
    pub fn pause(l: Lang) -> &'static str {
        t!(l, "⏸ Пауза", "⏸ Pause")
    }
    pub fn resume(l: Lang) -> &'static str {
        t!(l, "▶️ Возобновить", "▶️ Resume")
    }
    pub fn clicks(l: Lang) -> &'static str {
        t!(l, "Клики", "Clicks")
    }
    pub fn approved(l: Lang) -> &'static str {
        t!(l, "Одобрено", "Approved")
    }
    pub fn rejected(l: Lang) -> &'static str {
        t!(l, "Отклонено", "Rejected")
    }
    pub fn spent(l: Lang) -> &'static str {
        t!(l, "Потрачено, звёзд", "Spent, Stars")
    }
    pub fn chart_title(l: Lang, o: &Offer) -> String {
        t!(
            l,
            format!("#{} «{}»: {} дней", o.id, o.name, SERIES_DAYS),
            format!("#{} \"{}\": last {} days", o.id, o.name, SERIES_DAYS)
        )
    }
    pub fn days_caption(l: Lang, o: &Offer) -> String {
        t!(
            l,
            format!(
                "#{}: по дням за {} дней ({})",
                o.id, SERIES_DAYS, o.timezone
            ),
            format!(
                "#{}: per day, last {} days ({})",
                o.id, SERIES_DAYS, o.timezone
            )
        )
    }
    pub fn conversions_caption(l: Lang, o: &Offer) -> String {
        t!(
            l,
            format!("#{}: конверсии", o.id),
            format!("#{}: conversions", o.id)
        )
    }
    fn window(l: Lang, w: Window) -> &'static str {
        match w {
            Window::Today => t!(l, "Сегодня", "Today"),
            Window::Days7 => t!(l, "7 дней", "7 days"),
            Window::Days30 => t!(l, "30 дней", "30 days"),
            Window::All => t!(l, "Всё время", "All time"),
        }
    }
    fn cap(l: Lang, kind: &str) -> &'static str {
        match kind {
            "total" => t!(l, "всего", "total"),
            "hour" => t!(l, "в час", "hour"),
            "day" => t!(l, "в день", "day"),
            _ => t!(l, "в неделю", "week"),
        }
    }
    pub fn reason(l: Lang, r: &str) -> String {
        let ru = match r {
            "undone" => "отменено в холде",
            "already_done" => "уже было",
            "cap_total" | "cap_hour" | "cap_day" | "cap_week" => "лимит",
            "budget_exhausted" => "бюджет исчерпан",
            "out_of_schedule" => "вне расписания",
            "offer_not_active" => "кампания не активна",
            "blocked_bot" => "заблокировал бота",
            "recheck_failed" => "не прошло проверку",
            "not_a_user" => "не пользователь",
            "manual" => "вручную",
            other => other,
        };
        match l {
            Lang::Ru => ru.to_string(),
            Lang::En => r.to_string(),
        }
    }

    pub fn ledger(l: Lang, g: &crate::service::ledger::Ledger) -> String {
        let line = |who: String, a: &crate::service::ledger::Account| {
            t!(l,
                format!("{who}: оплачено {}, возвращено {}, потрачено {}, остаток {} (в кампаниях {}, кредит {})\n", a.paid, a.refunded, a.spent, a.balance(), a.held, a.credit),
                format!("{who}: paid {}, refunded {}, spent {}, balance {} (in campaigns {}, credit {})\n", a.paid, a.refunded, a.spent, a.balance(), a.held, a.credit))
        };
        let mut out = t!(
            l,
            "Учёт звёзд по рекламодателям:\n",
            "Stars ledger by advertiser:\n"
        )
        .to_string();
        for a in g.accounts.iter().take(50) {
            out.push_str(&line(a.advertiser.to_string(), a));
        }
        out.push_str(&line(t!(l, "Итого", "Total").to_string(), &g.total));
        out.push_str(if g.reconciles() {
            t!(
                l,
                "✅ Сходится: оплачено = потрачено + возвращено + остаток",
                "✅ Reconciles: paid = spent + refunded + balance"
            )
        } else {
            t!(
                l,
                "❌ НЕ сходится: проверьте `tgtrack ledger`",
                "❌ Does NOT reconcile: see `tgtrack ledger`"
            )
        });
        out
    }

    /// The figures message: budget and caps, then one block per window.
    pub fn figures(l: Lang, s: &CampaignStats) -> String {
        let o = &s.offer;
        let mut out = format!(
            "#{} «{}» — {} ({})\n",
            o.id,
            o.name,
            status_word(l, o.status),
            o.timezone
        );
        match (o.budget_total, s.budget_left) {
            (Some(total), Some(left)) => out.push_str(&t!(
                l,
                format!(
                    "Бюджет: потрачено {} из {total} ⭐, осталось {left} ⭐\n",
                    o.budget_spent
                ),
                format!(
                    "Budget: spent {} of {total} ⭐, left {left} ⭐\n",
                    o.budget_spent
                )
            )),
            _ => out.push_str(&t!(
                l,
                format!("Бюджет: без ограничения, потрачено {} ⭐\n", o.budget_spent),
                format!("Budget: unlimited, spent {} ⭐\n", o.budget_spent)
            )),
        }
        if !s.caps.is_empty() {
            let caps: Vec<String> = s
                .caps
                .iter()
                .map(|c| format!("{} {}/{}", cap(l, c.kind), c.used, c.limit))
                .collect();
            out.push_str(&format!(
                "{}: {}\n",
                t!(l, "Лимиты", "Caps"),
                caps.join(", ")
            ));
        }
        for (w, f) in &s.windows {
            let n = &f.n;
            out.push_str(&format!("\n📅 {}\n", window(l, *w)));
            out.push_str(&t!(
                l,
                format!(
                    "Клики: {} (уникальные {}) · запуски бота: {} · действия: {}\n",
                    n.hits,
                    n.clicks,
                    n.leads,
                    n.actions()
                ),
                format!(
                    "Clicks: {} (unique {}) · bot starts: {} · actions: {}\n",
                    n.hits,
                    n.clicks,
                    n.leads,
                    n.actions()
                )
            ));
            out.push_str(&t!(
                l,
                format!(
                    "В холде: {} · одобрено: {} · отклонено: {}\n",
                    n.holds, n.approved, n.rejected
                ),
                format!(
                    "Hold: {} · approved: {} · rejected: {}\n",
                    n.holds, n.approved, n.rejected
                )
            ));
            if !f.reasons.is_empty() {
                let top: Vec<String> = f
                    .reasons
                    .iter()
                    .take(3)
                    .map(|(r, k)| format!("{} {k}", reason(l, r)))
                    .collect();
                out.push_str(&format!(
                    "{}: {}\n",
                    t!(l, "Причины отказов", "Top rejections"),
                    top.join(", ")
                ));
            }
            out.push_str(&t!(
                l,
                format!(
                    "CR клик→одобрено: {:.2}% · Premium: {:.0}% · потрачено: {} ⭐\n",
                    f.cr_approved(),
                    f.premium_share(),
                    n.spent
                ),
                format!(
                    "CR click→approved: {:.2}% · Premium: {:.0}% · spent: {} ⭐\n",
                    f.cr_approved(),
                    f.premium_share(),
                    n.spent
                )
            ));
            out.push_str(&t!(
                l,
                format!(
                    "Постбэки: доставлено {}, в очереди {}, ошибки {}\n",
                    n.postbacks_sent, n.postbacks_pending, n.postbacks_failed
                ),
                format!(
                    "Postbacks: delivered {}, pending {}, failed {}\n",
                    n.postbacks_sent, n.postbacks_pending, n.postbacks_failed
                )
            ));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buttons_round_trip() {
        for b in [
            StatsButton::List {
                page: u32::MAX,
                advertiser: i64::MAX,
            },
            StatsButton::List {
                page: 0,
                advertiser: 0,
            },
            StatsButton::Advertisers,
            StatsButton::Details(i64::MAX),
            StatsButton::Chart(1),
            StatsButton::DaysCsv(2),
            StatsButton::ConversionsCsv(3),
        ] {
            let e = Button::Stats(b).encode();
            assert!(e.len() <= 64, "{}", e.len());
            assert_eq!(Button::decode(&e), Some(Button::Stats(b)));
        }
        for bad in [
            "s:l:0:-1", "s:l:x:0", "s:l:0", "s:a:1", "s:d:0", "s:g:-5", "s:z:1", "s:",
        ] {
            assert_eq!(Button::decode(bad.as_bytes()), None, "{bad}");
        }
    }
}
