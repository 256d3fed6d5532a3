//! Everything the bot says, in Russian (first) and English.

use crate::domain::conversion::RejectReason;
use crate::domain::offer::{Action, Offer};
use crate::engine::Decline;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Ru,
    En,
}

impl Lang {
    /// Russian for Russian-speaking clients (and neighbours who usually read it), English otherwise.
    pub fn from_code(code: Option<&str>) -> Lang {
        match code.map(|c| c.to_ascii_lowercase()) {
            Some(c) if ["ru", "uk", "be", "kk"].iter().any(|p| c.starts_with(p)) => Lang::Ru,
            _ => Lang::En,
        }
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

pub fn welcome_no_token(l: Lang) -> &'static str {
    t!(l,
        "Привет! Я проверяю задания рекламодателей. Откройте ссылку из объявления, и я покажу задание.",
        "Hi! I verify advertisers' tasks. Open the link from an ad and I will show you the task.")
}

pub fn unknown_token(l: Lang) -> &'static str {
    t!(
        l,
        "Эта ссылка устарела или неверна. Откройте ссылку из объявления ещё раз.",
        "This link is expired or invalid. Please open the link from the ad again."
    )
}

pub fn taken_by_other(l: Lang) -> &'static str {
    t!(l,
        "Эта ссылка уже использована другим пользователем. Откройте объявление заново, чтобы получить свою ссылку.",
        "This link has already been used by someone else. Open the ad again to get your own link.")
}

pub fn offer_closed(l: Lang) -> &'static str {
    t!(
        l,
        "Это задание сейчас не активно. Спасибо за интерес!",
        "This task is not active right now. Thanks for your interest!"
    )
}

pub fn fallback(l: Lang) -> &'static str {
    t!(
        l,
        "Я понимаю только ссылки из объявлений и кнопки под заданием. /start — начать заново.",
        "I only understand links from ads and the buttons under a task. /start to begin again."
    )
}

pub fn stale_button(l: Lang) -> &'static str {
    t!(l, "Эта кнопка устарела.", "This button is no longer valid.")
}

pub fn check_button(l: Lang) -> &'static str {
    t!(l, "Проверить ✅", "Check ✅")
}

/// The task card: what to do, in one short paragraph.
pub fn task(l: Lang, offer: &Offer) -> String {
    let name = offer
        .target
        .username
        .as_ref()
        .map(|u| format!("@{u}"))
        .or_else(|| offer.target.title.clone())
        .unwrap_or_else(|| offer.name.clone());
    let hold_note = if offer.hold_seconds > 0 {
        let h = duration(l, offer.hold_seconds);
        t!(
            l,
            format!("\n\nЗасчитывается, если не отменить действие в течение {h}."),
            format!("\n\nIt counts if you keep it for {h}.")
        )
    } else {
        String::new()
    };
    let body = match offer.action {
        Action::JoinChannel => t!(l, format!("Задание: подпишитесь на {name}, затем нажмите «Проверить»."), format!("Task: join {name}, then press \"Check\".")),
        Action::JoinRequest => t!(l, format!("Задание: подайте заявку на вступление в {name} по вашей личной ссылке. Я одобрю её автоматически."), format!("Task: request to join {name} with your personal link. I will approve it automatically.")),
        Action::Comment => t!(l, format!("Задание: оставьте комментарий под постом в {name}."), format!("Task: leave a comment under the post in {name}.")),
        Action::Reaction => t!(l, format!("Задание: поставьте реакцию на сообщение в {name}."), format!("Task: react to the message in {name}.")),
        Action::PollVote => t!(l, "Задание: ответьте на опрос ниже.".to_string(), "Task: answer the poll below.".to_string()),
        Action::StartBot => t!(l, "Спасибо! Задание выполнено.".to_string(), "Thank you! The task is done.".to_string()),
        Action::ThirdPartyBot => t!(l, format!("Задание: откройте {name} по кнопке ниже и начните работу."), format!("Task: open {name} with the button below and get started.")),
        Action::StarsPayment => t!(l, "Задание: оплатите счёт ниже в Telegram Stars.".to_string(), "Task: pay the invoice below in Telegram Stars.".to_string()),
        Action::PaidMedia => t!(l, "Задание: откройте платный материал ниже.".to_string(), "Task: unlock the paid content below.".to_string()),
        Action::Boost => t!(l, format!("Задание: проголосуйте (boost) за {name}, затем нажмите «Проверить»."), format!("Task: boost {name}, then press \"Check\".")),
        Action::Share => t!(l, "Задание: поделитесь вашей личной ссылкой ниже. Засчитываются уникальные переходы.".to_string(), "Task: share your personal link below. Unique visits count.".to_string()),
    };
    format!("{body}{hold_note}")
}

/// The share task's card: the task and the user's personal link under it.
pub fn share_task(l: Lang, offer: &Offer, link: &str) -> String {
    format!("{}\n\n{link}", task(l, offer))
}

pub fn open_button(l: Lang, action: Action) -> &'static str {
    match action {
        Action::JoinChannel | Action::JoinRequest => t!(l, "Вступить", "Join"),
        Action::Comment | Action::Reaction => t!(l, "Открыть пост", "Open the post"),
        Action::Boost => t!(l, "Открыть boost", "Open boost"),
        Action::Share => t!(l, "Моя ссылка", "My link"),
        _ => t!(l, "Открыть", "Open"),
    }
}

pub fn accepted(l: Lang, hold: bool) -> &'static str {
    if hold {
        t!(
            l,
            "Готово! Действие засчитано и будет подтверждено после периода проверки.",
            "Done! Your action counts and will be confirmed after the holding period."
        )
    } else {
        t!(
            l,
            "Готово! Действие засчитано.",
            "Done! Your action counts."
        )
    }
}

pub fn not_yet(l: Lang, action: Action) -> &'static str {
    match action {
        Action::JoinChannel | Action::JoinRequest => t!(
            l,
            "Пока не вижу вас среди участников. Вступите и нажмите «Проверить» ещё раз.",
            "I don't see you among the members yet. Join and press \"Check\" again."
        ),
        Action::Boost => t!(
            l,
            "Пока не вижу вашего boost. Попробуйте ещё раз через минуту.",
            "I don't see your boost yet. Try again in a minute."
        ),
        _ => t!(
            l,
            "Я засчитаю действие автоматически, как только его увижу.",
            "I will count it automatically as soon as I see it."
        ),
    }
}

pub fn already_done(l: Lang) -> &'static str {
    t!(
        l,
        "Вы уже были участником до перехода по ссылке, поэтому задание не засчитывается. Спасибо!",
        "You were already a member before opening the link, so this task does not count. Thanks!"
    )
}

pub fn rejected(l: Lang, reason: Option<RejectReason>) -> String {
    use RejectReason as R;
    let why = match reason {
        Some(R::CapTotal | R::CapHour | R::CapDay | R::CapWeek) => t!(
            l,
            "лимит задания исчерпан",
            "the task's limit has been reached"
        ),
        Some(R::OutOfSchedule) => t!(
            l,
            "задание сейчас вне расписания",
            "the task is outside its schedule right now"
        ),
        Some(R::BudgetExhausted) => t!(
            l,
            "бюджет задания исчерпан",
            "the task's budget is exhausted"
        ),
        Some(R::OfferNotActive) => t!(l, "задание неактивно", "the task is not active"),
        Some(R::AlreadyDone) => t!(
            l,
            "действие было выполнено до перехода по ссылке",
            "it was done before you opened the link"
        ),
        Some(R::BlockedBot) => t!(l, "бот был заблокирован", "the bot was blocked"),
        Some(R::RecheckFailed) => t!(
            l,
            "повторная проверка не подтвердила действие",
            "the final check did not confirm it"
        ),
        Some(R::NotAUser) => t!(
            l,
            "действие выполнено не от вашего имени",
            "it was not done as yourself"
        ),
        Some(R::Manual) => t!(
            l,
            "отклонено администратором",
            "an administrator declined it"
        ),
        Some(R::Undone) | None => t!(l, "действие отменено", "the action was undone"),
    };
    t!(
        l,
        format!("К сожалению, действие не засчитано: {why}."),
        format!("Sorry, this action does not count: {why}.")
    )
}

/// The task would not count right now, said before the user does anything.
pub fn not_now(l: Lang, reason: RejectReason) -> String {
    use RejectReason as R;
    let why = match reason {
        R::CapHour => t!(
            l,
            "лимит на этот час исчерпан — попробуйте в следующем часу",
            "this hour's limit is reached; try again next hour"
        ),
        R::CapDay => t!(
            l,
            "лимит на сегодня исчерпан — попробуйте завтра",
            "today's limit is reached; try again tomorrow"
        ),
        R::CapWeek => t!(
            l,
            "лимит на эту неделю исчерпан",
            "this week's limit is reached"
        ),
        R::CapTotal => t!(
            l,
            "все места в задании уже заняты",
            "all places in this task are taken"
        ),
        R::OutOfSchedule => t!(
            l,
            "задание сейчас не принимается по расписанию — загляните позже",
            "the task is outside its schedule now; please come back later"
        ),
        R::BudgetExhausted => t!(
            l,
            "бюджет задания закончился",
            "the task's budget has run out"
        ),
        _ => t!(l, "задание сейчас неактивно", "the task is not active now"),
    };
    t!(
        l,
        format!("Сейчас это задание не засчитывается: {why}. Спасибо за интерес!"),
        format!("This task does not count right now: {why}. Thanks for your interest!")
    )
}

pub fn already_decided(l: Lang) -> &'static str {
    t!(
        l,
        "Это задание уже проверено. Спасибо!",
        "This task has already been checked. Thank you!"
    )
}

pub fn invoice_title(l: Lang) -> &'static str {
    t!(l, "Оплата задания", "Task payment")
}

pub fn poll_closed_note(l: Lang) -> &'static str {
    t!(l, "Ответ засчитан.", "Your answer counts.")
}

pub fn task_unavailable(l: Lang) -> &'static str {
    t!(
        l,
        "Задание временно недоступно. Мы уже сообщили администратору; попробуйте позже.",
        "This task is temporarily unavailable. The operator has been told; please try again later."
    )
}

pub fn operator_alert(detail: &str) -> String {
    format!("⚠️ tgtrack: {detail}")
}

pub fn refunded(l: Lang) -> &'static str {
    t!(
        l,
        "Оплата возвращена: задание не было засчитано.",
        "Your payment has been refunded because the task did not count."
    )
}

/// A duration as people say it: "10 секунд", "1 час 30 минут", "3 days".
pub fn duration(l: Lang, secs: i64) -> String {
    let units: [(i64, [&str; 3], [&str; 2]); 4] = [
        (86400, ["день", "дня", "дней"], ["day", "days"]),
        (3600, ["час", "часа", "часов"], ["hour", "hours"]),
        (60, ["минута", "минуты", "минут"], ["minute", "minutes"]),
        (1, ["секунда", "секунды", "секунд"], ["second", "seconds"]),
    ];
    let mut left = secs.max(0);
    let mut parts = Vec::new();
    for (size, ru, en) in units {
        let n = left / size;
        if n > 0 {
            left -= n * size;
            parts.push(match l {
                Lang::Ru => format!("{n} {}", ru[ru_plural(n)]),
                Lang::En => format!("{n} {}", if n == 1 { en[0] } else { en[1] }),
            });
        }
        // Two units are precise enough for a hold window ("1 day 2 hours").
        if parts.len() == 2 {
            break;
        }
    }
    if parts.is_empty() {
        return t!(l, "0 секунд", "0 seconds").to_string();
    }
    parts.join(" ")
}

/// Russian plural form: 1 день, 2 дня, 5 дней, 21 день, 11 дней.
fn ru_plural(n: i64) -> usize {
    let (n10, n100) = (n % 10, n % 100);
    if n10 == 1 && n100 != 11 {
        0
    } else if (2..=4).contains(&n10) && !(12..=14).contains(&n100) {
        1
    } else {
        2
    }
}

pub fn help(l: Lang, admin: bool) -> String {
    let mut s = t!(
        l,
        "Я проверяю задания рекламодателей в Telegram.\n\n\
         Пользователям: откройте ссылку из объявления, и я покажу задание.\n\n\
         Рекламодателям:\n/ads — создать и оплатить кампанию в Telegram Stars\n\
         /statistic — ваши кампании и их результаты\n/cancel — прервать создание кампании\n\
         /paysupport — вопросы об оплате и возвратах",
        "I verify advertisers' tasks on Telegram.\n\n\
         Users: open the link from an ad and I will show you the task.\n\n\
         Advertisers:\n/ads — create a campaign and pay for it in Telegram Stars\n\
         /statistic — your campaigns and their results\n/cancel — stop creating a campaign\n\
         /paysupport — questions about payments and refunds"
    )
    .to_string();
    if admin {
        s.push_str(t!(
            l,
            "\n\nАдминистраторам:\n/campaigns — кампании на проверке и все кампании\n/settings — минимальные цены и сроки удержания",
            "\n\nAdmins:\n/campaigns — campaigns to review and all campaigns\n/settings — minimum prices and hold windows"
        ));
    }
    s
}

pub fn pay_support(l: Lang) -> &'static str {
    t!(
        l,
        "Оплата кампаний — в Telegram Stars, счётом от этого бота.\n\n\
         • Если кампанию отклонили при проверке, Stars возвращаются полностью и автоматически.\n\
         • Неизрасходованный бюджет завершённой кампании остаётся на вашем балансе и засчитывается в следующую кампанию (Telegram возвращает только платёж целиком).\n\
         • Пользователю, оплатившему задание, которое не засчиталось, Stars возвращаются автоматически.\n\n\
         Если что-то пошло не так, напишите администратору бота и укажите номер кампании.",
        "Campaigns are paid in Telegram Stars, with an invoice from this bot.\n\n\
         • If a campaign is rejected at review, the Stars are refunded in full, automatically.\n\
         • The unspent budget of a finished campaign stays on your balance and counts towards your next campaign (Telegram refunds only whole payments).\n\
         • A user who paid for a task that did not count is refunded automatically.\n\n\
         If something went wrong, write to the bot's administrator and give the campaign number."
    )
}

pub fn admins_only(l: Lang) -> &'static str {
    t!(
        l,
        "Эта команда только для администраторов.",
        "This command is for administrators only."
    )
}

pub fn payment_failed(l: Lang) -> &'static str {
    t!(
        l,
        "Не удалось проверить платёж. Деньги не списаны; попробуйте ещё раз через минуту.",
        "The payment could not be checked. You were not charged; please try again in a minute."
    )
}

pub fn payment_declined(l: Lang, d: Decline) -> &'static str {
    match d {
        Decline::UnknownInvoice => t!(
            l,
            "Этот счёт больше не действителен.",
            "This invoice is no longer valid."
        ),
        Decline::AmountChanged => t!(
            l,
            "Сумма счёта изменилась. Запросите новый счёт.",
            "The amount has changed. Please ask for a new invoice."
        ),
        Decline::AlreadyDecided => already_decided(l),
        Decline::WouldReject(_) => t!(
            l,
            "Задание сейчас не принимается.",
            "The task is not accepted right now."
        ),
        Decline::DraftChanged => t!(
            l,
            "Кампания изменена после выставления счёта. Оплатите новый счёт.",
            "The campaign was edited after this invoice was sent. Please pay the new invoice."
        ),
        Decline::CampaignNotAwaitingPayment => t!(
            l,
            "Эта кампания уже не ждёт оплаты.",
            "This campaign is no longer waiting for payment."
        ),
        Decline::BelowMinimum => t!(
            l,
            "Минимальные цены изменились. Откройте /ads и проверьте цены.",
            "Minimum prices have changed. Open /ads and check your prices."
        ),
    }
}

pub fn campaign_invoice_title(l: Lang) -> &'static str {
    t!(l, "Бюджет кампании", "Campaign budget")
}

pub fn credit_applied(l: Lang, credit: i64, to_pay: i64) -> String {
    t!(
        l,
        format!("С вашего баланса зачтено {credit} ⭐ (неизрасходованный бюджет прошлых кампаний). Осталось оплатить {to_pay} ⭐."),
        format!("{credit} ⭐ from your balance (the unspent budget of earlier campaigns) go towards this one. {to_pay} ⭐ left to pay.")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_people_say_them() {
        let table = [
            (Lang::Ru, 10, "10 секунд"),
            (Lang::En, 10, "10 seconds"),
            (Lang::Ru, 1, "1 секунда"),
            (Lang::Ru, 3600, "1 час"),
            (Lang::Ru, 5400, "1 час 30 минут"),
            (Lang::En, 5400, "1 hour 30 minutes"),
            (Lang::Ru, 72 * 3600, "3 дня"),
            (Lang::Ru, 21 * 86400, "21 день"),
            (Lang::Ru, 11 * 86400, "11 дней"),
            (Lang::En, 86400 + 7200 + 5, "1 day 2 hours"),
            (Lang::En, 0, "0 seconds"),
        ];
        for (l, secs, want) in table {
            assert_eq!(duration(l, secs), want);
        }
    }
}
