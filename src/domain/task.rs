//! Per-lead task artefacts (invite links, polls, invoices, paid media, share
//! links, comments) and the key each is stored under, so the Telegram update an
//! artefact produces can be matched back to its lead.
//!
//! One codec: `TaskRef::key` writes the stored `ref_key`, `TaskRef::parse`
//! reads it back. Nothing else builds or strips these strings.

use std::fmt;

/// What a task artefact is, with the natural key Telegram gives us back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TaskRef {
    /// A per-user invite link (`updateChannelParticipant.invite`, join requests).
    Invite(String),
    /// A poll the bot sent (`updateMessagePollVote.poll_id`).
    Poll(i64),
    /// A Stars invoice for a lead's task; the invoice payload is `lead:N`.
    Invoice(i64),
    /// Paid media sold to a lead; its payload is `lead:N`.
    PaidMedia(i64),
    /// A personal share link `/s/TOKEN`.
    Share(String),
    /// A comment the lead posted: the group, the message and the lead (one
    /// comment can be bought by several offers, hence the lead in the key).
    Comment { chat: i64, msg: i32, lead: i64 },
}

/// The kind column of a task row: what the scheduler and re-checks look up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskKind {
    Invite,
    Poll,
    Invoice,
    PaidMedia,
    Share,
    Comment,
}

impl TaskKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TaskKind::Invite => "invite",
            TaskKind::Poll => "poll",
            TaskKind::Invoice => "invoice",
            TaskKind::PaidMedia => "paid_media",
            TaskKind::Share => "share",
            TaskKind::Comment => "comment",
        }
    }
}

impl TaskRef {
    pub fn kind(&self) -> TaskKind {
        match self {
            TaskRef::Invite(_) => TaskKind::Invite,
            TaskRef::Poll(_) => TaskKind::Poll,
            TaskRef::Invoice(_) => TaskKind::Invoice,
            TaskRef::PaidMedia(_) => TaskKind::PaidMedia,
            TaskRef::Share(_) => TaskKind::Share,
            TaskRef::Comment { .. } => TaskKind::Comment,
        }
    }

    /// The stored key. The formats are the ones earlier versions wrote, so
    /// existing rows keep matching.
    pub fn key(&self) -> String {
        match self {
            TaskRef::Invite(link) => format!("invite:{link}"),
            TaskRef::Poll(id) => format!("poll:{id}"),
            TaskRef::Invoice(lead) => format!("lead:{lead}"),
            TaskRef::PaidMedia(lead) => format!("paid:lead:{lead}"),
            TaskRef::Share(token) => format!("share:{token}"),
            TaskRef::Comment { chat, msg, lead } => format!("comment:{chat}:{msg}:{lead}"),
        }
    }

    /// Reads a stored key back; `None` for anything this version did not write.
    pub fn parse(key: &str) -> Option<TaskRef> {
        let (tag, rest) = key.split_once(':')?;
        let num = |s: &str| s.parse::<i64>().ok();
        Some(match tag {
            "invite" if !rest.is_empty() => TaskRef::Invite(rest.to_string()),
            "poll" => TaskRef::Poll(num(rest)?),
            "lead" => TaskRef::Invoice(num(rest)?),
            "paid" => TaskRef::PaidMedia(num(rest.strip_prefix("lead:")?)?),
            "share" if !rest.is_empty() => TaskRef::Share(rest.to_string()),
            "comment" => {
                let mut it = rest.split(':');
                let chat = num(it.next()?)?;
                let msg = it.next()?.parse().ok()?;
                let lead = num(it.next()?)?;
                if it.next().is_some() {
                    return None;
                }
                TaskRef::Comment { chat, msg, lead }
            }
            _ => return None,
        })
    }
}

impl fmt::Display for TaskRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.key())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_garbage() {
        for t in [
            TaskRef::Invite("https://t.me/+abc".into()),
            TaskRef::Poll(-5),
            TaskRef::Invoice(7),
            TaskRef::PaidMedia(8),
            TaskRef::Share("tok".into()),
            TaskRef::Comment {
                chat: 100,
                msg: 5,
                lead: 9,
            },
        ] {
            assert_eq!(TaskRef::parse(&t.key()), Some(t.clone()), "{t}");
        }
        for bad in [
            "",
            "invite:",
            "poll:x",
            "lead:",
            "paid:7",
            "share:",
            "comment:1:2",
            "comment:1:2:3:4",
            "nope:1",
        ] {
            assert_eq!(TaskRef::parse(bad), None, "{bad}");
        }
    }
}
