//! Offers: what is sold (an action on a target), at what price, under which limits.
//!
//! Pure rules only. Whether an action can be verified on a target is decided
//! here, from the facts in telegram.md, so the CLI and the bot wizard refuse the
//! same combinations with the same reasons.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::schedule::Schedule;

/// A price in Stars for each tier; the user's Premium flag picks the tier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PricePair {
    pub regular: i64,
    pub premium: i64,
}

impl PricePair {
    pub fn for_user(&self, premium: bool) -> i64 {
        if premium {
            self.premium
        } else {
            self.regular
        }
    }
}

/// The catalog of verifiable actions (design.md section 5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Join a channel or supergroup; seen as updateChannelParticipant.
    JoinChannel,
    /// Join a private chat through a per-user link that needs approval.
    JoinRequest,
    /// Comment under a channel post, in its linked discussion group.
    Comment,
    /// React to a message in a group (or the discussion copy of a post).
    Reaction,
    /// Vote in a non-anonymous poll our bot sent.
    PollVote,
    /// Start our bot from the click.
    StartBot,
    /// Start a third-party bot or mini app; the advertiser reports it via the relay.
    ThirdPartyBot,
    /// Pay a Stars invoice sent by our bot.
    StarsPayment,
    /// Buy paid media sent by our bot.
    PaidMedia,
    /// Boost a channel.
    Boost,
    /// Bring unique visitors through a personal share link.
    Share,
}

pub const ALL_ACTIONS: [Action; 11] = [
    Action::JoinChannel,
    Action::JoinRequest,
    Action::Comment,
    Action::Reaction,
    Action::PollVote,
    Action::StartBot,
    Action::ThirdPartyBot,
    Action::StarsPayment,
    Action::PaidMedia,
    Action::Boost,
    Action::Share,
];

impl Action {
    pub fn as_str(self) -> &'static str {
        use Action::*;
        match self {
            JoinChannel => "join_channel",
            JoinRequest => "join_request",
            Comment => "comment",
            Reaction => "reaction",
            PollVote => "poll_vote",
            StartBot => "start_bot",
            ThirdPartyBot => "third_party_bot",
            StarsPayment => "stars_payment",
            PaidMedia => "paid_media",
            Boost => "boost",
            Share => "share",
        }
    }

    /// Default hold window: joins are easy to undo, so they wait 72 hours
    /// (design.md section 6); payments and purchases cannot be undone by the user.
    pub fn default_hold_seconds(self) -> i64 {
        use Action::*;
        match self {
            JoinChannel | JoinRequest | Boost => 72 * 3600,
            Comment | Reaction => 24 * 3600,
            PollVote | StartBot => 24 * 3600,
            ThirdPartyBot | StarsPayment | PaidMedia | Share => 0,
        }
    }

    /// Whether the bot must be an administrator of the target chat to see the action.
    pub fn needs_bot_admin(self) -> bool {
        matches!(
            self,
            Action::JoinChannel
                | Action::JoinRequest
                | Action::Reaction
                | Action::Boost
                | Action::Comment
        )
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why an action/target combination is refused, and what to offer instead.
/// Typed, so the bot can say it in Russian and English; `Display` is the CLI's English.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unverifiable {
    pub kind: UnverifiableKind,
}

/// The reason code of an [`Unverifiable`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnverifiableKind {
    /// Joins and boosts need the chat.
    NeedsChat,
    /// Basic groups cannot be asked with channels.getParticipant.
    BasicGroupJoin,
    /// Only channels and groups can be joined or boosted; not users or bots.
    NotAChat,
    /// Only channels and supergroups can be boosted.
    BoostNeedsChannel,
    /// Join requests need a private chat (public ones are joined by username).
    JoinRequestPublic,
    CommentNeedsPost,
    NoDiscussionGroup,
    ReactionNeedsKind,
    /// Channel reactions are anonymous.
    ChannelReaction,
    ReactionNeedsMessage,
    /// Reactions are seen in groups and in private chats with our bot only.
    ReactionNotInChat,
    /// Channel polls are anonymous; the bot sends its own poll.
    ChannelPoll,
    PollShape,
    ChannelPaidMedia,
    PaidMediaUrl,
    InvoiceAmount,
    NeedsUrl,
    /// start_bot counts starts of our own bot only.
    StartBotIsOurs,
    /// third_party_bot targets a bot or mini app.
    ThirdPartyNeedsBot,
    /// Native forwards are invisible per user.
    NativeForward,
    /// Buying Stars or Premium elsewhere is invisible.
    BoughtElsewhere,
}

impl Unverifiable {
    pub const fn new(kind: UnverifiableKind) -> Unverifiable {
        Unverifiable { kind }
    }

    /// The CLI's English reason.
    pub fn reason(&self) -> &'static str {
        use UnverifiableKind::*;
        match self.kind {
            NeedsChat => "The offer needs the chat (id or @username).",
            BasicGroupJoin => "Joins of basic groups cannot be re-checked (telegram.md 1.1).",
            NotAChat => "Only channels and groups can be joined or boosted, not users or bots.",
            BoostNeedsChannel => "Only channels and supergroups can be boosted.",
            JoinRequestPublic => "Join requests need a private chat: a public chat is joined by its @username, without the per-user link (telegram.md 1.1).",
            CommentNeedsPost => "A comment offer targets one channel post.",
            NoDiscussionGroup => "The channel has no linked discussion group, so there is nowhere to comment (telegram.md 1.4).",
            ReactionNeedsKind => "A reaction offer must say where: a group, or a channel post with a discussion group.",
            ChannelReaction => "Reactions in channels are anonymous: bots only get counts (telegram.md 1.3).",
            ReactionNeedsMessage => "A reaction offer targets one message.",
            ReactionNotInChat => "Reactions are seen only in groups and in the private chat with our bot (telegram.md 1.3).",
            ChannelPoll => "Votes are verified on the poll our bot sends in the user's private chat; polls in channels are anonymous (telegram.md 1.9).",
            PollShape => "A poll needs a question and 2 to 10 options.",
            ChannelPaidMedia => "Purchases of paid media in channels are not reported per user (telegram.md 1.7).",
            PaidMediaUrl => "Paid media needs the https URL of the image to sell.",
            InvoiceAmount => "The invoice amount must be 1 to 100000 Stars.",
            NeedsUrl => "This offer needs the target URL (http or https).",
            StartBotIsOurs => "start_bot counts starts of our own bot only.",
            ThirdPartyNeedsBot => "third_party_bot targets a bot or a mini app.",
            NativeForward => "Native forwards are not visible per user to anyone (telegram.md 1.2).",
            BoughtElsewhere => "Buying Stars or Premium elsewhere is invisible to bots (telegram.md 1.6, 1.8).",
        }
    }

    /// The CLI's English alternative.
    pub fn alternative(&self) -> &'static str {
        use UnverifiableKind::*;
        match self.kind {
            NeedsChat => "set the target chat.",
            BasicGroupJoin => "convert the group to a supergroup (Telegram does it when it gets a public link).",
            NotAChat | BoostNeedsChannel | JoinRequestPublic => "a `join_channel` offer.",
            CommentNeedsPost => "set the channel and the post id.",
            NoDiscussionGroup => "link a discussion group to the channel and add the bot as its admin.",
            ReactionNeedsKind => "set --chat-kind.",
            ChannelReaction => "a `reaction` on the post's copy in the linked discussion group, or a `comment`.",
            ReactionNeedsMessage => "set the message id.",
            ReactionNotInChat => "a `reaction` on a message in a group where the bot is an admin.",
            ChannelPoll => "a poll_vote offer with no chat: the bot sends the poll to each user privately.",
            PollShape => "set the poll.",
            ChannelPaidMedia => "paid media sent by our bot in the user's private chat.",
            PaidMediaUrl => "set --url.",
            InvoiceAmount => "set the amount.",
            NeedsUrl => "set the URL.",
            StartBotIsOurs => "a `third_party_bot` offer, reported by the advertiser through the relay.",
            ThirdPartyNeedsBot => "a `share` offer for links, or a `join_channel` offer for chats.",
            NativeForward => "a `share` offer with personal share links, counted by unique visitors.",
            BoughtElsewhere => "a `stars_payment` offer: the user pays an invoice from our bot; or a `boost` offer.",
        }
    }
}

impl fmt::Display for Unverifiable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} Instead: {}", self.reason(), self.alternative())
    }
}

impl FromStr for Action {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let norm = s.trim().to_ascii_lowercase().replace('-', "_");
        if let Some(u) = known_unverifiable(&norm) {
            return Err(format!("{s:?} cannot be verified per user. {u}"));
        }
        ALL_ACTIONS
            .iter()
            .copied()
            .find(|a| a.as_str() == norm)
            .ok_or_else(|| {
                let names: Vec<_> = ALL_ACTIONS.iter().map(|a| a.as_str()).collect();
                format!("unknown action {s:?}; expected one of {}", names.join(", "))
            })
    }
}

/// Actions people ask for that Telegram makes impossible to attribute (telegram.md section 0).
/// Also used by the bot wizard on free text ("репост", "forward"), so both explain the same way.
pub fn known_unverifiable(name: &str) -> Option<Unverifiable> {
    use UnverifiableKind::*;
    match name {
        "forward" | "native_forward" | "repost" => Some(Unverifiable::new(NativeForward)),
        "channel_reaction" => Some(Unverifiable::new(ChannelReaction)),
        "channel_poll" | "channel_poll_vote" => Some(Unverifiable::new(ChannelPoll)),
        "buy_stars" | "buy_premium" | "gift_premium" => Some(Unverifiable::new(BoughtElsewhere)),
        _ => None,
    }
}

/// What kind of place the target is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChatKind {
    Channel,
    Supergroup,
    BasicGroup,
    /// A private chat with our bot.
    BotChat,
    /// Another bot (third-party bots and mini apps).
    Bot,
    /// A user's profile: nothing happens there that a bot can see.
    User,
}

/// Where the action happens. Which fields matter depends on the action.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Target {
    /// The chat where the action happens, as a bare MTProto id (channel id for channels).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chat_id: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chat_kind: Option<ChatKind>,
    /// Public @username, without the @.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// A post or message id (comments, reactions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub msg_id: Option<i32>,
    /// Linked discussion group for comments (and reactions on the discussion copy).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discussion_chat_id: Option<i64>,
    /// URL for shares and third-party bots / mini apps.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Poll question and options, for poll offers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub poll: Option<PollSpec>,
    /// Invoice amount in Stars the user pays, for stars_payment and paid_media.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stars: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PollSpec {
    pub question: String,
    pub options: Vec<String>,
}

/// Checks that `action` on `target` is something we can verify per user, and
/// that the target carries what the action needs. The one rule set: the CLI
/// refuses with it and the bot wizard offers only the actions it accepts.
pub fn check_verifiable(action: Action, target: &Target) -> Result<(), Unverifiable> {
    use Action::*;
    use ChatKind::*;
    use UnverifiableKind as U;
    let no = |k| Err(Unverifiable::new(k));
    let kind = target.chat_kind;
    match action {
        JoinChannel | JoinRequest | Boost => {
            if target.chat_id.is_none() && target.username.is_none() {
                return no(U::NeedsChat);
            }
            if matches!(kind, Some(User | Bot | BotChat)) {
                return no(U::NotAChat);
            }
            if kind == Some(BasicGroup) {
                // Membership of basic groups cannot be asked with channels.getParticipant,
                // so the "Check" and the hold-end re-check would be impossible.
                return no(U::BasicGroupJoin);
            }
            if action == Boost && kind.is_some_and(|k| k != Channel && k != Supergroup) {
                return no(U::BoostNeedsChannel);
            }
            if action == JoinRequest && target.username.is_some() {
                // Clients join a public chat by username, so no per-user link is used.
                return no(U::JoinRequestPublic);
            }
            Ok(())
        }
        Comment => {
            if kind != Some(Channel) || target.msg_id.is_none() {
                return no(U::CommentNeedsPost);
            }
            if target.discussion_chat_id.is_none() {
                return no(U::NoDiscussionGroup);
            }
            Ok(())
        }
        Reaction => {
            // Whether reactions are attributable depends on the kind of chat: it must be said.
            let Some(kind) = kind else {
                return no(U::ReactionNeedsKind);
            };
            if kind == Channel && target.discussion_chat_id.is_none() {
                return no(U::ChannelReaction);
            }
            if matches!(kind, User | Bot) {
                return no(U::ReactionNotInChat);
            }
            if target.msg_id.is_none() {
                return no(U::ReactionNeedsMessage);
            }
            Ok(())
        }
        PollVote => {
            if kind.is_some_and(|k| k != BotChat) {
                // The bot sends the poll to the user; only that poll's votes reach it.
                return no(U::ChannelPoll);
            }
            match &target.poll {
                Some(p) if !p.question.trim().is_empty() && (2..=10).contains(&p.options.len()) => {
                    Ok(())
                }
                _ => no(U::PollShape),
            }
        }
        PaidMedia => {
            if kind == Some(Channel) {
                return no(U::ChannelPaidMedia);
            }
            price_set(target)?;
            match &target.url {
                Some(u) if u.starts_with("https://") => Ok(()),
                _ => no(U::PaidMediaUrl),
            }
        }
        StarsPayment => price_set(target),
        ThirdPartyBot if kind.is_some_and(|k| k != Bot) => no(U::ThirdPartyNeedsBot),
        Share | ThirdPartyBot => match &target.url {
            Some(u) if u.starts_with("https://") || u.starts_with("http://") => Ok(()),
            _ => no(U::NeedsUrl),
        },
        StartBot if kind.is_some_and(|k| k != BotChat) => no(U::StartBotIsOurs),
        StartBot => Ok(()),
    }
}

fn price_set(target: &Target) -> Result<(), Unverifiable> {
    match target.stars {
        Some(s) if (1..=STARS_MAX).contains(&s) => Ok(()),
        _ => Err(Unverifiable::new(UnverifiableKind::InvoiceAmount)),
    }
}

/// The largest invoice amount a task may ask of a user, in Stars.
pub const STARS_MAX: i64 = 100_000;

/// Offer lifecycle (design.md section 7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OfferStatus {
    Draft,
    AwaitingPayment,
    PendingReview,
    Active,
    Paused,
    Finished,
    Rejected,
}

impl OfferStatus {
    pub fn as_str(self) -> &'static str {
        use OfferStatus::*;
        match self {
            Draft => "draft",
            AwaitingPayment => "awaiting_payment",
            PendingReview => "pending_review",
            Active => "active",
            Paused => "paused",
            Finished => "finished",
            Rejected => "rejected",
        }
    }

    /// Allowed transitions; everything else is refused with the current status named.
    pub fn can_become(self, to: OfferStatus) -> bool {
        use OfferStatus::*;
        matches!(
            (self, to),
            (Draft, AwaitingPayment)
                | (Draft, PendingReview)
                | (AwaitingPayment, PendingReview)
                | (AwaitingPayment, Finished)
                | (AwaitingPayment, Draft)
                | (Draft, Finished)
                | (PendingReview, Active)
                | (PendingReview, Rejected)
                | (Active, Paused)
                | (Paused, Active)
                | (Active, Finished)
                | (Paused, Finished)
                | (Draft, Active)
        )
    }
}

impl FromStr for OfferStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        use OfferStatus::*;
        Ok(match s {
            "draft" => Draft,
            "awaiting_payment" => AwaitingPayment,
            "pending_review" => PendingReview,
            "active" => Active,
            "paused" => Paused,
            "finished" => Finished,
            "rejected" => Rejected,
            _ => return Err(format!("unknown offer status {s:?}")),
        })
    }
}

impl fmt::Display for OfferStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Caps on accepted conversions. `None` means no cap.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Caps {
    pub total: Option<i64>,
    pub hour: Option<i64>,
    pub day: Option<i64>,
    pub week: Option<i64>,
}

/// The HTTP shape of an offer's postback.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PostbackMethod {
    Get,
    PostForm,
    PostJson,
}

impl PostbackMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            PostbackMethod::Get => "get",
            PostbackMethod::PostForm => "post_form",
            PostbackMethod::PostJson => "post_json",
        }
    }
}

impl FromStr for PostbackMethod {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "get" => Ok(PostbackMethod::Get),
            "post_form" | "post-form" | "form" => Ok(PostbackMethod::PostForm),
            "post_json" | "post-json" | "json" => Ok(PostbackMethod::PostJson),
            _ => Err(format!(
                "unknown postback method {s:?}; expected get, post_form or post_json"
            )),
        }
    }
}

/// A conversion status as reported to networks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConversionStatus {
    Lead,
    Hold,
    Approved,
    Rejected,
}

impl ConversionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ConversionStatus::Lead => "lead",
            ConversionStatus::Hold => "hold",
            ConversionStatus::Approved => "approved",
            ConversionStatus::Rejected => "rejected",
        }
    }
}

impl FromStr for ConversionStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim() {
            "lead" => Ok(ConversionStatus::Lead),
            "hold" => Ok(ConversionStatus::Hold),
            "approved" => Ok(ConversionStatus::Approved),
            "rejected" => Ok(ConversionStatus::Rejected),
            _ => Err(format!(
                "unknown status {s:?}; expected lead, hold, approved or rejected"
            )),
        }
    }
}

impl fmt::Display for ConversionStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Parses `lead,hold,approved` into a sorted, deduplicated list.
pub fn parse_statuses(s: &str) -> Result<Vec<ConversionStatus>, String> {
    let mut v = s
        .split(',')
        .filter(|p| !p.trim().is_empty())
        .map(str::parse)
        .collect::<Result<Vec<ConversionStatus>, _>>()?;
    v.sort();
    v.dedup();
    Ok(v)
}

/// The postback settings of an offer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PostbackSpec {
    pub url: Option<String>,
    pub method: PostbackMethod,
    pub preset: String,
    pub statuses: Vec<ConversionStatus>,
    pub send_user_id: bool,
}

impl Default for PostbackSpec {
    /// No URL yet (an admin wires it), and the statuses the schema defaults to.
    fn default() -> Self {
        PostbackSpec {
            url: None,
            method: PostbackMethod::Get,
            preset: "generic".into(),
            statuses: vec![ConversionStatus::Approved, ConversionStatus::Rejected],
            send_user_id: false,
        }
    }
}

/// An offer as the domain sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Offer {
    pub id: i64,
    pub name: String,
    pub advertiser_id: Option<i64>,
    pub action: Action,
    pub target: Target,
    pub status: OfferStatus,
    pub price: PricePair,
    /// Decimal string reported as {payout}.
    pub payout: String,
    pub currency: String,
    pub caps: Caps,
    pub schedule: Schedule,
    pub timezone: String,
    pub hold_seconds: i64,
    pub budget_total: Option<i64>,
    pub budget_spent: i64,
    pub postback: PostbackSpec,
    pub relay_secret: Option<String>,
    /// Short unique name of a campaign made in the bot.
    pub slug: Option<String>,
    /// Bumped on every edit of a draft; invoices name the revision they were sent for.
    pub revision: i64,
    /// The advertiser's credit put towards the budget; the invoice is for the rest.
    pub credit_applied: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

impl Offer {
    /// Whether clicks are accepted right now (status only; caps and schedule are
    /// checked when a conversion is decided, because a click costs nothing).
    pub fn accepts_clicks(&self) -> bool {
        self.status == OfferStatus::Active
    }

    pub fn budget_left(&self) -> Option<i64> {
        self.budget_total.map(|t| (t - self.budget_spent).max(0))
    }
}

/// Validates a decimal payout like `1`, `0.25`, `12.5`.
pub fn valid_payout(s: &str) -> bool {
    let mut parts = s.splitn(2, '.');
    let int = parts.next().unwrap_or("");
    let frac = parts.next();
    !int.is_empty()
        && int.len() <= 12
        && int.chars().all(|c| c.is_ascii_digit())
        && frac
            .is_none_or(|f| !f.is_empty() && f.len() <= 6 && f.chars().all(|c| c.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn action_names_round_trip() {
        for a in ALL_ACTIONS {
            assert_eq!(a.as_str().parse::<Action>().unwrap(), a);
            let json = serde_json::to_string(&a).unwrap();
            assert_eq!(json, format!("\"{}\"", a.as_str()));
        }
    }

    #[test]
    fn unverifiable_names_explain_the_alternative() {
        let e = "forward".parse::<Action>().unwrap_err();
        assert!(e.contains("share"), "{e}");
        let e = "buy_stars".parse::<Action>().unwrap_err();
        assert!(e.contains("stars_payment"), "{e}");
    }

    #[test]
    fn channel_reaction_is_refused_with_alternative() {
        let t = Target {
            chat_id: Some(1),
            msg_id: Some(5),
            ..Default::default()
        };
        assert!(
            check_verifiable(Action::Reaction, &t)
                .unwrap_err()
                .alternative()
                .contains("chat-kind"),
            "the kind must be given"
        );
        let t = Target {
            chat_kind: Some(ChatKind::Channel),
            ..t
        };
        let e = check_verifiable(Action::Reaction, &t).unwrap_err();
        assert!(e.alternative().contains("discussion"));
        let t = Target {
            discussion_chat_id: Some(2),
            ..t
        };
        assert!(check_verifiable(Action::Reaction, &t).is_ok());
    }

    #[test]
    fn channel_polls_and_paid_media_are_refused() {
        let poll = PollSpec {
            question: "Q?".into(),
            options: vec!["a".into(), "b".into()],
        };
        let t = Target {
            chat_kind: Some(ChatKind::Channel),
            poll: Some(poll.clone()),
            stars: Some(5),
            ..Default::default()
        };
        assert!(check_verifiable(Action::PollVote, &t).is_err());
        assert!(check_verifiable(Action::PaidMedia, &t).is_err());
        let t = Target {
            chat_kind: Some(ChatKind::BotChat),
            poll: Some(poll),
            stars: Some(5),
            url: Some("https://x.test/a.jpg".into()),
            ..Default::default()
        };
        assert!(check_verifiable(Action::PollVote, &t).is_ok());
        assert!(check_verifiable(Action::PaidMedia, &t).is_ok());
    }

    #[test]
    fn basic_group_joins_are_refused() {
        let t = Target {
            chat_id: Some(1),
            chat_kind: Some(ChatKind::BasicGroup),
            ..Default::default()
        };
        assert!(check_verifiable(Action::JoinChannel, &t)
            .unwrap_err()
            .alternative()
            .contains("supergroup"));
    }

    #[test]
    fn comment_needs_discussion_group() {
        let t = Target {
            chat_id: Some(1),
            chat_kind: Some(ChatKind::Channel),
            msg_id: Some(3),
            ..Default::default()
        };
        assert!(check_verifiable(Action::Comment, &t)
            .unwrap_err()
            .reason()
            .contains("discussion"));
    }

    #[test]
    fn kinds_of_target_decide_the_actions() {
        use UnverifiableKind as U;
        let chat = |kind, username: Option<&str>| Target {
            chat_id: Some(1),
            chat_kind: Some(kind),
            username: username.map(str::to_string),
            url: Some("https://t.me/x".into()),
            ..Default::default()
        };
        let cases = [
            (
                Action::JoinRequest,
                chat(ChatKind::Channel, Some("pub")),
                Err(U::JoinRequestPublic),
            ),
            (Action::JoinRequest, chat(ChatKind::Channel, None), Ok(())),
            (
                Action::JoinChannel,
                chat(ChatKind::Bot, Some("b")),
                Err(U::NotAChat),
            ),
            (
                Action::JoinChannel,
                chat(ChatKind::User, Some("u")),
                Err(U::NotAChat),
            ),
            (
                Action::StartBot,
                chat(ChatKind::Channel, Some("c")),
                Err(U::StartBotIsOurs),
            ),
            (Action::StartBot, Target::default(), Ok(())),
            (
                Action::ThirdPartyBot,
                chat(ChatKind::Channel, Some("c")),
                Err(U::ThirdPartyNeedsBot),
            ),
            (
                Action::ThirdPartyBot,
                chat(ChatKind::Bot, Some("b")),
                Ok(()),
            ),
            (Action::Share, chat(ChatKind::User, Some("u")), Ok(())),
        ];
        for (action, target, want) in cases {
            let got = check_verifiable(action, &target).map_err(|u| u.kind);
            assert_eq!(got, want, "{action} on {target:?}");
        }
    }

    #[test]
    fn errors_keep_the_cli_english() {
        let u = Unverifiable::new(UnverifiableKind::ChannelReaction);
        assert_eq!(u.to_string(), "Reactions in channels are anonymous: bots only get counts (telegram.md 1.3). Instead: a `reaction` on the post's copy in the linked discussion group, or a `comment`.");
        let e = DraftError {
            field: DraftField::Price,
            problem: DraftProblem::BelowMinimum {
                premium: true,
                price: 3,
                min: 10,
                action: Action::Comment,
            },
        };
        assert_eq!(
            e.to_string(),
            "price: premium price 3 is below the minimum 10 for comment"
        );
        assert_eq!(
            known_unverifiable("repost").unwrap().kind,
            UnverifiableKind::NativeForward
        );
    }

    #[test]
    fn offer_transitions() {
        use OfferStatus::*;
        assert!(Active.can_become(Paused));
        assert!(Paused.can_become(Active));
        assert!(!Finished.can_become(Active));
        assert!(!Rejected.can_become(Active));
    }

    #[test]
    fn payouts() {
        for ok in ["0", "1", "0.25", "12.500000"] {
            assert!(valid_payout(ok), "{ok}");
        }
        for bad in ["", ".5", "1.", "-1", "1e3", "1.1234567", "abc"] {
            assert!(!valid_payout(bad), "{bad}");
        }
    }

    #[test]
    fn statuses_parse() {
        use ConversionStatus::*;
        assert_eq!(
            parse_statuses("approved,lead,approved").unwrap(),
            vec![Lead, Approved]
        );
        assert!(parse_statuses("approved,won").is_err());
    }
}

/// What an operator or advertiser asks for, before validation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfferDraft {
    pub name: String,
    pub advertiser_id: Option<i64>,
    pub action: Action,
    pub target: Target,
    pub price: PricePair,
    pub payout: String,
    pub currency: String,
    pub caps: Caps,
    pub schedule: Schedule,
    pub timezone: String,
    /// None: the action's default hold window.
    pub hold_seconds: Option<i64>,
    pub budget_total: Option<i64>,
}

/// Why a draft was refused; each names the field. Typed, so the bot can say it in
/// Russian and English; `Display` is the CLI's English (`field: problem`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DraftError {
    pub field: DraftField,
    pub problem: DraftProblem,
}

/// The draft field a [`DraftError`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DraftField {
    Name,
    Action,
    Price,
    Payout,
    Currency,
    CapTotal,
    CapHour,
    CapDay,
    CapWeek,
    Timezone,
    Hold,
    Budget,
}

impl DraftField {
    pub fn as_str(self) -> &'static str {
        use DraftField::*;
        match self {
            Name => "name",
            Action => "action",
            Price => "price",
            Payout => "payout",
            Currency => "currency",
            CapTotal => "cap_total",
            CapHour => "cap_hour",
            CapDay => "cap_day",
            CapWeek => "cap_week",
            Timezone => "timezone",
            Hold => "hold",
            Budget => "budget",
        }
    }
}

impl PartialEq<&str> for DraftField {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl fmt::Display for DraftField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What is wrong with a [`DraftField`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DraftProblem {
    NameLength,
    Unverifiable(Unverifiable),
    /// A price below the minimum for the action and tier.
    BelowMinimum {
        premium: bool,
        price: i64,
        min: i64,
        action: Action,
    },
    /// The payout as given.
    Payout(String),
    /// The currency as given.
    Currency(String),
    NotPositive,
    /// The time zone as given.
    Timezone(String),
    HoldRange,
    /// The budget cannot pay one conversion.
    BudgetTooSmall(i64),
}

impl fmt::Display for DraftProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DraftProblem::NameLength => f.write_str("must be 1 to 100 characters"),
            DraftProblem::Unverifiable(u) => u.fmt(f),
            DraftProblem::BelowMinimum {
                premium,
                price,
                min,
                action,
            } => {
                let tier = if *premium { "premium" } else { "regular" };
                write!(
                    f,
                    "{tier} price {price} is below the minimum {min} for {action}"
                )
            }
            DraftProblem::Payout(p) => write!(f, "{p:?} is not a decimal amount like 0.5"),
            DraftProblem::Currency(c) => write!(f, "{c:?} is not a currency code like USD or XTR"),
            DraftProblem::NotPositive => f.write_str("must be a positive number"),
            DraftProblem::Timezone(t) => {
                write!(f, "{t:?} is not a time zone like Europe/Moscow or UTC")
            }
            DraftProblem::HoldRange => f.write_str("must be between 0 and 90 days"),
            DraftProblem::BudgetTooSmall(b) => {
                write!(f, "{b} Stars cannot pay a single conversion")
            }
        }
    }
}

impl fmt::Display for DraftError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.problem)
    }
}

/// The longest hold window an offer may have.
pub const HOLD_MAX_SECONDS: i64 = 90 * 86400;

/// A draft that passed validation, with defaults filled in.
#[derive(Debug, Clone)]
pub struct ValidDraft {
    pub draft: OfferDraft,
    pub hold_seconds: i64,
}

/// Validates a draft against the minimum prices for its action. Used by the
/// CLI and by the bot's /ads wizard, so both refuse the same things.
pub fn validate_draft(mut d: OfferDraft, min: PricePair) -> Result<ValidDraft, DraftError> {
    use DraftField as F;
    use DraftProblem as P;
    let e = |field, problem| DraftError { field, problem };
    d.name = d.name.trim().to_string();
    if d.name.is_empty() || d.name.chars().count() > 100 {
        return Err(e(F::Name, P::NameLength));
    }
    check_verifiable(d.action, &d.target).map_err(|u| e(F::Action, P::Unverifiable(u)))?;
    for (premium, price, min) in [
        (false, d.price.regular, min.regular),
        (true, d.price.premium, min.premium),
    ] {
        if price < min {
            let action = d.action;
            return Err(e(
                F::Price,
                P::BelowMinimum {
                    premium,
                    price,
                    min,
                    action,
                },
            ));
        }
    }
    if !valid_payout(&d.payout) {
        return Err(e(F::Payout, P::Payout(d.payout.clone())));
    }
    let cur = d.currency.trim().to_ascii_uppercase();
    if !(3..=5).contains(&cur.len()) || !cur.chars().all(|c| c.is_ascii_alphabetic()) {
        return Err(e(F::Currency, P::Currency(d.currency.clone())));
    }
    d.currency = cur;
    for (field, v) in [
        (F::CapTotal, d.caps.total),
        (F::CapHour, d.caps.hour),
        (F::CapDay, d.caps.day),
        (F::CapWeek, d.caps.week),
    ] {
        if v.is_some_and(|v| v <= 0) {
            return Err(e(field, P::NotPositive));
        }
    }
    if !super::schedule::valid_timezone(&d.timezone) {
        return Err(e(F::Timezone, P::Timezone(d.timezone.clone())));
    }
    let hold = d
        .hold_seconds
        .unwrap_or_else(|| d.action.default_hold_seconds());
    if !(0..=HOLD_MAX_SECONDS).contains(&hold) {
        return Err(e(F::Hold, P::HoldRange));
    }
    if let Some(b) = d.budget_total {
        if b < d.price.regular.max(d.price.premium) {
            return Err(e(F::Budget, P::BudgetTooSmall(b)));
        }
    }
    Ok(ValidDraft {
        draft: d,
        hold_seconds: hold,
    })
}

#[cfg(test)]
mod draft_tests {
    use super::*;

    fn draft() -> OfferDraft {
        OfferDraft {
            name: " Join ".into(),
            advertiser_id: None,
            action: Action::JoinChannel,
            target: Target {
                username: Some("news".into()),
                ..Default::default()
            },
            price: PricePair {
                regular: 5,
                premium: 10,
            },
            payout: "1".into(),
            currency: "usd".into(),
            caps: Caps::default(),
            schedule: Schedule::Always,
            timezone: "UTC".into(),
            hold_seconds: None,
            budget_total: None,
        }
    }

    #[test]
    fn fills_defaults() {
        let v = validate_draft(
            draft(),
            PricePair {
                regular: 5,
                premium: 10,
            },
        )
        .unwrap();
        assert_eq!(v.hold_seconds, 72 * 3600);
        assert_eq!(v.draft.currency, "USD");
        assert_eq!(v.draft.name, "Join");
    }

    #[test]
    fn refuses_with_field_named() {
        let min = PricePair {
            regular: 5,
            premium: 10,
        };
        let cases: Vec<(OfferDraft, &str)> = vec![
            (
                OfferDraft {
                    price: PricePair {
                        regular: 4,
                        premium: 10,
                    },
                    ..draft()
                },
                "price",
            ),
            (
                OfferDraft {
                    timezone: "Mars/Base".into(),
                    ..draft()
                },
                "timezone",
            ),
            (
                OfferDraft {
                    payout: "1,5".into(),
                    ..draft()
                },
                "payout",
            ),
            (
                OfferDraft {
                    caps: Caps {
                        day: Some(0),
                        ..Default::default()
                    },
                    ..draft()
                },
                "cap_day",
            ),
            (
                OfferDraft {
                    budget_total: Some(3),
                    ..draft()
                },
                "budget",
            ),
            (
                OfferDraft {
                    target: Target::default(),
                    ..draft()
                },
                "action",
            ),
        ];
        for (d, field) in cases {
            assert_eq!(validate_draft(d, min).unwrap_err().field, field);
        }
    }
}
