//! Observations: what the bot did, as a Telegram user or admin would see it.
//!
//! Tests assert on these instead of on the simulator's internals, and wait for them with
//! `Sim::wait_for` instead of sleeping.

use serde::Serialize;

/// A chat as seen from outside: a private chat with a user, a basic group or a channel
/// (channels include supergroups).
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, serde::Deserialize,
)]
#[serde(tag = "type", content = "id", rename_all = "snake_case")]
pub enum PeerKey {
    User(i64),
    Chat(i64),
    Channel(i64),
}

impl PeerKey {
    pub fn id(self) -> i64 {
        match self {
            PeerKey::User(id) | PeerKey::Chat(id) | PeerKey::Channel(id) => id,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum ButtonKind {
    /// `inlineButtonTypeCallback`: the data the bot gets back in `updateBotCallbackQuery`.
    Callback(Vec<u8>),
    /// `inlineButtonTypeUrl`.
    Url(String),
    /// Any other button type, by name.
    Other(String),
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Button {
    pub text: String,
    #[serde(flatten)]
    pub kind: ButtonKind,
    /// Callback buttons: the data as UTF-8 (None when it is not valid UTF-8).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<String>,
    /// Callback buttons: the data, base64 (standard alphabet, padded).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_b64: Option<String>,
}

impl Button {
    pub fn new(text: String, kind: ButtonKind) -> Self {
        let (data, data_b64) = match &kind {
            ButtonKind::Callback(d) => (String::from_utf8(d.clone()).ok(), Some(b64(d))),
            _ => (None, None),
        };
        Button {
            text,
            kind,
            data,
            data_b64,
        }
    }
}

/// Standard padded base64 (the control API's encoding for binary data).
pub fn b64(data: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(data)
}

/// Decodes standard base64 (padding optional).
pub fn unb64(text: &str) -> Result<Vec<u8>, String> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD_NO_PAD
        .decode(text.trim().trim_end_matches('='))
        .map_err(|e| format!("bad base64: {e}"))
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ObservedMedia {
    Invoice {
        title: String,
        description: String,
        currency: String,
        amount: i64,
        payload: Vec<u8>,
    },
    Poll {
        question: String,
        options: Vec<String>,
        anonymous: bool,
    },
    PaidMedia {
        stars: i64,
        payload: Option<String>,
    },
    /// An uploaded photo (`messageMediaPhoto`); the bytes: `Sim::sent_file`.
    Photo {
        id: i64,
        width: i32,
        height: i32,
        size: i64,
    },
    /// An uploaded document (`messageMediaDocument`); the bytes: `Sim::sent_file`.
    Document {
        id: i64,
        file_name: String,
        mime_type: String,
        size: i64,
    },
    Other {
        name: String,
    },
}

/// A message the bot sent, with later edits applied.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ObservedMessage {
    pub peer: PeerKey,
    pub msg_id: i32,
    pub text: String,
    /// Number of formatting entities (bold, links, ...).
    pub entities: usize,
    pub buttons: Vec<Vec<Button>>,
    pub media: Option<ObservedMedia>,
    /// How many times the bot edited it.
    pub edits: u32,
    /// The bot edited it at least once (`edits > 0`).
    pub edited: bool,
    pub deleted: bool,
}

impl ObservedMessage {
    /// All buttons, row by row.
    pub fn all_buttons(&self) -> impl Iterator<Item = &Button> {
        self.buttons.iter().flatten()
    }
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CallbackAnswer {
    pub query_id: i64,
    pub user_id: i64,
    pub msg_id: i32,
    pub message: Option<String>,
    pub alert: bool,
    pub url: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PrecheckoutAnswer {
    pub query_id: i64,
    pub user_id: i64,
    pub ok: bool,
    pub error: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ObservedInvite {
    pub chat: PeerKey,
    pub link: String,
    pub title: Option<String>,
    pub expire_date: Option<i32>,
    pub usage_limit: Option<i32>,
    pub request_needed: bool,
    pub revoked: bool,
    pub usage: i32,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct JoinRequestDecision {
    pub chat: PeerKey,
    pub user_id: i64,
    pub approved: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Refund {
    pub user_id: i64,
    pub charge_id: String,
}

/// Everything observable, in the order it happened.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Observations {
    pub messages: Vec<ObservedMessage>,
    pub callback_answers: Vec<CallbackAnswer>,
    pub precheckout_answers: Vec<PrecheckoutAnswer>,
    pub invite_links: Vec<ObservedInvite>,
    pub join_request_decisions: Vec<JoinRequestDecision>,
    pub deleted_messages: Vec<(PeerKey, i32)>,
    pub refunds: Vec<Refund>,
    pub bot_commands: Vec<(String, String)>,
}

impl Observations {
    /// Messages the bot sent to `user` in their private chat.
    pub fn sent_to(&self, user: i64) -> Vec<ObservedMessage> {
        self.messages
            .iter()
            .filter(|m| m.peer == PeerKey::User(user))
            .cloned()
            .collect()
    }

    pub(crate) fn message_mut(&mut self, peer: PeerKey, id: i32) -> Option<&mut ObservedMessage> {
        self.messages
            .iter_mut()
            .rev()
            .find(|m| m.peer == peer && m.msg_id == id)
    }
}
