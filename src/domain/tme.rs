//! Telegram links as targets: parsing `t.me` / `tg://` links (pure, no
//! network), the facts the bot learns when it resolves one, and the admin
//! rights the bot needs there for each action.
//!
//! The parser only says what a link *names*; whether the chat exists, what kind
//! it is and what the bot may do there comes from Telegram as [`TargetFacts`].

use serde::{Deserialize, Serialize};

use super::offer::{Action, ChatKind, Target};

/// What a Telegram link names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TmeLink {
    /// `t.me/NAME`, `@NAME`, `tg://resolve?domain=NAME`: a channel, group, bot or user.
    Username { username: String },
    /// `t.me/+HASH`, `t.me/joinchat/HASH`, `tg://join?invite=HASH`: a private chat.
    Invite { hash: String },
    /// `t.me/NAME/POST`: a message in a public chat.
    PublicPost { username: String, post: i32 },
    /// `t.me/c/ID/POST`: a message in a private channel or supergroup, by bare id.
    PrivatePost { channel: i64, post: i32 },
    /// `t.me/c/ID`: a private channel or supergroup, by bare id.
    PrivateChat { channel: i64 },
    /// `t.me/BOT/APP`: a bot's mini app.
    BotApp { bot: String, app: String },
}

/// Why a text is not a link we can use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TmeError {
    /// Not a t.me, telegram.me or tg:// link at all.
    NotTelegram,
    /// A Telegram link of a kind no offer targets (stickers, proxies, themes...).
    Unsupported,
    /// The @username is not 4-32 letters, digits or `_` starting with a letter.
    BadUsername,
    /// The invite hash is empty or has odd characters.
    BadInvite,
    /// The post number is not a positive number.
    BadPost,
    /// The channel id in `t.me/c/ID` is not a positive number.
    BadChannel,
}

/// First path segments of t.me links that are not usernames.
const RESERVED: [&str; 16] = [
    "addstickers",
    "addemoji",
    "addtheme",
    "addlist",
    "setlanguage",
    "proxy",
    "socks",
    "share",
    "login",
    "iv",
    "bg",
    "invoice",
    "giftcode",
    "confirmphone",
    "contact",
    "boost",
];

impl TmeLink {
    /// Parses what an advertiser pastes: with `https://`, `http://` or no scheme,
    /// `t.me`, `telegram.me`, `telegram.dog` or `NAME.t.me`, `@NAME`, or a `tg://` link.
    /// Query strings and fragments of https links are ignored.
    pub fn parse(input: &str) -> Result<TmeLink, TmeError> {
        let s = input.trim();
        if s.len() > 300 || s.chars().any(char::is_whitespace) || s.is_empty() {
            return Err(TmeError::NotTelegram);
        }
        if let Some(name) = s.strip_prefix('@') {
            return Ok(TmeLink::Username {
                username: username(name)?,
            });
        }
        let lower = s.to_ascii_lowercase();
        if lower.starts_with("tg://") {
            return parse_tg(&s[5..]);
        }
        let rest = ["https://", "http://"]
            .iter()
            .find_map(|p| lower.starts_with(p).then(|| &s[p.len()..]))
            .unwrap_or(s);
        let rest = rest.split(['?', '#']).next().unwrap_or("");
        let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
        let host = host.to_ascii_lowercase();
        let host = host.strip_prefix("www.").unwrap_or(&host);
        let segs: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
        match host {
            "t.me" | "telegram.me" | "telegram.dog" => parse_path(&segs),
            h => match h.strip_suffix(".t.me") {
                Some(name) if segs.is_empty() => Ok(TmeLink::Username {
                    username: username(name)?,
                }),
                Some(name) => parse_path(&[&[name][..], &segs[..]].concat()),
                None => Err(TmeError::NotTelegram),
            },
        }
    }

    /// The canonical https form, for task buttons and share or relay targets.
    pub fn url(&self) -> String {
        match self {
            TmeLink::Username { username } => format!("https://t.me/{username}"),
            TmeLink::Invite { hash } => format!("https://t.me/+{hash}"),
            TmeLink::PublicPost { username, post } => format!("https://t.me/{username}/{post}"),
            TmeLink::PrivatePost { channel, post } => format!("https://t.me/c/{channel}/{post}"),
            TmeLink::PrivateChat { channel } => format!("https://t.me/c/{channel}"),
            TmeLink::BotApp { bot, app } => format!("https://t.me/{bot}/{app}"),
        }
    }

    /// The post the link points at, if any.
    pub fn post(&self) -> Option<i32> {
        match self {
            TmeLink::PublicPost { post, .. } | TmeLink::PrivatePost { post, .. } => Some(*post),
            _ => None,
        }
    }

    /// The @username the link names, if any.
    pub fn username(&self) -> Option<&str> {
        match self {
            TmeLink::Username { username } | TmeLink::PublicPost { username, .. } => Some(username),
            TmeLink::BotApp { bot, .. } => Some(bot),
            _ => None,
        }
    }
}

fn parse_path(segs: &[&str]) -> Result<TmeLink, TmeError> {
    match segs {
        [] => Err(TmeError::NotTelegram),
        [first, rest @ ..] if first.starts_with('+') => match rest {
            [] => Ok(TmeLink::Invite {
                hash: invite(&first[1..])?,
            }),
            _ => Err(TmeError::BadInvite),
        },
        ["joinchat", hash] => Ok(TmeLink::Invite {
            hash: invite(hash)?,
        }),
        ["joinchat", ..] => Err(TmeError::BadInvite),
        ["c", id] => Ok(TmeLink::PrivateChat {
            channel: channel(id)?,
        }),
        // `t.me/c/ID/POST`, and `t.me/c/ID/TOPIC/POST` for forum topics.
        ["c", id, .., post] if segs.len() <= 4 => Ok(TmeLink::PrivatePost {
            channel: channel(id)?,
            post: post_id(post)?,
        }),
        [first, ..] if RESERVED.contains(&first.to_ascii_lowercase().as_str()) => {
            Err(TmeError::Unsupported)
        }
        [name] => Ok(TmeLink::Username {
            username: username(name)?,
        }),
        [name, second] if second.bytes().all(|b| b.is_ascii_digit()) => Ok(TmeLink::PublicPost {
            username: username(name)?,
            post: post_id(second)?,
        }),
        [name, app] => Ok(TmeLink::BotApp {
            bot: username(name)?,
            app: app_name(app)?,
        }),
        // `t.me/NAME/TOPIC/POST` in forums.
        [name, topic, post] if topic.bytes().all(|b| b.is_ascii_digit()) => {
            Ok(TmeLink::PublicPost {
                username: username(name)?,
                post: post_id(post)?,
            })
        }
        _ => Err(TmeError::Unsupported),
    }
}

fn parse_tg(rest: &str) -> Result<TmeLink, TmeError> {
    let (what, query) = rest.split_once('?').unwrap_or((rest, ""));
    let param = |key: &str| {
        query
            .split('&')
            .filter_map(|kv| kv.split_once('='))
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v)
    };
    match what.trim_end_matches('/').to_ascii_lowercase().as_str() {
        "resolve" => {
            let name = username(param("domain").ok_or(TmeError::BadUsername)?)?;
            if let Some(app) = param("appname") {
                return Ok(TmeLink::BotApp {
                    bot: name,
                    app: app_name(app)?,
                });
            }
            match param("post") {
                Some(p) => Ok(TmeLink::PublicPost {
                    username: name,
                    post: post_id(p)?,
                }),
                None => Ok(TmeLink::Username { username: name }),
            }
        }
        "join" => Ok(TmeLink::Invite {
            hash: invite(param("invite").ok_or(TmeError::BadInvite)?)?,
        }),
        "privatepost" => Ok(TmeLink::PrivatePost {
            channel: channel(param("channel").ok_or(TmeError::BadChannel)?)?,
            post: post_id(param("post").ok_or(TmeError::BadPost)?)?,
        }),
        "" => Err(TmeError::NotTelegram),
        _ => Err(TmeError::Unsupported),
    }
}

/// Telegram usernames: 4 to 32 of `A-Za-z0-9_`, starting with a letter
/// (4-letter ones exist as collectibles). Case is kept as written.
fn username(s: &str) -> Result<String, TmeError> {
    let ok = (4..=32).contains(&s.len())
        && s.starts_with(|c: char| c.is_ascii_alphabetic())
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    ok.then(|| s.to_string()).ok_or(TmeError::BadUsername)
}

fn app_name(s: &str) -> Result<String, TmeError> {
    let ok =
        (3..=64).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    ok.then(|| s.to_string()).ok_or(TmeError::Unsupported)
}

fn invite(s: &str) -> Result<String, TmeError> {
    let ok = (1..=64).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    ok.then(|| s.to_string()).ok_or(TmeError::BadInvite)
}

fn post_id(s: &str) -> Result<i32, TmeError> {
    s.parse::<i32>()
        .ok()
        .filter(|p| *p > 0)
        .ok_or(TmeError::BadPost)
}

fn channel(s: &str) -> Result<i64, TmeError> {
    s.parse::<i64>()
        .ok()
        .filter(|c| *c > 0)
        .ok_or(TmeError::BadChannel)
}

/// What the bot learned about a link from Telegram (filled by the bot glue).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetFacts {
    /// `BotChat` means our own bot; `Bot` another bot; `User` a person.
    pub kind: ChatKind,
    /// Bare MTProto id (channel id for channels). None when only an invite
    /// preview is known: the bot is not in that chat, so it cannot see its id.
    pub chat_id: Option<i64>,
    pub username: Option<String>,
    /// Chat title, or a user's or bot's name.
    pub title: String,
    /// The post of a post link, with whether `channels.getMessages` found it.
    pub msg_id: Option<i32>,
    pub post_exists: bool,
    /// Linked discussion group of a channel (`channels.getFullChannel`).
    pub discussion_chat_id: Option<i64>,
    pub discussion_title: Option<String>,
    /// The bot's standing in the chat; None: not a member.
    pub bot_rights_in_chat: Option<BotRights>,
    /// The bot's standing in the discussion group; None: not a member (or no group).
    pub bot_rights_in_discussion: Option<BotRights>,
    /// Short name of the mini app of a `t.me/BOT/APP` link, if the bot has it.
    pub app_short_name: Option<String>,
}

/// The bot's standing in a chat it is a member of: from `channels.getParticipant`
/// (a creator counts as an admin with every right).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BotRights {
    pub admin: bool,
    /// `ChatAdminRights.invite_users`: "Invite users via link".
    pub invite_users: bool,
}

/// A right the bot needs for an action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Right {
    /// Be an administrator (any rights).
    Admin,
    /// Administrator with "Invite users via link".
    InviteUsers,
}

/// Where the bot needs the right.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Place {
    /// The target chat itself.
    Chat,
    /// The channel's linked discussion group.
    Discussion,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RightNeed {
    pub place: Place,
    pub right: Right,
}

/// The rights the bot needs for `action` on `target` to see it happen
/// (telegram.md 1.1-1.4, docs/LIMITATIONS.md).
pub fn required_rights(action: Action, target: &Target) -> Vec<RightNeed> {
    let need = |place, right| RightNeed { place, right };
    use Place::*;
    use Right::*;
    match action {
        // Members are seen only by admins; a chat without a username is joined
        // through invite links the bot makes.
        Action::JoinChannel if target.username.is_none() => {
            vec![need(Chat, Admin), need(Chat, InviteUsers)]
        }
        Action::JoinChannel | Action::Boost => vec![need(Chat, Admin)],
        Action::JoinRequest => vec![need(Chat, Admin), need(Chat, InviteUsers)],
        Action::Comment => vec![need(Discussion, Admin)],
        Action::Reaction => match target.chat_kind {
            Some(ChatKind::Channel) => vec![need(Discussion, Admin)],
            Some(ChatKind::BotChat) | None => vec![],
            Some(_) => vec![need(Chat, Admin)],
        },
        _ => vec![],
    }
}

/// The needs the bot's current standing does not meet (empty: all set).
pub fn missing_rights(needs: &[RightNeed], facts: &TargetFacts) -> Vec<RightNeed> {
    needs
        .iter()
        .copied()
        .filter(|n| {
            let have = match n.place {
                Place::Chat => facts.bot_rights_in_chat,
                Place::Discussion => facts.bot_rights_in_discussion,
            };
            !have.is_some_and(|r| {
                r.admin
                    && match n.right {
                        Right::Admin => true,
                        Right::InviteUsers => r.invite_users,
                    }
            })
        })
        .collect()
}

/// The actions a link target can carry (the no-link ones are chosen without a link).
pub const LINK_ACTIONS: [Action; 8] = [
    Action::JoinChannel,
    Action::JoinRequest,
    Action::Comment,
    Action::Reaction,
    Action::Boost,
    Action::StartBot,
    Action::ThirdPartyBot,
    Action::Share,
];

impl TargetFacts {
    /// The offer target for `action` on this chat, reached by `link`.
    pub fn target_for(&self, action: Action, link: &TmeLink) -> Target {
        let post_level = matches!(action, Action::Comment | Action::Reaction);
        let with_url = matches!(action, Action::Share | Action::ThirdPartyBot);
        Target {
            chat_id: self.chat_id,
            chat_kind: Some(self.kind),
            username: self.username.clone(),
            title: Some(self.title.clone()),
            msg_id: if post_level { self.msg_id } else { None },
            discussion_chat_id: if post_level {
                self.discussion_chat_id
            } else {
                None
            },
            url: with_url.then(|| link.url()),
            ..Default::default()
        }
    }

    /// The link actions [`check_verifiable`](super::offer::check_verifiable) accepts here.
    pub fn verifiable_actions(&self, link: &TmeLink) -> Vec<Action> {
        LINK_ACTIONS
            .into_iter()
            .filter(|a| super::offer::check_verifiable(*a, &self.target_for(*a, link)).is_ok())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(u: &str) -> TmeLink {
        TmeLink::Username { username: u.into() }
    }

    #[test]
    fn parses_every_form() {
        let post = |u: &str, p| TmeLink::PublicPost {
            username: u.into(),
            post: p,
        };
        let inv = |h: &str| TmeLink::Invite { hash: h.into() };
        let priv_post = TmeLink::PrivatePost {
            channel: 1234567890,
            post: 15,
        };
        let app = TmeLink::BotApp {
            bot: "shop_bot".into(),
            app: "store".into(),
        };
        let cases: Vec<(&str, TmeLink)> = vec![
            ("t.me/news", user("news")),
            ("https://t.me/news", user("news")),
            ("http://t.me/News_Ru/", user("News_Ru")),
            ("https://telegram.me/news", user("news")),
            ("HTTPS://WWW.T.ME/news?start=x", user("news")),
            ("telegram.dog/news", user("news")),
            ("news.t.me", user("news")),
            ("@news", user("news")),
            ("  t.me/news  ", user("news")),
            ("t.me/+AbC-d_9", inv("AbC-d_9")),
            ("https://t.me/joinchat/AAAAAE", inv("AAAAAE")),
            ("t.me/news/42", post("news", 42)),
            ("t.me/news/42?single", post("news", 42)),
            ("t.me/forum/3/42", post("forum", 42)),
            ("https://t.me/c/1234567890/15", priv_post.clone()),
            (
                "t.me/c/1234567890",
                TmeLink::PrivateChat {
                    channel: 1234567890,
                },
            ),
            ("t.me/shop_bot", user("shop_bot")),
            ("t.me/shop_bot/store", app.clone()),
            ("tg://resolve?domain=news", user("news")),
            ("tg://resolve?domain=news&post=42", post("news", 42)),
            ("tg://resolve?domain=shop_bot&appname=store", app),
            ("tg://join?invite=AbC", inv("AbC")),
            ("tg://privatepost?channel=1234567890&post=15", priv_post),
        ];
        for (input, want) in cases {
            assert_eq!(TmeLink::parse(input), Ok(want), "{input}");
        }
    }

    #[test]
    fn refuses_garbage_with_a_reason() {
        use TmeError::*;
        let cases = [
            ("", NotTelegram),
            ("hello world", NotTelegram),
            ("https://example.com/news", NotTelegram),
            ("репост", NotTelegram),
            ("t.me", NotTelegram),
            ("t.me/ab", BadUsername),
            ("t.me/1news", BadUsername),
            ("@", BadUsername),
            ("t.me/news!", BadUsername),
            ("t.me/+", BadInvite),
            ("t.me/joinchat/", BadInvite),
            ("t.me/+abc/1", BadInvite),
            ("t.me/news/0", BadPost),
            ("t.me/news/99999999999", BadPost),
            ("t.me/c/abc/1", BadChannel),
            ("t.me/c/-5/1", BadChannel),
            ("t.me/addstickers/Pack", Unsupported),
            ("t.me/proxy?server=x", Unsupported),
            ("tg://msg?text=x", Unsupported),
            ("tg://resolve?post=3", BadUsername),
            ("tg://privatepost?channel=5", BadPost),
            ("tg://join", BadInvite),
        ];
        for (input, want) in cases {
            assert_eq!(TmeLink::parse(input), Err(want), "{input}");
        }
    }

    #[test]
    fn canonical_urls() {
        for s in [
            "t.me/news",
            "t.me/+AbC",
            "t.me/news/4",
            "t.me/c/77/4",
            "t.me/c/77",
            "t.me/shop_bot/app",
        ] {
            let l = TmeLink::parse(s).unwrap();
            assert_eq!(l.url(), format!("https://{s}"));
            assert_eq!(TmeLink::parse(&l.url()), Ok(l));
        }
    }

    fn facts(kind: ChatKind) -> TargetFacts {
        TargetFacts {
            kind,
            chat_id: Some(100),
            username: Some("news".into()),
            title: "News".into(),
            msg_id: None,
            post_exists: false,
            discussion_chat_id: None,
            discussion_title: None,
            bot_rights_in_chat: None,
            bot_rights_in_discussion: None,
            app_short_name: None,
        }
    }

    #[test]
    fn rights_each_action_needs() {
        use Place::*;
        use Right::*;
        let n = |place, right| RightNeed { place, right };
        let public = Target {
            username: Some("news".into()),
            chat_kind: Some(ChatKind::Channel),
            ..Default::default()
        };
        let private = Target {
            chat_id: Some(1),
            chat_kind: Some(ChatKind::Channel),
            ..Default::default()
        };
        let group = Target {
            chat_kind: Some(ChatKind::Supergroup),
            ..public.clone()
        };
        let cases = [
            (Action::JoinChannel, &public, vec![n(Chat, Admin)]),
            (
                Action::JoinChannel,
                &private,
                vec![n(Chat, Admin), n(Chat, InviteUsers)],
            ),
            (
                Action::JoinRequest,
                &private,
                vec![n(Chat, Admin), n(Chat, InviteUsers)],
            ),
            (Action::Boost, &public, vec![n(Chat, Admin)]),
            (Action::Comment, &public, vec![n(Discussion, Admin)]),
            (Action::Reaction, &public, vec![n(Discussion, Admin)]),
            (Action::Reaction, &group, vec![n(Chat, Admin)]),
            (Action::Share, &public, vec![]),
            (Action::StartBot, &Target::default(), vec![]),
        ];
        for (action, target, want) in cases {
            assert_eq!(required_rights(action, target), want, "{action}");
        }
    }

    #[test]
    fn missing_rights_from_the_bot_standing() {
        let needs = required_rights(Action::JoinRequest, &Target::default());
        let mut f = facts(ChatKind::Channel);
        assert_eq!(missing_rights(&needs, &f).len(), 2, "not a member");
        f.bot_rights_in_chat = Some(BotRights {
            admin: false,
            invite_users: false,
        });
        assert_eq!(
            missing_rights(&needs, &f).len(),
            2,
            "a member, not an admin"
        );
        f.bot_rights_in_chat = Some(BotRights {
            admin: true,
            invite_users: false,
        });
        assert_eq!(
            missing_rights(&needs, &f),
            vec![RightNeed {
                place: Place::Chat,
                right: Right::InviteUsers
            }]
        );
        f.bot_rights_in_chat = Some(BotRights {
            admin: true,
            invite_users: true,
        });
        assert!(missing_rights(&needs, &f).is_empty());
    }

    #[test]
    fn verifiable_actions_per_target() {
        let link = user("news");
        let post = TmeLink::PublicPost {
            username: "news".into(),
            post: 5,
        };
        let channel = facts(ChatKind::Channel);
        use Action::*;
        assert_eq!(
            channel.verifiable_actions(&link),
            vec![JoinChannel, Boost, Share]
        );
        let with_post = TargetFacts {
            msg_id: Some(5),
            post_exists: true,
            ..channel.clone()
        };
        assert_eq!(
            with_post.verifiable_actions(&post),
            vec![JoinChannel, Boost, Share]
        );
        let discussed = TargetFacts {
            discussion_chat_id: Some(7),
            ..with_post
        };
        assert_eq!(
            discussed.verifiable_actions(&post),
            vec![JoinChannel, Comment, Reaction, Boost, Share]
        );
        let private = TargetFacts {
            username: None,
            ..channel
        };
        let inv = TmeLink::Invite { hash: "x".into() };
        assert_eq!(
            private.verifiable_actions(&inv),
            vec![JoinChannel, JoinRequest, Boost, Share]
        );
        let group = TargetFacts {
            msg_id: Some(9),
            ..facts(ChatKind::Supergroup)
        };
        assert_eq!(
            group.verifiable_actions(&post),
            vec![JoinChannel, Reaction, Boost, Share]
        );
        let bot = facts(ChatKind::Bot);
        assert_eq!(bot.verifiable_actions(&link), vec![ThirdPartyBot, Share]);
        assert_eq!(
            facts(ChatKind::BotChat).verifiable_actions(&link),
            vec![StartBot, Share]
        );
        assert_eq!(facts(ChatKind::User).verifiable_actions(&link), vec![Share]);
        assert_eq!(
            facts(ChatKind::BasicGroup).verifiable_actions(&link),
            vec![Share]
        );
    }
}
