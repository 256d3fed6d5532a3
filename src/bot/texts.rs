//! Everything the bot says, in Russian (first) and English.

use crate::domain::offer::{Action, Offer};

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
        let h = (offer.hold_seconds + 3599) / 3600;
        t!(
            l,
            format!("\n\nЗасчитывается, если не отменить действие в течение {h} ч."),
            format!("\n\nIt counts if you keep it for {h} h.")
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

pub fn rejected(l: Lang, reason: &str) -> String {
    let why = match reason {
        "cap_total" | "cap_hour" | "cap_day" | "cap_week" => t!(
            l,
            "лимит задания исчерпан",
            "the task's limit has been reached"
        ),
        "out_of_schedule" => t!(
            l,
            "задание сейчас вне расписания",
            "the task is outside its schedule right now"
        ),
        "budget_exhausted" => t!(
            l,
            "бюджет задания исчерпан",
            "the task's budget is exhausted"
        ),
        "offer_not_active" => t!(l, "задание неактивно", "the task is not active"),
        "already_done" => t!(
            l,
            "действие было выполнено до перехода по ссылке",
            "it was done before you opened the link"
        ),
        _ => t!(l, "действие отменено", "the action was undone"),
    };
    t!(
        l,
        format!("К сожалению, действие не засчитано: {why}."),
        format!("Sorry, this action does not count: {why}.")
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

pub fn precheckout_declined(l: Lang, reason: &str) -> String {
    rejected(l, reason)
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
