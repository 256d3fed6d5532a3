//! The only code that builds Telegram requests: `invoke` with its retry rule,
//! sends, and the queries verification needs. Queries return typed errors and
//! have no side effects: what to tell an operator or a user is the caller's
//! decision.

use std::sync::Arc;
use std::time::Duration;

use grammers_client::message::InputMessage;
use grammers_client::{Client, InvocationError};
use grammers_session::types::{PeerId, PeerRef};
use grammers_session::Session as _;
use grammers_tl_types as tl;

use super::session::StoreSession;

/// How many FLOOD_WAITs one call sleeps through before giving up.
const FLOOD_TRIES: u32 = 3;
/// The longest FLOOD_WAIT we sleep through (grammers itself sleeps only through a minute).
const FLOOD_MAX: u64 = 600;

/// Whether to retry a failed call, and after how long. Pure: the retry rule
/// is tested as a table.
pub fn retry_after(e: &InvocationError, tries: u32) -> Option<Duration> {
    match e {
        InvocationError::Rpc(r) if r.code == 420 && tries < FLOOD_TRIES => Some(
            Duration::from_secs((r.value.unwrap_or(1) as u64).min(FLOOD_MAX)),
        ),
        _ => None,
    }
}

/// What went wrong asking Telegram, as callers act on it.
#[derive(Debug, thiserror::Error)]
pub enum TgError {
    /// The bot lacks the rights (CHAT_ADMIN_REQUIRED, CHANNEL_PRIVATE, ...): an operator must fix it.
    #[error("the bot is not an administrator of the chat ({0})")]
    NotAdmin(String),
    /// The session has no access hash for this chat or user (never seen it).
    #[error("the bot does not know {0} yet")]
    Unknown(String),
    /// The user blocked the bot or deleted their account.
    #[error("the user cannot receive messages ({0})")]
    Unreachable(String),
    #[error(transparent)]
    Call(#[from] InvocationError),
    #[error("session: {0}")]
    Session(String),
    /// Reading or uploading a file the bot sends failed.
    #[error("upload: {0}")]
    Upload(String),
}

/// How a file is shown in the chat.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    /// Compressed and shown inline (charts).
    Photo,
    /// Sent as is, with its name and MIME type (CSV exports).
    Document,
}

/// A file the bot sends: its bytes are made in memory, never written to disk.
pub struct OutFile<'a> {
    pub name: &'a str,
    pub mime: &'a str,
    pub kind: FileKind,
    pub bytes: &'a [u8],
}

pub type TgResult<T> = Result<T, TgError>;

/// A member as getParticipant reports it: when they joined, if known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Member {
    pub since: Option<i64>,
}

/// The client and its session: everything needed to address peers.
#[derive(Clone)]
pub struct Tg {
    pub client: Client,
    pub session: Arc<StoreSession>,
}

impl Tg {
    /// Calls Telegram, sleeping through FLOOD_WAIT instead of failing.
    pub async fn invoke<R: tl::RemoteCall>(&self, req: &R) -> Result<R::Return, InvocationError> {
        invoke(&self.client, req).await
    }

    /// The session's reference to a peer (id and access hash), needed to address it.
    pub async fn peer(&self, id: PeerId) -> TgResult<Option<PeerRef>> {
        self.session
            .peer_ref(id)
            .await
            .map_err(|e| TgError::Session(e.to_string()))
    }

    /// A user we can address: every user who wrote to the bot or acted in a chat it sees is cached.
    pub async fn user(&self, user: i64) -> TgResult<PeerRef> {
        let id = PeerId::user(user).ok_or_else(|| TgError::Unknown(format!("user {user}")))?;
        self.peer(id)
            .await?
            .ok_or_else(|| TgError::Unknown(format!("user {user}")))
    }

    /// A channel or supergroup we can address, by bare id.
    pub async fn channel(&self, chat: i64) -> TgResult<Option<PeerRef>> {
        match PeerId::channel(chat) {
            Some(id) => self.peer(id).await,
            None => Ok(None),
        }
    }

    /// Sends a message to a user; returns the message id. A user who blocked the
    /// bot is `Unreachable`, which callers usually just log.
    pub async fn send(&self, user: i64, msg: InputMessage) -> TgResult<i32> {
        let peer = self.user(user).await?;
        let mut tries = 0;
        loop {
            match self.client.send_message(peer, msg.clone()).await {
                Ok(m) => return Ok(m.id()),
                Err(e) => match retry_after(&e, tries) {
                    Some(wait) => {
                        tokio::time::sleep(wait).await;
                        tries += 1;
                    }
                    None => return Err(classify(e)),
                },
            }
        }
    }

    /// Uploads `bytes` and sends them to a user as a photo or a document with a
    /// caption; returns the message id.
    pub async fn send_file(&self, user: i64, file: &OutFile<'_>, caption: &str) -> TgResult<i32> {
        let uploaded = self
            .client
            .upload_stream(
                &mut &file.bytes[..],
                file.bytes.len(),
                file.name.to_string(),
            )
            .await
            .map_err(|e| TgError::Upload(e.to_string()))?;
        let msg = InputMessage::new().text(caption);
        let msg = match file.kind {
            FileKind::Photo => msg.photo(uploaded),
            FileKind::Document => msg.document(uploaded).mime_type(file.mime),
        };
        self.send(user, msg).await
    }

    /// Edits a message the bot sent to a user (text and buttons).
    pub async fn edit(&self, user: i64, msg_id: i32, msg: InputMessage) -> TgResult<()> {
        let peer = self.user(user).await?;
        self.client
            .edit_message(peer, msg_id, msg)
            .await
            .map_err(classify)
    }

    /// Sends a media message (poll, invoice, paid media, uploaded file) to a user.
    pub async fn send_media(
        &self,
        user: i64,
        media: tl::enums::InputMedia,
    ) -> TgResult<tl::enums::Updates> {
        let peer = self.user(user).await?;
        let req = tl::functions::messages::SendMedia {
            silent: false,
            background: false,
            clear_draft: false,
            noforwards: false,
            update_stickersets_order: false,
            invert_media: false,
            allow_paid_floodskip: false,
            peer: (&peer).into(),
            reply_to: None,
            media,
            message: String::new(),
            random_id: rand::random(),
            reply_markup: None,
            entities: None,
            schedule_date: None,
            schedule_repeat_period: None,
            send_as: None,
            quick_reply_shortcut: None,
            effect: None,
            allow_paid_stars: None,
            suggested_post: None,
        };
        self.invoke(&req).await.map_err(classify)
    }

    /// Asks whether `user` is a member of `chat` (channels.getParticipant).
    /// `Ok(None)` = not a member.
    pub async fn membership(&self, chat: &PeerRef, user: i64) -> TgResult<Option<Member>> {
        let user_ref = self.user(user).await?;
        let req = tl::functions::channels::GetParticipant {
            channel: chat.into(),
            participant: (&user_ref).into(),
        };
        match self.invoke(&req).await {
            Ok(tl::enums::channels::ChannelParticipant::Participant(p)) => {
                use tl::enums::ChannelParticipant as P;
                Ok(match p.participant {
                    P::Participant(x) => Some(Member {
                        since: Some(x.date as i64),
                    }),
                    P::ParticipantSelf(x) => Some(Member {
                        since: Some(x.date as i64),
                    }),
                    P::Admin(x) => Some(Member {
                        since: Some(x.date as i64),
                    }),
                    P::Creator(_) => Some(Member { since: None }),
                    P::Banned(_) | P::Left(_) => None,
                })
            }
            Err(InvocationError::Rpc(e)) if e.name == "USER_NOT_PARTICIPANT" => Ok(None),
            Err(e) => Err(classify(e)),
        }
    }

    /// Whether `user` boosts `chat` (premium.getUserBoosts).
    pub async fn boosts(&self, chat: &PeerRef, user: i64) -> TgResult<bool> {
        let user_ref = self.user(user).await?;
        let req = tl::functions::premium::GetUserBoosts {
            peer: chat.into(),
            user_id: (&user_ref).into(),
        };
        match self.invoke(&req).await.map_err(classify)? {
            tl::enums::premium::BoostsList::List(l) => Ok(l.count > 0 || !l.boosts.is_empty()),
        }
    }

    /// One message of a supergroup or channel by id (channels.getMessages, which
    /// bots may call). `Ok(None)` when the session does not know the chat;
    /// `Ok(Some(None))` when the message does not exist (deleted).
    pub async fn channel_message(
        &self,
        chat: i64,
        msg: i32,
    ) -> TgResult<Option<Option<tl::types::Message>>> {
        let Some(channel) = self.channel(chat).await? else {
            return Ok(None);
        };
        let req = tl::functions::channels::GetMessages {
            channel: (&channel).into(),
            id: vec![tl::types::InputMessageId { id: msg }.into()],
        };
        let msgs = match self.invoke(&req).await.map_err(classify)? {
            tl::enums::messages::Messages::Messages(m) => m.messages,
            tl::enums::messages::Messages::Slice(m) => m.messages,
            tl::enums::messages::Messages::ChannelMessages(m) => m.messages,
            tl::enums::messages::Messages::NotModified(_) => vec![],
        };
        Ok(Some(msgs.into_iter().find_map(|m| match m {
            tl::enums::Message::Message(m) => Some(m),
            _ => None,
        })))
    }

    /// The channel post a discussion-group thread belongs to: the thread root is
    /// the automatic forward, whose `fwd_from.channel_post` is the post's id.
    pub async fn discussion_origin(&self, group: i64, root: i32) -> TgResult<Option<i32>> {
        let root = self.channel_message(group, root).await?.flatten();
        Ok(root.and_then(|m| match m.fwd_from {
            Some(tl::enums::MessageFwdHeader::Header(f)) => f.channel_post.or(f.saved_from_msg_id),
            None => None,
        }))
    }

    /// Refunds a Stars charge (payments.refundStarsCharge, telegram.md 1.6).
    pub async fn refund(&self, user: i64, charge_id: &str) -> TgResult<()> {
        let user_ref = self.user(user).await?;
        let req = tl::functions::payments::RefundStarsCharge {
            user_id: (&user_ref).into(),
            charge_id: charge_id.to_string(),
        };
        match self.invoke(&req).await {
            Ok(_) => Ok(()),
            // Refunded before (a crash between the call and our ledger row): done.
            Err(InvocationError::Rpc(e)) if e.name == "CHARGE_ALREADY_REFUNDED" => Ok(()),
            Err(e) => Err(classify(e)),
        }
    }

    /// Answers a pre-checkout query: accept, or decline with a message for the payer.
    pub async fn answer_precheckout(&self, query_id: i64, error: Option<String>) -> TgResult<()> {
        let req = tl::functions::messages::SetBotPrecheckoutResults {
            success: error.is_none(),
            query_id,
            error,
        };
        self.invoke(&req).await.map(drop).map_err(classify)
    }
}

/// Maps the errors callers act on to their variant.
fn classify(e: InvocationError) -> TgError {
    match &e {
        InvocationError::Rpc(r)
            if matches!(
                r.name.as_str(),
                "CHAT_ADMIN_REQUIRED"
                    | "CHANNEL_PRIVATE"
                    | "CHAT_WRITE_FORBIDDEN"
                    | "RIGHT_FORBIDDEN"
            ) =>
        {
            TgError::NotAdmin(r.name.clone())
        }
        InvocationError::Rpc(r)
            if matches!(
                r.name.as_str(),
                "USER_IS_BLOCKED"
                    | "INPUT_USER_DEACTIVATED"
                    | "USER_DEACTIVATED"
                    | "PEER_ID_INVALID"
            ) =>
        {
            TgError::Unreachable(r.name.clone())
        }
        _ => TgError::Call(e),
    }
}

/// Calls Telegram, sleeping through FLOOD_WAIT instead of failing.
pub async fn invoke<R: tl::RemoteCall>(
    client: &Client,
    req: &R,
) -> Result<R::Return, InvocationError> {
    let mut tries = 0;
    loop {
        match client.invoke(req).await {
            Err(e) => match retry_after(&e, tries) {
                Some(wait) => {
                    log::warn!("bot: FLOOD_WAIT {}s; sleeping", wait.as_secs());
                    tokio::time::sleep(wait).await;
                    tries += 1;
                }
                None => return Err(e),
            },
            ok => return ok,
        }
    }
}

/// The message a send returned, if Telegram included it.
pub fn sent_message(u: &tl::enums::Updates) -> Option<&tl::types::Message> {
    let list = match u {
        tl::enums::Updates::Updates(x) => &x.updates,
        tl::enums::Updates::Combined(x) => &x.updates,
        _ => return None,
    };
    list.iter().find_map(|u| match u {
        tl::enums::Update::NewMessage(n) => match &n.message {
            tl::enums::Message::Message(m) => Some(m),
            _ => None,
        },
        _ => None,
    })
}

pub fn text_entities(s: &str) -> tl::enums::TextWithEntities {
    tl::types::TextWithEntities {
        text: s.to_string(),
        entities: vec![],
    }
    .into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use grammers_client::sender::RpcError;

    fn rpc(code: i32, name: &str, value: Option<u32>) -> InvocationError {
        InvocationError::Rpc(RpcError {
            code,
            name: name.into(),
            value,
            caused_by: None,
        })
    }

    #[test]
    fn retry_rule() {
        let table = [
            (rpc(420, "FLOOD_WAIT", Some(3)), 0, Some(3)),
            (rpc(420, "FLOOD_WAIT", Some(3)), 2, Some(3)),
            (rpc(420, "FLOOD_WAIT", Some(3)), 3, None),
            (rpc(420, "FLOOD_WAIT", Some(100_000)), 0, Some(FLOOD_MAX)),
            (rpc(420, "FLOOD_WAIT", None), 0, Some(1)),
            (rpc(400, "USER_NOT_PARTICIPANT", None), 0, None),
            (rpc(500, "INTERNAL", None), 0, None),
        ];
        for (e, tries, want) in table {
            assert_eq!(
                retry_after(&e, tries).map(|d| d.as_secs()),
                want,
                "{e:?} after {tries}"
            );
        }
    }

    #[test]
    fn errors_are_classified() {
        assert!(matches!(
            classify(rpc(400, "CHAT_ADMIN_REQUIRED", None)),
            TgError::NotAdmin(_)
        ));
        assert!(matches!(
            classify(rpc(403, "USER_IS_BLOCKED", None)),
            TgError::Unreachable(_)
        ));
        assert!(matches!(classify(rpc(500, "X", None)), TgError::Call(_)));
    }
}
