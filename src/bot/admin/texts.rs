//! What the bot tells admins, in Russian and English. Plain text (no parse
//! mode), so names and reasons typed by users are shown exactly as typed.

use grammers_client::message::Button as TgButton;

use super::step::{AdminButton, Ask, Problem};
use crate::bot::buttons::Button;
use crate::bot::texts::{duration, Lang};
use crate::domain::offer::{Action, Offer, OfferStatus, PostbackSpec, PricePair};
use crate::domain::schedule::Schedule;
use crate::service::offers::StatusError;

macro_rules! t {
    ($lang:expr, $ru:expr, $en:expr) => {
        match $lang {
            Lang::Ru => $ru,
            Lang::En => $en,
        }
    };
}

pub const COMMANDS_RU: &[(&str, &str)] = &[
    ("start", "Начать"),
    ("ads", "Создать рекламную кампанию"),
    ("statistic", "Мои кампании и статистика"),
    ("cancel", "Прервать создание кампании"),
    ("help", "Помощь"),
    ("paysupport", "Оплата и возвраты"),
];

pub const COMMANDS_EN: &[(&str, &str)] = &[
    ("start", "Start"),
    ("ads", "Create an ad campaign"),
    ("statistic", "My campaigns and statistics"),
    ("cancel", "Stop creating a campaign"),
    ("help", "Help"),
    ("paysupport", "Payments and refunds"),
];

pub fn status_word(l: Lang, s: OfferStatus) -> &'static str {
    use OfferStatus::*;
    match s {
        Draft => t!(l, "черновик", "draft"),
        AwaitingPayment => t!(l, "ждёт оплаты", "awaiting payment"),
        PendingReview => t!(l, "на проверке", "under review"),
        Active => t!(l, "активна", "active"),
        Paused => t!(l, "на паузе", "paused"),
        Finished => t!(l, "завершена", "finished"),
        Rejected => t!(l, "отклонена", "rejected"),
    }
}

pub fn action_word(l: Lang, a: Action) -> &'static str {
    use Action::*;
    match a {
        JoinChannel => t!(l, "вступление в канал/группу", "join a channel/group"),
        JoinRequest => t!(l, "заявка на вступление", "join request"),
        Comment => t!(l, "комментарий под постом", "comment under a post"),
        Reaction => t!(l, "реакция на сообщение", "reaction to a message"),
        PollVote => t!(l, "голос в опросе", "poll vote"),
        StartBot => t!(l, "запуск нашего бота", "start our bot"),
        ThirdPartyBot => t!(
            l,
            "запуск стороннего бота / мини-приложения",
            "start a third-party bot / mini app"
        ),
        StarsPayment => t!(l, "оплата счёта в Stars", "pay an invoice in Stars"),
        PaidMedia => t!(l, "покупка платного медиа", "buy paid media"),
        Boost => t!(l, "буст канала", "channel boost"),
        Share => t!(l, "репост личной ссылки", "share a personal link"),
    }
}

fn schedule_text(l: Lang, s: &Schedule, tz: &str) -> String {
    let what = match s {
        Schedule::Always => t!(l, "круглосуточно", "24/7").to_string(),
        Schedule::Weekdays => t!(l, "по будням", "weekdays").to_string(),
        Schedule::Weekends => t!(l, "по выходным", "weekends").to_string(),
        Schedule::Grid(g) => {
            let hours: u32 = g.iter().map(|d| d.count_ones()).sum();
            t!(
                l,
                format!("по сетке ({hours} ч в неделю)"),
                format!("custom grid ({hours} h a week)")
            )
        }
    };
    format!("{what}, {tz}")
}

fn caps_text(l: Lang, o: &Offer) -> String {
    let mut parts = vec![format!(
        "{} {}",
        t!(l, "всего", "total"),
        o.caps.total.map_or("∞".into(), |n| n.to_string())
    )];
    for (label, v) in [
        (t!(l, "в час", "per hour"), o.caps.hour),
        (t!(l, "в день", "per day"), o.caps.day),
        (t!(l, "в неделю", "per week"), o.caps.week),
    ] {
        if let Some(v) = v {
            parts.push(format!("{v} {label}"));
        }
    }
    parts.join(", ")
}

fn target_text(o: &Offer) -> String {
    let t = &o.target;
    let mut s = match (&t.username, &t.title) {
        (Some(u), _) => format!("@{u}"),
        (None, Some(title)) => title.clone(),
        _ => t.url.clone().unwrap_or_else(|| "—".into()),
    };
    if let Some(m) = t.msg_id {
        s.push_str(&format!(" / {m}"));
    }
    s
}

/// Everything an admin needs to decide.
pub fn review_card(l: Lang, o: &Offer, paid: i64, link: &str) -> String {
    format!(
        "{}\n\n{}\n{}: {}\n{}: {} ({})\n{}: {}\n{}: {} / {} ⭐\n{}: {}\n{}: {}\n{}: {}\n{}: {paid} ⭐\n{}: {link}",
        t!(l, "🆕 Кампания на проверку", "🆕 Campaign to review"),
        card_title(o),
        t!(l, "Рекламодатель", "Advertiser"),
        o.advertiser_id.map_or("—".into(), |a| a.to_string()),
        t!(l, "Действие", "Action"),
        action_word(l, o.action),
        o.action,
        t!(l, "Цель", "Target"),
        target_text(o),
        t!(l, "Цена (обычный / Premium)", "Price (regular / Premium)"),
        o.price.regular,
        o.price.premium,
        t!(l, "Лимиты", "Caps"),
        caps_text(l, o),
        t!(l, "Расписание", "Schedule"),
        schedule_text(l, &o.schedule, &o.timezone),
        t!(l, "Удержание", "Hold"),
        duration(l, o.hold_seconds),
        t!(l, "Оплачено", "Paid"),
        t!(l, "Ссылка для CPA-сети", "Tracking link"),
    )
}

fn card_title(o: &Offer) -> String {
    match &o.slug {
        Some(s) => format!("#{} «{}» ({s})", o.id, o.name),
        None => format!("#{} «{}»", o.id, o.name),
    }
}

pub fn decided_card(l: Lang, o: &Offer, by: i64, approved: bool) -> String {
    if approved {
        t!(
            l,
            format!("✅ {} одобрена администратором {by}.", card_title(o)),
            format!("✅ {} approved by admin {by}.", card_title(o))
        )
    } else {
        t!(
            l,
            format!("❌ {} отклонена администратором {by}.", card_title(o)),
            format!("❌ {} rejected by admin {by}.", card_title(o))
        )
    }
}

pub fn full_card(l: Lang, o: &Offer, link: &str) -> String {
    let pb = match &o.postback.url {
        Some(u) => format!(
            "{} {} ({}, {})",
            o.postback.method.as_str(),
            u,
            o.postback.preset,
            o.postback
                .statuses
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(",")
        ),
        None => t!(l, "не задан", "not set").to_string(),
    };
    let budget = match o.budget_total {
        Some(b) => format!("{} / {b} ⭐", o.budget_spent),
        None => "∞".into(),
    };
    format!(
        "{}\n{}: {}\n{}: {}\n{}: {}\n{}: {budget}\n{}: {pb}\n{}: {link}",
        card_title(o),
        t!(l, "Статус", "Status"),
        status_word(l, o.status),
        t!(l, "Действие", "Action"),
        action_word(l, o.action),
        t!(l, "Цель", "Target"),
        target_text(o),
        t!(l, "Потрачено / бюджет", "Spent / budget"),
        t!(l, "Постбэк", "Postback"),
        t!(l, "Ссылка для CPA-сети", "Tracking link"),
    )
}

pub fn card_buttons(l: Lang, o: &Offer) -> Vec<Vec<TgButton>> {
    let b = |label: &str, ab: AdminButton| TgButton::data(label, Button::Admin(ab).encode());
    let mut rows = vec![vec![
        b(t!(l, "Постбэк", "Postback"), AdminButton::Postback(o.id)),
        b(
            t!(l, "Тест постбэка", "Test postback"),
            AdminButton::TestPostback(o.id),
        ),
        b(t!(l, "Ссылка", "Link"), AdminButton::Link(o.id)),
    ]];
    let mut life = Vec::new();
    match o.status {
        OfferStatus::PendingReview => {
            life.push(b(t!(l, "Одобрить", "Approve"), AdminButton::Approve(o.id)));
            life.push(b(t!(l, "Отклонить", "Reject"), AdminButton::Reject(o.id)));
        }
        OfferStatus::Active => life.push(b(t!(l, "Пауза", "Pause"), AdminButton::Pause(o.id))),
        OfferStatus::Paused => {
            life.push(b(t!(l, "Возобновить", "Resume"), AdminButton::Resume(o.id)))
        }
        _ => {}
    }
    if matches!(o.status, OfferStatus::Active | OfferStatus::Paused) {
        life.push(b(t!(l, "Завершить", "Finish"), AdminButton::Finish(o.id)));
    }
    if !life.is_empty() {
        rows.push(life);
    }
    rows
}

pub fn list_label(l: Lang, o: &Offer) -> String {
    format!(
        "#{} {} — {}",
        o.id,
        o.name.chars().take(30).collect::<String>(),
        status_word(l, o.status)
    )
}

pub fn queue_empty(l: Lang) -> &'static str {
    t!(
        l,
        "Нет кампаний на проверке.",
        "No campaigns wait for review."
    )
}
pub fn all_campaigns(l: Lang) -> &'static str {
    t!(
        l,
        "Кампании (откройте карточку для настройки постбэка и ссылки):",
        "Campaigns (open a card to wire its postback and link):"
    )
}
pub fn approve(l: Lang) -> &'static str {
    t!(l, "✅ Одобрить", "✅ Approve")
}
pub fn reject(l: Lang) -> &'static str {
    t!(l, "❌ Отклонить", "❌ Reject")
}
pub fn no_campaign(l: Lang) -> &'static str {
    t!(l, "Такой кампании нет.", "No such campaign.")
}
pub fn done(l: Lang) -> &'static str {
    t!(l, "Готово.", "Done.")
}

pub fn ask(l: Lang, q: Ask) -> String {
    match q {
        Ask::RejectReason(id) => t!(l,
            format!("Почему кампания #{id} отклонена? Напишите причину одним сообщением — её получит рекламодатель, а оплата вернётся."),
            format!("Why is campaign #{id} rejected? Send the reason in one message: the advertiser gets it, and the payment is refunded.")),
        Ask::Postback(id) => t!(l,
            format!("Постбэк кампании #{id}: пришлите URL с макросами, затем по желанию метод (get, post_form, post_json), пресет (generic, keitaro, affise, binom, altercpa, tune) и статусы через запятую.\nПример: https://tracker.example/postback?subid={{click_id}}&status={{status}} keitaro approved,rejected"),
            format!("Postback of campaign #{id}: send the URL with macros, then optionally the method (get, post_form, post_json), the preset (generic, keitaro, affise, binom, altercpa, tune) and the statuses, comma-separated.\nExample: https://tracker.example/postback?subid={{click_id}}&status={{status}} keitaro approved,rejected")),
        Ask::MinPrice(a) => t!(l,
            format!("Минимальная цена для «{}»: пришлите два числа — обычный и Premium, например 5 10.", action_word(l, a)),
            format!("Minimum price for \"{}\": send two numbers, regular and Premium, e.g. 5 10.", action_word(l, a))),
        Ask::Hold(a) => t!(l,
            format!("Срок удержания по умолчанию для «{}»: например 72h, 3d или 0.", action_word(l, a)),
            format!("Default hold window for \"{}\": e.g. 72h, 3d or 0.", action_word(l, a))),
    }
}

/// What was wrong with the answer, then the question again.
pub fn reask(l: Lang, p: Problem, q: Ask) -> String {
    format!("{}\n\n{}", problem(l, p), ask(l, q))
}

pub fn problem(l: Lang, p: Problem) -> &'static str {
    match p {
        Problem::ReasonLength => t!(
            l,
            "Причина должна быть от 3 до 500 символов.",
            "The reason must be 3 to 500 characters."
        ),
        Problem::NotPrices => t!(
            l,
            "Нужны два целых числа от 0 до 100000.",
            "Two whole numbers from 0 to 100000 are needed."
        ),
        Problem::PremiumBelowRegular => t!(
            l,
            "Цена для Premium не может быть ниже обычной.",
            "The Premium price cannot be below the regular one."
        ),
        Problem::NotDuration => t!(
            l,
            "Не понял срок. Например: 72h, 3d, 0.",
            "That is not a duration. For example: 72h, 3d, 0."
        ),
        Problem::HoldTooLong => t!(l, "Не больше 90 дней.", "At most 90 days."),
    }
}

pub fn status_error(l: Lang, e: &StatusError) -> String {
    match e {
        StatusError::NotFound(_) => no_campaign(l).to_string(),
        StatusError::NotYours(_) => {
            t!(l, "Это не ваша кампания.", "This is not your campaign.").to_string()
        }
        StatusError::Invalid { from, to, .. } => t!(
            l,
            format!(
                "Нельзя: кампания {}, а не может стать «{}».",
                status_word(l, *from),
                status_word(l, *to)
            ),
            format!(
                "Not possible: the campaign is {} and cannot become {}.",
                status_word(l, *from),
                status_word(l, *to)
            )
        ),
        StatusError::Raced { now, .. } => t!(
            l,
            format!(
                "Уже решено другим администратором: кампания {}.",
                status_word(l, *now)
            ),
            format!(
                "Already decided by another admin: the campaign is {}.",
                status_word(l, *now)
            )
        ),
    }
}

pub fn now_status(l: Lang, o: &Offer) -> String {
    t!(
        l,
        format!("Кампания #{}: {}.", o.id, status_word(l, o.status)),
        format!("Campaign #{}: {}.", o.id, status_word(l, o.status))
    )
}

pub fn advertiser_approved(l: Lang, o: &Offer) -> String {
    t!(
        l,
        format!(
            "✅ Кампания «{}» одобрена и запущена. Результаты — в /statistic.",
            o.name
        ),
        format!(
            "✅ Your campaign \"{}\" is approved and running. Results: /statistic.",
            o.name
        )
    )
}

pub fn advertiser_rejected(l: Lang, o: &Offer, reason: &str, refunded: i64) -> String {
    t!(
        l,
        format!(
            "❌ Кампания «{}» отклонена.\nПричина: {reason}\nВозвращено: {refunded} ⭐.",
            o.name
        ),
        format!(
            "❌ Your campaign \"{}\" was rejected.\nReason: {reason}\nRefunded: {refunded} ⭐.",
            o.name
        )
    )
}

pub fn advertiser_status(l: Lang, o: &Offer) -> String {
    t!(
        l,
        format!("Кампания «{}» теперь {}.", o.name, status_word(l, o.status)),
        format!(
            "Your campaign \"{}\" is now {}.",
            o.name,
            status_word(l, o.status)
        )
    )
}

pub fn rejected_done(l: Lang, id: i64, refunded: i64) -> String {
    t!(
        l,
        format!("Кампания #{id} отклонена, возвращено {refunded} ⭐."),
        format!("Campaign #{id} rejected; {refunded} ⭐ refunded.")
    )
}

pub fn refund_failed(l: Lang, id: i64, e: &str) -> String {
    t!(l,
        format!("⚠️ Возврат по кампании #{id} не прошёл: {e}. Кампания отклонена; повторите возврат позже."),
        format!("⚠️ The refund for campaign #{id} failed: {e}. The campaign is rejected; retry the refund later."))
}

pub fn postback_set(l: Lang, id: i64, s: &PostbackSpec) -> String {
    let statuses = s
        .statuses
        .iter()
        .map(|x| x.as_str())
        .collect::<Vec<_>>()
        .join(",");
    t!(l,
        format!("Постбэк кампании #{id}: {} {} (пресет {}, статусы {statuses}). Проверьте кнопкой «Тест постбэка».", s.method.as_str(), s.url.as_deref().unwrap_or(""), s.preset),
        format!("Postback of campaign #{id}: {} {} (preset {}, statuses {statuses}). Try it with \"Test postback\".", s.method.as_str(), s.url.as_deref().unwrap_or(""), s.preset))
}

/// The postback line was refused: why, then the question again.
pub fn bad_postback(l: Lang, e: &str, offer: i64) -> String {
    let why = t!(
        l,
        format!("Постбэк не сохранён: {e}"),
        format!("Postback not saved: {e}")
    );
    format!("{why}\n\n{}", ask(l, Ask::Postback(offer)))
}

pub fn test_report(l: Lang, report: &str) -> String {
    t!(
        l,
        format!("Тестовый постбэк:\n{report}"),
        format!("Test postback:\n{report}")
    )
}

pub fn test_failed(l: Lang, e: &str) -> String {
    t!(
        l,
        format!("Тестовый постбэк не отправлен: {e}"),
        format!("The test postback was not sent: {e}")
    )
}

pub fn tracking_link(l: Lang, link: &str) -> String {
    t!(l,
        format!("Ссылка для менеджера CPA-сети (макрос {{click_id}} замените на макрос сети):\n{link}"),
        format!("Link for the CPA network's manager (replace {{click_id}} with the network's macro):\n{link}"))
}

pub fn settings_title(l: Lang) -> &'static str {
    t!(
        l,
        "Настройки: минимальная цена (обычный / Premium, ⭐) и удержание по умолчанию.",
        "Settings: minimum price (regular / Premium, ⭐) and default hold window."
    )
}

pub fn setting_line(l: Lang, a: Action, min: PricePair, hold: i64) -> String {
    format!(
        "• {}: {} / {}, {}",
        action_word(l, a),
        min.regular,
        min.premium,
        duration(l, hold)
    )
}

pub fn edit_min(l: Lang, a: Action) -> String {
    format!("{} {}", t!(l, "Цена:", "Price:"), action_word(l, a))
}

pub fn edit_hold(l: Lang) -> &'static str {
    t!(l, "Удержание", "Hold")
}
