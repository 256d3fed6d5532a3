//! Everything the /ads wizard says, Russian first, then English. HTML parse
//! mode: whatever the advertiser typed or Telegram named goes through [`esc`].

use super::grid::Preset;
use super::parse::Window;
use super::screens::{Notice, Page, Problem, Review};
use super::state::Section;
use super::{InspectError, Lang, SubmitError};
use crate::domain::offer::{Action, DraftField, DraftProblem, PricePair, UnverifiableKind};
use crate::domain::schedule::{Schedule, ScheduleError};
use crate::domain::tme::{Place, Right, RightNeed, TmeError};

macro_rules! t {
    ($l:expr, $ru:expr, $en:expr) => {
        match $l {
            Lang::Ru => $ru,
            Lang::En => $en,
        }
    };
}

/// Escapes text for Telegram's HTML parse mode.
pub fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

pub fn back(l: Lang) -> &'static str {
    t!(l, "⬅️ Назад", "⬅️ Back")
}

pub fn cancel(l: Lang) -> &'static str {
    t!(l, "✖️ Отмена", "✖️ Cancel")
}

pub fn recheck(l: Lang) -> &'static str {
    t!(l, "🔄 Проверить снова", "🔄 Check again")
}

pub fn skip_windows(l: Lang) -> &'static str {
    t!(l, "Без лимитов по времени", "No hourly/daily/weekly caps")
}

pub fn grid_done(l: Lang) -> &'static str {
    t!(l, "✅ Готово", "✅ Done")
}

pub fn day_done(l: Lang) -> &'static str {
    t!(l, "↩️ К дням недели", "↩️ Back to the week")
}

pub fn all_day(l: Lang) -> &'static str {
    t!(l, "Весь день", "All day")
}

pub fn clear(l: Lang) -> &'static str {
    t!(l, "Очистить", "Clear")
}

pub fn copy_weekdays(l: Lang) -> &'static str {
    t!(l, "Так же в Пн–Пт", "Same for Mon–Fri")
}

pub fn no_hold(l: Lang) -> &'static str {
    t!(l, "Без удержания", "No hold")
}

pub fn edit(l: Lang) -> &'static str {
    t!(l, "✏️ Изменить", "✏️ Edit")
}

pub fn min_price(l: Lang, m: PricePair) -> String {
    t!(
        l,
        format!("Минимум: {} / {} ⭐", m.regular, m.premium),
        format!("Minimum: {} / {} ⭐", m.regular, m.premium)
    )
}

pub fn default_hold(l: Lang, secs: i64) -> String {
    t!(
        l,
        format!("По умолчанию: {}", duration(l, secs)),
        format!("Default: {}", duration(l, secs))
    )
}

pub fn accept_slug(l: Lang, slug: &str) -> String {
    t!(l, format!("Оставить {slug}"), format!("Use {slug}"))
}

pub fn pay(l: Lang, budget: i64) -> String {
    t!(
        l,
        format!("💳 Оплатить {budget} ⭐"),
        format!("💳 Pay {budget} ⭐")
    )
}

pub fn day_short(l: Lang, d: u8) -> &'static str {
    let ru = ["Пн", "Вт", "Ср", "Чт", "Пт", "Сб", "Вс"];
    let en = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    t!(l, ru, en).get(d as usize).copied().unwrap_or("?")
}

pub fn preset(l: Lang, p: Preset) -> &'static str {
    match p {
        Preset::Always => t!(l, "Круглосуточно", "24/7"),
        Preset::Weekdays => t!(l, "Будни", "Weekdays"),
        Preset::WorkHours => t!(
            l,
            "Рабочее время (Пн–Пт 9–18)",
            "Working hours (Mon–Fri 9–18)"
        ),
        Preset::Weekends => t!(l, "Выходные", "Weekends"),
        Preset::Custom => t!(l, "🗓 Своё расписание", "🗓 Custom grid"),
    }
}

pub fn section(l: Lang, s: Section) -> &'static str {
    match s {
        Section::Target => t!(l, "Цель и действие", "Target and action"),
        Section::Price => t!(l, "Цена", "Price"),
        Section::Caps => t!(l, "Лимиты", "Caps"),
        Section::Schedule => t!(l, "Расписание", "Schedule"),
        Section::Hold => t!(l, "Удержание", "Hold"),
        Section::Name => t!(l, "Название", "Name"),
    }
}

pub fn no_link_label(l: Lang, a: Action) -> &'static str {
    match a {
        Action::StarsPayment => t!(l, "⭐ Оплата счёта в Stars", "⭐ Pay an invoice in Stars"),
        Action::PollVote => t!(
            l,
            "📊 Голос в опросе (от бота)",
            "📊 Vote in a poll (sent by the bot)"
        ),
        Action::StartBot => t!(l, "🤖 Запуск нашего бота", "🤖 Start our bot"),
        Action::PaidMedia => t!(l, "🖼 Покупка платного фото", "🖼 Buy paid media"),
        other => action_label(l, other),
    }
}

pub fn action_label(l: Lang, a: Action) -> &'static str {
    match a {
        Action::JoinChannel => t!(l, "Подписка / вступление", "Join"),
        Action::JoinRequest => t!(l, "Заявка на вступление", "Join request"),
        Action::Comment => t!(l, "Комментарий под постом", "Comment under the post"),
        Action::Reaction => t!(l, "Реакция", "Reaction"),
        Action::PollVote => t!(l, "Голос в опросе", "Poll vote"),
        Action::StartBot => t!(l, "Запуск нашего бота", "Start our bot"),
        Action::ThirdPartyBot => t!(
            l,
            "Запуск бота / мини-приложения (через relay)",
            "Start the bot / mini app (via relay)"
        ),
        Action::StarsPayment => t!(l, "Оплата счёта в Stars", "Stars invoice payment"),
        Action::PaidMedia => t!(l, "Покупка платного фото", "Paid media purchase"),
        Action::Boost => t!(l, "Буст канала", "Channel boost"),
        Action::Share => t!(
            l,
            "Репост личной ссылкой (уникальные переходы)",
            "Share a personal link (unique visits)"
        ),
    }
}

fn right(l: Lang, n: RightNeed, title: &str, discussion: &str) -> String {
    let place = match n.place {
        Place::Chat => title,
        Place::Discussion => discussion,
    };
    match n.right {
        Right::Admin => t!(
            l,
            format!("• сделайте бота администратором «{place}»"),
            format!("• make the bot an administrator of “{place}”")
        ),
        Right::InviteUsers => t!(
            l,
            format!("• в «{place}» дайте боту право «Пригласительные ссылки»"),
            format!("• in “{place}”, give the bot the right “Invite users via link”")
        ),
    }
}

/// One line: why a wish cannot be verified, and what can be.
pub fn unverifiable(l: Lang, k: UnverifiableKind) -> &'static str {
    use UnverifiableKind::*;
    match k {
        NativeForward => t!(l, "Репосты (пересылки) никому не видны поштучно — вместо них: репост личной ссылкой, считаем уникальные переходы.", "Native forwards are invisible per user — instead: sharing a personal link, counted by unique visits."),
        ChannelReaction => t!(l, "Реакции в канале анонимны — вместо них: реакция или комментарий под копией поста в группе обсуждения.", "Channel reactions are anonymous — instead: a reaction or a comment on the post's copy in the discussion group."),
        ChannelPoll => t!(l, "Голоса в опросах канала анонимны — вместо них: опрос, который бот пришлёт каждому лично.", "Channel poll votes are anonymous — instead: a poll our bot sends each user privately."),
        BoughtElsewhere => t!(l, "Покупку Stars или Premium вне бота увидеть нельзя — вместо неё: оплата счёта в Stars от нашего бота или буст канала.", "Buying Stars or Premium elsewhere is invisible — instead: paying a Stars invoice from our bot, or a channel boost."),
        NoDiscussionGroup => t!(l, "У канала нет группы обсуждения, комментировать негде — привяжите группу и сделайте бота её администратором.", "The channel has no discussion group, so there is nowhere to comment — link one and make the bot its admin."),
        BasicGroupJoin => t!(l, "Вступления в обычную группу нельзя перепроверить — преобразуйте её в супергруппу (например, дав ей публичную ссылку).", "Joins of a basic group cannot be re-checked — convert it to a supergroup (e.g. give it a public link)."),
        NeedsChat => t!(l, "Нужна ссылка на чат.", "A chat link is needed."),
        NotAChat => t!(l, "Подписаться можно только на канал или группу.", "Only channels and groups can be joined."),
        BoostNeedsChannel => t!(l, "Бустить можно только канал или супергруппу.", "Only channels and supergroups can be boosted."),
        JoinRequestPublic => t!(l, "Заявки работают только в закрытых чатах — для публичного выберите подписку.", "Join requests work in private chats only — choose a join for a public one."),
        CommentNeedsPost => t!(l, "Для комментария нужна ссылка на пост канала.", "A comment needs a link to a channel post."),
        ReactionNeedsKind | ReactionNeedsMessage => t!(l, "Для реакции нужна ссылка на сообщение в группе или на пост канала с группой обсуждения.", "A reaction needs a link to a message in a group, or to a channel post with a discussion group."),
        ReactionNotInChat => t!(l, "Реакции видны только в группах.", "Reactions are seen in groups only."),
        PollShape => t!(l, "Нужен вопрос и от 2 до 10 вариантов.", "A poll needs a question and 2 to 10 options."),
        ChannelPaidMedia => t!(l, "Покупки платных фото в каналах не видны поштучно — бот сам отправит фото каждому.", "Paid media purchases in channels are not seen per user — the bot sends the media to each user instead."),
        PaidMediaUrl => t!(l, "Нужна https-ссылка на изображение.", "The https URL of the image is needed."),
        InvoiceAmount => t!(l, "Сумма счёта — от 1 до 100000 Stars.", "The invoice amount is 1 to 100000 Stars."),
        NeedsUrl => t!(l, "Нужна ссылка (http или https).", "A URL (http or https) is needed."),
        StartBotIsOurs => t!(l, "Запуск считаем только для нашего бота; для чужого — через relay.", "Starts count for our bot only; for another bot, use the relay."),
        ThirdPartyNeedsBot => t!(l, "Это действие — для ботов и мини-приложений.", "This action is for bots and mini apps."),
    }
}

fn tme_error(l: Lang, e: TmeError) -> &'static str {
    match e {
        TmeError::NotTelegram => t!(
            l,
            "Это не ссылка Telegram. Пришлите ссылку вида t.me/… или выберите кампанию без ссылки.",
            "This is not a Telegram link. Send a t.me/… link or choose a campaign without one."
        ),
        TmeError::Unsupported => t!(
            l,
            "Такие ссылки (стикеры, прокси, темы…) не подходят для кампании.",
            "Links of this kind (stickers, proxies, themes…) cannot be a campaign target."
        ),
        TmeError::BadUsername => t!(
            l,
            "Неверное имя: 4–32 латинские буквы, цифры или _, начиная с буквы.",
            "Bad username: 4–32 Latin letters, digits or _, starting with a letter."
        ),
        TmeError::BadInvite => t!(l, "Неверная пригласительная ссылка.", "Bad invite link."),
        TmeError::BadPost => t!(l, "Неверный номер поста.", "Bad post number."),
        TmeError::BadChannel => t!(
            l,
            "Неверный номер канала в ссылке t.me/c/….",
            "Bad channel number in the t.me/c/… link."
        ),
    }
}

fn schedule_error(l: Lang, e: &ScheduleError) -> String {
    let (ScheduleError::Shape(p)
    | ScheduleError::HourOrder(p)
    | ScheduleError::BadValue(p)
    | ScheduleError::BadRange(p)
    | ScheduleError::BadHour(p)) = e;
    let p = esc(p);
    match e {
        ScheduleError::Shape(_) => t!(
            l,
            format!("«{p}»: нужно «ДНИ ЧАСЫ», например mon-fri 9-18."),
            format!("“{p}”: expected DAYS HOURS, like mon-fri 9-18.")
        ),
        ScheduleError::HourOrder(_) => t!(
            l,
            format!("«{p}»: часы пишутся как 9-18, начало раньше конца."),
            format!("“{p}”: hours go like 9-18, start before end.")
        ),
        ScheduleError::BadValue(_) => t!(
            l,
            format!("«{p}» — не день (mon…sun) и не час (0–24)."),
            format!("“{p}” is neither a day (mon…sun) nor an hour (0–24).")
        ),
        ScheduleError::BadRange(_) | ScheduleError::BadHour(_) => t!(
            l,
            format!("«{p}»: неверный диапазон."),
            format!("“{p}”: bad range.")
        ),
    }
}

fn window(l: Lang, w: Window) -> &'static str {
    match w {
        Window::Hour => t!(l, "в час", "per hour"),
        Window::Day => t!(l, "в день", "per day"),
        Window::Week => t!(l, "в неделю", "per week"),
    }
}

fn draft_error(l: Lang, field: DraftField, p: &DraftProblem) -> String {
    match p {
        DraftProblem::Unverifiable(u) => unverifiable(l, u.kind).to_string(),
        DraftProblem::BelowMinimum { premium, min, .. } => problem(
            l,
            &Problem::BelowMinimum {
                premium: *premium,
                min: *min,
            },
        ),
        DraftProblem::NameLength => problem(l, &Problem::NameLength),
        DraftProblem::HoldRange => problem(l, &Problem::HoldTooLong),
        DraftProblem::Timezone(_) => problem(l, &Problem::Timezone),
        _ => t!(
            l,
            format!("Поле «{field}» заполнено неверно."),
            format!("The field “{field}” is invalid.")
        ),
    }
}

pub fn problem(l: Lang, p: &Problem) -> String {
    let s = |ru: &str, en: &str| t!(l, ru, en).to_string();
    match p {
        Problem::Link(e) => tme_error(l, *e).to_string(),
        Problem::Inspect(InspectError::NotFound) => s("Такого канала, группы или бота нет (или ссылка устарела).", "No such channel, group or bot (or the link has expired)."),
        Problem::Inspect(InspectError::Inaccessible) => s("Бот не видит этот чат: он закрытый, а бота там нет. Добавьте бота администратором и пришлите ссылку снова.", "The bot cannot see this chat: it is private and the bot is not in it. Add the bot as an administrator and send the link again."),
        Problem::Inspect(InspectError::PostMissing) => s("Такого поста нет. Проверьте ссылку на пост.", "There is no such post. Check the post link."),
        Problem::Inspect(InspectError::Unreachable) => s("Telegram сейчас не отвечает. Попробуйте ещё раз через минуту.", "Telegram is not answering right now. Please try again in a minute."),
        Problem::Wish(k) => unverifiable(l, *k).to_string(),
        Problem::StillMissing => s("Прав всё ещё не хватает.", "The bot still lacks some rights."),
        Problem::NotANumber => s("Нужно целое число.", "A whole number, please."),
        Problem::NotPositive => s("Число должно быть больше нуля.", "The number must be above zero."),
        Problem::StarsRange => s("Сумма — от 1 до 100000 Stars.", "The amount is 1 to 100000 Stars."),
        Problem::PollShape => s("Нужен вопрос в первой строке и от 2 до 10 вариантов, по одному в строке.", "The question on the first line, then 2 to 10 options, one per line."),
        Problem::PollTooLong => s("Вопрос — до 255 символов, вариант — до 100.", "The question is up to 255 characters, each option up to 100."),
        Problem::MediaUrl => s("Нужна ссылка на изображение, начинающаяся с https://.", "An image URL starting with https:// is needed."),
        Problem::PriceFormat => s("Напишите одно число (для всех) или два: обычная цена и цена для Premium, например «5 10».", "Send one number (for everyone) or two: the regular and the Premium price, e.g. “5 10”."),
        Problem::BelowMinimum { premium: false, min } => t!(l, format!("Обычная цена ниже минимума для этого действия: не меньше {min} ⭐."), format!("The regular price is below the minimum for this action: at least {min} ⭐.")),
        Problem::BelowMinimum { premium: true, min } => t!(l, format!("Цена для Premium ниже минимума для этого действия: не меньше {min} ⭐."), format!("The Premium price is below the minimum for this action: at least {min} ⭐.")),
        Problem::WindowFormat => s("Не понял. Пример: «день 100, неделя 500» или «hour 10».", "I did not get it. Example: “day 100, week 500” or “hour 10”."),
        Problem::AboveTotal { window: w, total } => t!(l, format!("Лимит {} больше общего ({total}).", window(l, *w)), format!("The cap {} is above the total ({total}).", window(l, *w))),
        Problem::Schedule(e) => schedule_error(l, e),
        Problem::EmptyGrid => s("В расписании нет ни одного часа. Отметьте хотя бы один.", "The schedule has no hours. Mark at least one."),
        Problem::Timezone => s("Не знаю такого часового пояса. Выберите кнопкой или напишите, например, Europe/Moscow.", "Unknown time zone. Pick a button or type one like Europe/Moscow."),
        Problem::HoldFormat => s("Напишите часы или дни: «0», «12h», «72 часа», «3d».", "Send hours or days: “0”, “12h”, “72 hours”, “3d”."),
        Problem::HoldTooLong => s("Удержание — не больше 90 дней.", "The hold is at most 90 days."),
        Problem::NameLength => s("Название — от 1 до 100 символов.", "The name is 1 to 100 characters."),
        Problem::SlugFormat => s("Адрес — от 3 до 40 символов: латинские буквы, цифры и дефис (не в начале и не в конце).", "The slug is 3 to 40 characters: Latin letters, digits and hyphens (not at either end)."),
        Problem::SlugTaken { suggestion } => t!(l, format!("Этот адрес занят. Свободный: {}", esc(suggestion)), format!("This slug is taken. A free one: {}", esc(suggestion))),
        Problem::BudgetTooBig { budget, max } => t!(l, format!("Бюджет {budget} ⭐ больше максимального счёта ({max} ⭐). Уменьшите общий лимит или цену."), format!("The budget of {budget} ⭐ is above the largest invoice ({max} ⭐). Lower the total cap or the price.")),
        Problem::Draft(e) => draft_error(l, e.field, &e.problem),
        Problem::Submit(SubmitError::SlugTaken) => s("Этот адрес только что заняли.", "This slug was just taken."),
        Problem::Submit(SubmitError::MinimumRaised) => s("Администратор только что поднял минимальную цену. Укажите цену заново.", "An administrator has just raised the minimum price. Please set the price again."),
        Problem::Submit(SubmitError::Invalid) => s("Не удалось создать кампанию. Проверьте данные и попробуйте снова.", "The campaign could not be created. Check the details and try again."),
    }
}

pub fn notice(l: Lang, n: &Notice) -> String {
    match n {
        Notice::Problem(p) => format!("⚠️ {}", problem(l, p)),
        Notice::Fallback => t!(
            l,
            "Не понял. Ответьте на вопрос ниже или нажмите кнопку.",
            "I did not get that. Answer the question below or press a button."
        )
        .to_string(),
        Notice::Stale => t!(
            l,
            "Эта кнопка от прошлого шага. Вот текущий:",
            "That button is from an earlier step. Here is the current one:"
        )
        .to_string(),
        Notice::InProgress => t!(
            l,
            "Вы уже создаёте кампанию; продолжим. Начать заново — /cancel, затем /ads.",
            "You are already creating a campaign; let's go on. To start over: /cancel, then /ads."
        )
        .to_string(),
        Notice::Apology => t!(
            l,
            "Простите, бот обновился и не смог продолжить вашу кампанию. Начнём заново.",
            "Sorry, the bot was updated and could not resume your campaign. Let's start again."
        )
        .to_string(),
        Notice::StillWaiting => t!(
            l,
            "Секунду, жду ответа Telegram…",
            "One moment, waiting for Telegram…"
        )
        .to_string(),
    }
}

/// A hold window as people say it (`3 дня`, `12 hours`), or "no hold".
pub fn duration(l: Lang, secs: i64) -> String {
    if secs == 0 {
        return t!(l, "без удержания", "no hold").into();
    }
    crate::bot::texts::duration(l, secs)
}

fn hours(mask: u32) -> String {
    let mut parts = vec![];
    let mut h = 0;
    while h < 24 {
        if mask & (1 << h) != 0 {
            let start = h;
            while h < 24 && mask & (1 << h) != 0 {
                h += 1;
            }
            parts.push(format!("{start}–{h}"));
        } else {
            h += 1;
        }
    }
    parts.join(", ")
}

pub fn schedule(l: Lang, s: &Schedule) -> String {
    match s {
        Schedule::Always => preset(l, Preset::Always).into(),
        Schedule::Weekdays => preset(l, Preset::Weekdays).into(),
        Schedule::Weekends => preset(l, Preset::Weekends).into(),
        Schedule::Grid(g) => (0..7u8)
            .filter(|d| g[*d as usize] != 0)
            .map(|d| format!("{} {}", day_short(l, d), hours(g[d as usize])))
            .collect::<Vec<_>>()
            .join("; "),
    }
}

fn review(l: Lang, r: &Review) -> String {
    let d = &r.draft;
    let tg = &d.target;
    let mut where_ = tg.title.as_deref().map(esc).unwrap_or_default();
    if let Some(u) = &tg.username {
        where_ = format!("{where_} (@{})", esc(u));
    }
    if let Some(p) = &tg.poll {
        where_ = format!("«{}» ({})", esc(&p.question), p.options.len());
    }
    if let Some(u) = tg.url.as_deref().filter(|_| d.action == Action::PaidMedia) {
        where_ = esc(u);
    }
    let stars = tg
        .stars
        .map(|s| {
            t!(
                l,
                format!("\nСумма для пользователя: {s} ⭐"),
                format!("\nThe user pays: {s} ⭐")
            )
        })
        .unwrap_or_default();
    let caps = [
        (d.caps.hour, Window::Hour),
        (d.caps.day, Window::Day),
        (d.caps.week, Window::Week),
    ]
    .iter()
    .filter_map(|(c, w)| c.map(|c| format!("{c} {}", window(l, *w))))
    .collect::<Vec<_>>();
    let caps = if caps.is_empty() {
        String::new()
    } else {
        format!(" ({})", caps.join(", "))
    };
    let total = d.caps.total.unwrap_or(0);
    t!(l,
        format!("<b>Проверьте кампанию</b>\n\nНазвание: {}\nАдрес: {}\nДействие: {}\nЦель: {where_}{stars}\nЦена: {} ⭐, для Premium {} ⭐\nЛимит: {total}{caps}\nРасписание: {} ({})\nУдержание: {}\n\n<b>Бюджет: {} ⭐</b>\n{} ⭐ резервируются по цене Premium; что не будет потрачено, останется на вашем балансе и пойдёт в счёт следующей кампании.",
            esc(&d.name), esc(&r.slug), action_label(l, d.action), d.price.regular, d.price.premium, schedule(l, &d.schedule), esc(&d.timezone), duration(l, r.hold_seconds), r.budget, r.budget),
        format!("<b>Review the campaign</b>\n\nName: {}\nSlug: {}\nAction: {}\nTarget: {where_}{stars}\nPrice: {} ⭐, Premium {} ⭐\nCap: {total}{caps}\nSchedule: {} ({})\nHold: {}\n\n<b>Budget: {} ⭐</b>\n{} Stars reserved at the Premium price; whatever is not spent stays on your balance for your next campaign.",
            esc(&d.name), esc(&r.slug), action_label(l, d.action), d.price.regular, d.price.premium, schedule(l, &d.schedule), esc(&d.timezone), duration(l, r.hold_seconds), r.budget, r.budget))
}

pub fn page(l: Lang, p: &Page) -> String {
    let s = |ru: &str, en: &str| t!(l, ru, en).to_string();
    match p {
        Page::Target => s("<b>Новая кампания</b>\n\nПришлите ссылку на цель: канал или группу (t.me/username, t.me/+приглашение), пост (t.me/username/123, t.me/c/ID/123), бота или мини-приложение (t.me/bot/app).\n\nИли выберите кампанию без ссылки:", "<b>New campaign</b>\n\nSend the target link: a channel or group (t.me/username, t.me/+invite), a post (t.me/username/123, t.me/c/ID/123), a bot or a mini app (t.me/bot/app).\n\nOr choose a campaign without a link:"),
        Page::Inspecting { url } => t!(l, format!("Проверяю {}…", esc(url)), format!("Checking {}…", esc(url))),
        Page::Actions { title, actions, notes } => {
            let mut text = if actions.is_empty() {
                t!(l, format!("<b>{}</b>: здесь нечего проверить поштучно. Пришлите другую ссылку.", esc(title)), format!("<b>{}</b>: nothing here can be verified per user. Send another link.", esc(title)))
            } else {
                t!(l, format!("<b>{}</b>\n\nЧто должен сделать пользователь?", esc(title)), format!("<b>{}</b>\n\nWhat should the user do?", esc(title)))
            };
            for n in notes {
                text.push_str(&format!("\n\nℹ️ {}", unverifiable(l, *n)));
            }
            text
        }
        Page::Rights { title, discussion_title, missing } => {
            let disc = discussion_title.as_deref().unwrap_or(t!(l, "группа обсуждения", "discussion group"));
            let lines: Vec<String> = missing.iter().map(|n| right(l, *n, &esc(title), &esc(disc))).collect();
            t!(l, format!("Чтобы бот видел это действие, ему нужны права:\n{}\n\nЗатем нажмите «Проверить снова».", lines.join("\n")), format!("For the bot to see this action it needs:\n{}\n\nThen press “Check again”.", lines.join("\n")))
        }
        Page::StarsAmount => s("Сколько Stars пользователь платит по счёту? От 1 до 100000.", "How many Stars does the user pay by the invoice? 1 to 100000."),
        Page::Poll => s("Пришлите вопрос опроса в первой строке и от 2 до 10 вариантов ответа — по одному в строке.", "Send the poll question on the first line and 2 to 10 options below it, one per line."),
        Page::MediaUrl => s("Пришлите https-ссылку на изображение, которое будет продаваться.", "Send the https URL of the image to sell."),
        Page::MediaAmount => s("Сколько Stars стоит изображение? От 1 до 100000.", "How many Stars does the image cost? 1 to 100000."),
        Page::Price { action, min } => t!(l,
            format!("<b>Цена за действие «{}»</b>\n\nНапишите обычную цену и цену для Premium-пользователей в Stars, например «{} {}». Минимум: {} / {} ⭐.", action_label(l, *action), min.regular, min.premium, min.regular, min.premium),
            format!("<b>Price for “{}”</b>\n\nSend the regular price and the price for Premium users in Stars, e.g. “{} {}”. Minimum: {} / {} ⭐.", action_label(l, *action), min.regular, min.premium, min.regular, min.premium)),
        Page::CapTotal => s("Сколько всего действий купить? Бюджет = это число × цена.", "How many actions in total? The budget is this number × the price."),
        Page::WindowCaps { total } => t!(l, format!("Ограничить по времени? Например: «час 10, день 100, неделя 500» (каждый не больше {total})."), format!("Cap per hour, day or week? E.g. “hour 10, day 100, week 500” (each at most {total}).")),
        Page::Schedule => s("<b>Когда засчитывать действия?</b>\n\nВыберите вариант или напишите, например, «mon-fri 9-18; sat 10-14».", "<b>When do actions count?</b>\n\nPick one or type e.g. “mon-fri 9-18; sat 10-14”."),
        Page::Grid { day: None, .. } => s("Выберите день, чтобы отметить часы. Число — сколько часов открыто.", "Pick a day to mark its hours. The number is how many hours are open."),
        Page::Grid { day: Some(d), .. } => t!(l, format!("{}: отметьте часы (по времени кампании).", day_short(l, *d)), format!("{}: mark the hours (campaign time).", day_short(l, *d))),
        Page::Timezone => s("Часовой пояс кампании? Выберите или напишите, например, Asia/Yekaterinburg.", "The campaign's time zone? Pick one or type e.g. Asia/Yekaterinburg."),
        Page::Hold { default } => t!(l,
            format!("Сколько ждать перед подтверждением (если действие отменят — не засчитаем)? По умолчанию {}. Можно написать «0», «12h», «72 часа», «3d»; не больше 90 дней.", duration(l, *default)),
            format!("How long to hold before approving (undone actions do not count)? Default {}. Type e.g. “0”, “12h”, “72h”, “3d”; at most 90 days.", duration(l, *default))),
        Page::Name => s("Название кампании (видно только вам)?", "The campaign's name (only you see it)?"),
        Page::Slug { suggestion } => t!(l,
            format!("Короткий адрес кампании: <code>{}</code>. Оставьте его или пришлите свой (латиница, цифры, дефис).", esc(suggestion)),
            format!("The campaign's short slug: <code>{}</code>. Keep it or send your own (Latin letters, digits, hyphens).", esc(suggestion))),
        Page::Review(r) => review(l, r),
        Page::EditMenu => s("Что изменить?", "What to change?"),
        Page::Submitting => s("Создаю счёт…", "Creating the invoice…"),
        Page::AwaitingPayment { offer_id, budget } => t!(l,
            format!("Кампания №{offer_id} ждёт оплаты: {budget} ⭐ по счёту выше. После оплаты она уйдёт на проверку."),
            format!("Campaign #{offer_id} awaits payment: {budget} ⭐ by the invoice above. Once paid, it goes to review.")),
        Page::Cancelled => s("Создание кампании отменено. Начать заново — /ads.", "Campaign creation cancelled. To start again: /ads."),
        Page::Ended => s("Этот мастер уже закрыт. Новая кампания — /ads.", "This wizard has ended. For a new campaign: /ads."),
    }
}
