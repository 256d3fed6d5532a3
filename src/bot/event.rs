//! Raw Telegram updates as typed events: one pure mapping, table-tested.
//!
//! Which update proves which action, and when Telegram sends it, is in
//! docs/LIMITATIONS.md (from telegram.md). Everything after this module deals
//! with `Event`s and never looks at TL types.

use grammers_session::types::PeerId;
use grammers_tl_types as tl;

/// What happened, in our terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// The bot itself was added, promoted, demoted or removed in a chat.
    BotRights {
        chat: i64,
        actor: i64,
        admin: bool,
    },
    /// A user joined (`joined`) or left a channel, supergroup or basic group.
    Membership {
        chat: i64,
        user: i64,
        joined: bool,
        date: i64,
        invite: Option<String>,
    },
    /// A user asked to join through an invite link that needs approval.
    JoinRequest {
        peer: PeerId,
        user: i64,
        invite: Option<String>,
    },
    /// A user changed their reaction on a message (never a channel or bot actor).
    Reaction {
        chat: i64,
        msg_id: i32,
        user: i64,
        added: bool,
        date: i64,
        qts: i32,
    },
    PollVote {
        poll_id: i64,
        user: i64,
        voted: bool,
    },
    Precheckout {
        query_id: i64,
        user: i64,
        payload: Vec<u8>,
        currency: String,
        amount: i64,
    },
    PaidMediaBought {
        user: i64,
        payload: String,
    },
    Boost {
        chat: i64,
        user: i64,
    },
    BotStopped {
        user: i64,
        stopped: bool,
        date: i64,
    },
}

/// The user whose updates must be handled in order with this one.
pub fn order_key(raw: &tl::enums::Update) -> Option<i64> {
    use tl::enums::Update as U;
    match raw {
        U::ChannelParticipant(x) => Some(x.user_id),
        U::ChatParticipant(x) => Some(x.user_id),
        U::BotChatInviteRequester(x) => Some(x.user_id),
        U::BotMessageReaction(x) => Some(PeerId::from(&x.actor).bare_id_unchecked()),
        U::MessagePollVote(x) => Some(PeerId::from(&x.peer).bare_id_unchecked()),
        U::BotPrecheckoutQuery(x) => Some(x.user_id),
        U::BotPurchasedPaidMedia(x) => Some(x.user_id),
        U::BotChatBoost(x) => match &x.boost {
            tl::enums::Boost::Boost(b) => b.user_id,
        },
        U::BotStopped(x) => Some(x.user_id),
        _ => None,
    }
}

fn is_member(p: &Option<tl::enums::ChannelParticipant>) -> bool {
    use tl::enums::ChannelParticipant as P;
    matches!(
        p,
        Some(P::Participant(_) | P::ParticipantSelf(_) | P::Admin(_) | P::Creator(_))
    )
}

fn invite_of(i: &Option<tl::enums::ExportedChatInvite>) -> Option<String> {
    match i {
        Some(tl::enums::ExportedChatInvite::ChatInviteExported(x)) => Some(x.link.clone()),
        _ => None,
    }
}

/// Maps a raw update to an event; `None` for updates we do not act on
/// (including participant updates that change nothing, e.g. a promotion).
/// `me` is the bot's own user id: changes to its own membership are its rights.
pub fn from_raw(raw: &tl::enums::Update, me: i64) -> Option<Event> {
    use tl::enums::Update as U;
    Some(match raw {
        U::ChannelParticipant(u) if u.user_id == me => {
            use tl::enums::ChannelParticipant as P;
            Event::BotRights {
                chat: u.channel_id,
                actor: u.actor_id,
                admin: matches!(u.new_participant, Some(P::Admin(_) | P::Creator(_))),
            }
        }
        U::ChannelParticipant(u) => {
            let (was, is) = (
                is_member(&u.prev_participant),
                is_member(&u.new_participant),
            );
            if was == is {
                return None;
            }
            Event::Membership {
                chat: u.channel_id,
                user: u.user_id,
                joined: is,
                date: u.date as i64,
                invite: invite_of(&u.invite),
            }
        }
        U::ChatParticipant(u) => {
            let (was, is) = (u.prev_participant.is_some(), u.new_participant.is_some());
            if was == is {
                return None;
            }
            Event::Membership {
                chat: u.chat_id,
                user: u.user_id,
                joined: is,
                date: u.date as i64,
                invite: invite_of(&u.invite),
            }
        }
        U::BotChatInviteRequester(u) => Event::JoinRequest {
            peer: PeerId::from(&u.peer),
            user: u.user_id,
            invite: invite_of(&Some(u.invite.clone())),
        },
        U::BotMessageReaction(u) => {
            // Reactions sent as a channel are not a user's action.
            let tl::enums::Peer::User(actor) = &u.actor else {
                return None;
            };
            Event::Reaction {
                chat: PeerId::from(&u.peer).bare_id_unchecked(),
                msg_id: u.msg_id,
                user: actor.user_id,
                added: !u.new_reactions.is_empty(),
                date: u.date as i64,
                qts: u.qts,
            }
        }
        U::MessagePollVote(u) => {
            let tl::enums::Peer::User(voter) = &u.peer else {
                return None;
            };
            Event::PollVote {
                poll_id: u.poll_id,
                user: voter.user_id,
                voted: !u.options.is_empty(),
            }
        }
        U::BotPrecheckoutQuery(u) => Event::Precheckout {
            query_id: u.query_id,
            user: u.user_id,
            payload: u.payload.clone(),
            currency: u.currency.clone(),
            amount: u.total_amount,
        },
        U::BotPurchasedPaidMedia(u) => Event::PaidMediaBought {
            user: u.user_id,
            payload: u.payload.clone(),
        },
        U::BotChatBoost(u) => {
            let tl::enums::Boost::Boost(b) = &u.boost;
            Event::Boost {
                chat: PeerId::from(&u.peer).bare_id_unchecked(),
                user: b.user_id?,
            }
        }
        U::BotStopped(u) => Event::BotStopped {
            user: u.user_id,
            stopped: u.stopped,
            date: u.date as i64,
        },
        _ => return None,
    })
}

/// A bot command in a private chat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `/start` with its payload (empty when the user opened the bot without a link).
    Start(String),
    Ads,
    Cancel,
    Help,
    PaySupport,
    Statistic,
    Campaigns,
    Settings,
    Ledger,
    /// Any other `/word`: answered with the help text.
    Unknown(String),
}

/// Parses a command: `/name`, `/name@ourbot`, then an optional argument.
/// `None` for text that is not a command (wizard answers, chatter).
pub fn command(text: &str, our_bot: &str) -> Option<Command> {
    let text = text.trim();
    let rest = text.strip_prefix('/')?;
    let (head, arg) = match rest.split_once(char::is_whitespace) {
        Some((h, a)) => (h, a.trim()),
        None => (rest, ""),
    };
    let name = match head.split_once('@') {
        Some((n, bot)) if bot.eq_ignore_ascii_case(our_bot) => n,
        // Addressed to another bot: not ours to answer.
        Some(_) => return None,
        None => head,
    };
    Some(match name.to_ascii_lowercase().as_str() {
        "start" => Command::Start(arg.to_string()),
        "ads" => Command::Ads,
        "cancel" => Command::Cancel,
        "help" => Command::Help,
        "paysupport" => Command::PaySupport,
        "statistic" | "stats" => Command::Statistic,
        "campaigns" | "review" => Command::Campaigns,
        "settings" => Command::Settings,
        "ledger" => Command::Ledger,
        other => Command::Unknown(other.to_string()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn participant(date: i32) -> tl::enums::ChannelParticipant {
        tl::types::ChannelParticipant {
            user_id: 5,
            date,
            subscription_until_date: None,
            rank: None,
        }
        .into()
    }

    fn channel_participant(
        prev: Option<tl::enums::ChannelParticipant>,
        new: Option<tl::enums::ChannelParticipant>,
    ) -> tl::enums::Update {
        tl::types::UpdateChannelParticipant {
            via_chatlist: false,
            channel_id: 100,
            date: 50,
            actor_id: 5,
            user_id: 5,
            prev_participant: prev,
            new_participant: new,
            invite: None,
            qts: 1,
        }
        .into()
    }

    fn reaction(actor: tl::enums::Peer, new: Vec<tl::enums::Reaction>) -> tl::enums::Update {
        tl::types::UpdateBotMessageReaction {
            peer: tl::types::PeerChannel { channel_id: 7 }.into(),
            msg_id: 3,
            date: 9,
            actor,
            old_reactions: vec![],
            new_reactions: new,
            qts: 4,
        }
        .into()
    }

    #[test]
    fn raw_updates_map_to_events() {
        let user: tl::enums::Peer = tl::types::PeerUser { user_id: 5 }.into();
        let channel: tl::enums::Peer = tl::types::PeerChannel { channel_id: 8 }.into();
        let heart: tl::enums::Reaction = tl::types::ReactionEmoji {
            emoticon: "❤".into(),
        }
        .into();
        let table: Vec<(tl::enums::Update, Option<Event>)> = vec![
            (
                channel_participant(None, Some(participant(50))),
                Some(Event::Membership {
                    chat: 100,
                    user: 5,
                    joined: true,
                    date: 50,
                    invite: None,
                }),
            ),
            (
                channel_participant(Some(participant(10)), None),
                Some(Event::Membership {
                    chat: 100,
                    user: 5,
                    joined: false,
                    date: 50,
                    invite: None,
                }),
            ),
            // A change that is neither a join nor a leave (e.g. promotion) is nothing.
            (
                channel_participant(Some(participant(10)), Some(participant(10))),
                None,
            ),
            (
                reaction(user.clone(), vec![heart.clone()]),
                Some(Event::Reaction {
                    chat: 7,
                    msg_id: 3,
                    user: 5,
                    added: true,
                    date: 9,
                    qts: 4,
                }),
            ),
            (
                reaction(user.clone(), vec![]),
                Some(Event::Reaction {
                    chat: 7,
                    msg_id: 3,
                    user: 5,
                    added: false,
                    date: 9,
                    qts: 4,
                }),
            ),
            // Sent as a channel: not a user's action.
            (reaction(channel, vec![heart]), None),
            (
                tl::types::UpdateBotStopped {
                    user_id: 5,
                    date: 1,
                    stopped: true,
                    qts: 2,
                }
                .into(),
                Some(Event::BotStopped {
                    user: 5,
                    stopped: true,
                    date: 1,
                }),
            ),
            (
                tl::types::UpdateMessagePollVote {
                    poll_id: 77,
                    peer: user,
                    options: vec![],
                    positions: vec![],
                    qts: 1,
                }
                .into(),
                Some(Event::PollVote {
                    poll_id: 77,
                    user: 5,
                    voted: false,
                }),
            ),
            (tl::enums::Update::Config, None),
        ];
        for (raw, want) in table {
            assert_eq!(from_raw(&raw, 1), want, "{raw:?}");
        }
    }

    #[test]
    fn commands() {
        let table = [
            ("/start", Some(Command::Start(String::new()))),
            ("/start abc_DEF-1", Some(Command::Start("abc_DEF-1".into()))),
            ("/start@OurBot  tok ", Some(Command::Start("tok".into()))),
            ("/start@otherbot tok", None),
            ("/ads", Some(Command::Ads)),
            ("/ADS", Some(Command::Ads)),
            ("/cancel", Some(Command::Cancel)),
            ("/statistic", Some(Command::Statistic)),
            ("/paysupport", Some(Command::PaySupport)),
            ("/settings", Some(Command::Settings)),
            ("/whatever x", Some(Command::Unknown("whatever".into()))),
            ("hello", None),
            ("", None),
            (" /help ", Some(Command::Help)),
        ];
        for (text, want) in table {
            assert_eq!(command(text, "ourbot"), want, "{text:?}");
        }
    }
}
