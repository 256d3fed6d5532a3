//! RPC dispatch: decodes a client request (after the MTProto wrappers) and answers it from the
//! world. Every answer is a boxed TL object or an `rpc_error`; a method the simulator does not
//! implement gets `400 METHOD_NOT_IMPLEMENTED_BY_TGSIM` (issue 3: never hang, never drop).

use grammers_tl_types::{self as tl, Deserializable, Identifiable, Serializable};

use crate::files::SentFile;
use crate::obs::{CallbackAnswer, PeerKey, Refund};
use crate::tlb;
use crate::world::{
    access_hash, now, reply_header, ChatKind, InvoiceInfo, LogEntry, Msg, PollInfo, World,
};

/// An RPC error: `rpc_error{code, message}`.
#[derive(Debug)]
pub struct RpcErr(pub i32, pub String);

fn bad(msg: &str) -> RpcErr {
    RpcErr(400, msg.to_string())
}

type R = Result<Vec<u8>, RpcErr>;

/// Reads the rest of the buffer; the generic `X` of `invokeWithLayer<X>` / `initConnection<X>`.
struct Tail(Vec<u8>);

impl Deserializable for Tail {
    fn deserialize(buf: &mut tl::deserialize::Cursor) -> tl::deserialize::Result<Self> {
        let mut v = Vec::new();
        buf.read_to_end(&mut v)?;
        Ok(Tail(v))
    }
}

/// Per-connection facts the dispatcher needs.
pub struct Caller {
    pub key_id: [u8; 8],
    pub conn_id: u64,
}

fn ctor(body: &[u8]) -> u32 {
    body.get(..4)
        .map(|b| u32::from_le_bytes(b.try_into().unwrap()))
        .unwrap_or(0)
}

/// Generated function `Deserializable` impls do not consume the constructor id (simulator.md
/// §2.5), so skip it.
fn decode<T: Deserializable>(body: &[u8]) -> Result<T, RpcErr> {
    T::from_bytes(&body[4..]).map_err(|_| bad("INPUT_REQUEST_INVALID"))
}

/// Strips `invokeWithLayer`, `initConnection`, `invokeWithoutUpdates` and `invokeAfterMsg(s)`.
pub fn unwrap_request(mut body: Vec<u8>) -> Vec<u8> {
    loop {
        let id = ctor(&body);
        let inner = if id == tl::functions::InvokeWithLayer::<Tail>::CONSTRUCTOR_ID {
            decode::<tl::functions::InvokeWithLayer<Tail>>(&body).map(|r| r.query.0)
        } else if id == tl::functions::InitConnection::<Tail>::CONSTRUCTOR_ID {
            decode::<tl::functions::InitConnection<Tail>>(&body).map(|r| r.query.0)
        } else if id == tl::functions::InvokeWithoutUpdates::<Tail>::CONSTRUCTOR_ID {
            decode::<tl::functions::InvokeWithoutUpdates<Tail>>(&body).map(|r| r.query.0)
        } else if id == tl::functions::InvokeAfterMsg::<Tail>::CONSTRUCTOR_ID {
            decode::<tl::functions::InvokeAfterMsg<Tail>>(&body).map(|r| r.query.0)
        } else {
            return body;
        };
        match inner {
            Ok(b) => body = b,
            Err(_) => return body,
        }
    }
}

/// Answers one request. Runs under the world lock.
pub fn dispatch(w: &mut World, caller: &Caller, body: &[u8]) -> Vec<u8> {
    let id = ctor(body);
    // Fault injection (e.g. FLOOD_WAIT_2 on channels.getParticipant), so clients'
    // error handling can be tested; the method itself does not run.
    let name = tl::name_for_id(id);
    if let Some(e) = w
        .injected_errors
        .iter_mut()
        .find(|e| e.0 == name && e.3 > 0)
    {
        e.3 -= 1;
        log::debug!("rpc {name} -> injected {} {}", e.1, e.2);
        return tlb::rpc_error(e.1, &e.2);
    }
    // A bug in a handler must not drop the client's connection or leave its request hanging
    // (issue 3): answer 500 and keep serving.
    let result =
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| handle(w, caller, id, body)))
            .unwrap_or_else(|_| {
                log::error!("tgsim: handler for {} panicked", tl::name_for_id(id));
                Err(RpcErr(500, "INTERNAL_TGSIM_ERROR".into()))
            });
    match result {
        Ok(b) => b,
        Err(RpcErr(code, msg)) => {
            log::debug!("rpc {} -> {code} {msg}", tl::name_for_id(id));
            tlb::rpc_error(code, &msg)
        }
    }
}

macro_rules! is {
    ($id:expr, $t:ty) => {
        $id == <$t as Identifiable>::CONSTRUCTOR_ID
    };
}

fn handle(w: &mut World, caller: &Caller, id: u32, body: &[u8]) -> R {
    use tl::functions as f;
    // Methods usable before login.
    if is!(id, f::help::GetConfig) {
        return Ok(tl::enums::Config::from(tlb::config(now())).to_bytes());
    }
    if is!(id, f::auth::ImportBotAuthorization) {
        let r: f::auth::ImportBotAuthorization = decode(body)?;
        // telegram.md / simulator.md §1: a wrong token gets ACCESS_TOKEN_INVALID.
        if r.bot_auth_token != w.cfg.bot_token {
            return Err(bad("ACCESS_TOKEN_INVALID"));
        }
        let bot = w.bot();
        w.keys.get_mut(&caller.key_id).unwrap().account = Some(bot);
        return Ok(authorization(w, bot));
    }
    if is!(id, f::auth::SendCode) {
        let r: f::auth::SendCode = decode(body)?;
        if !w
            .users
            .values()
            .any(|u| u.phone.as_deref() == Some(&r.phone_number))
        {
            // Sign-up is not simulated.
            return Err(bad("PHONE_NUMBER_UNOCCUPIED"));
        }
        let hash = format!("hash{}", w.alloc_query());
        w.login_codes.insert(r.phone_number.clone(), hash.clone());
        return Ok(tl::enums::auth::SentCode::from(tl::types::auth::SentCode {
            r#type: tl::types::auth::SentCodeTypeApp {
                length: w.cfg.login_code.len() as i32,
            }
            .into(),
            phone_code_hash: hash,
            next_type: None,
            timeout: None,
        })
        .to_bytes());
    }
    if is!(id, f::auth::SignIn) {
        let r: f::auth::SignIn = decode(body)?;
        if w.login_codes.get(&r.phone_number) != Some(&r.phone_code_hash) {
            return Err(bad("PHONE_CODE_EXPIRED"));
        }
        if r.phone_code.as_deref() != Some(w.cfg.login_code.as_str()) {
            return Err(bad("PHONE_CODE_INVALID"));
        }
        let user = w
            .users
            .values()
            .find(|u| u.phone.as_deref() == Some(&r.phone_number))
            .cloned()
            .ok_or_else(|| bad("PHONE_NUMBER_UNOCCUPIED"))?;
        if user.password.is_some() {
            // Two-step verification: the client must call account.getPassword and
            // auth.checkPassword (https://core.telegram.org/api/srp).
            // Two-step verification: the client continues with account.getPassword and
            // auth.checkPassword (https://core.telegram.org/api/srp).
            w.keys.get_mut(&caller.key_id).unwrap().account = None;
            w.password_needed.insert(caller.key_id, user.id);
            return Err(RpcErr(401, "SESSION_PASSWORD_NEEDED".into()));
        }
        w.keys.get_mut(&caller.key_id).unwrap().account = Some(user.id);
        return Ok(authorization(w, user.id));
    }
    if is!(id, f::account::GetPassword) {
        return get_password(w, caller);
    }
    if is!(id, f::auth::CheckPassword) {
        let r: f::auth::CheckPassword = decode(body)?;
        let tl::enums::InputCheckPasswordSrp::Srp(proof) = r.password else {
            return Err(bad("PASSWORD_HASH_INVALID"));
        };
        let (user, ch) = w
            .srp_challenges
            .get(&caller.key_id)
            .cloned()
            .ok_or_else(|| bad("SRP_ID_INVALID"))?;
        if ch.srp_id != proof.srp_id || !w.password_needed.contains_key(&caller.key_id) {
            return Err(bad("SRP_ID_INVALID"));
        }
        if !crate::srp::verify(&w.verifiers[&user], &ch, &proof.a, &proof.m1) {
            return Err(bad("PASSWORD_HASH_INVALID"));
        }
        w.srp_challenges.remove(&caller.key_id);
        w.password_needed.remove(&caller.key_id);
        w.keys.get_mut(&caller.key_id).unwrap().account = Some(user);
        return Ok(authorization(w, user));
    }

    let Some(me) = w.keys.get(&caller.key_id).and_then(|k| k.account) else {
        return Err(RpcErr(401, "AUTH_KEY_UNREGISTERED".into()));
    };
    let is_bot = me == w.bot();
    // Subscribe this connection to the account's pushes.
    crate::net::subscribe(w, me, caller.conn_id);

    if is!(id, f::updates::GetState) {
        let a = &w.accounts[&me];
        return Ok(tl::enums::updates::State::from(tl::types::updates::State {
            pts: a.pts,
            qts: a.qts,
            date: now(),
            seq: a.seq,
            unread_count: 0,
        })
        .to_bytes());
    }
    if is!(id, f::updates::GetDifference) {
        let r: f::updates::GetDifference = decode(body)?;
        return Ok(get_difference(w, me, r));
    }
    if is!(id, f::updates::GetChannelDifference) {
        let r: f::updates::GetChannelDifference = decode(body)?;
        let chat = input_channel(w, &r.channel)?;
        check_visible(w, me, chat)?;
        return Ok(get_channel_difference(w, me, chat, r.pts, r.limit));
    }
    if is!(id, f::users::GetUsers) {
        let r: f::users::GetUsers = decode(body)?;
        let mut out = Vec::new();
        for u in &r.id {
            if let Ok(uid) = input_user(w, me, u) {
                out.extend(w.render_user(uid, me));
            }
        }
        return Ok(out.to_bytes());
    }
    if is!(id, f::users::GetFullUser) {
        let r: f::users::GetFullUser = decode(body)?;
        let uid = input_user(w, me, &r.id)?;
        let mut full = tlb::user_full(uid);
        full.blocked = false;
        if uid == w.bot() {
            full.bot_info = Some(
                tl::types::BotInfo {
                    has_preview_medias: false,
                    user_id: Some(uid),
                    description: Some(String::new()),
                    description_photo: None,
                    description_document: None,
                    commands: Some(
                        w.obs
                            .bot_commands
                            .iter()
                            .map(|(c, d)| {
                                tl::types::BotCommand {
                                    ephemeral: false,
                                    command: c.clone(),
                                    description: d.clone(),
                                }
                                .into()
                            })
                            .collect(),
                    ),
                    menu_button: None,
                    privacy_policy_url: None,
                    app_settings: None,
                    verifier_settings: None,
                }
                .into(),
            );
        }
        return Ok(
            tl::enums::users::UserFull::from(tl::types::users::UserFull {
                full_user: full.into(),
                chats: vec![],
                users: w.render_users(&[uid], me),
            })
            .to_bytes(),
        );
    }
    if is!(id, f::contacts::ResolveUsername) {
        let r: f::contacts::ResolveUsername = decode(body)?;
        // "USERNAME_INVALID: The provided username is not valid", "USERNAME_NOT_OCCUPIED: The
        // provided username is not occupied" (<https://core.telegram.org/method/contacts.resolveUsername>).
        // Usernames are a-z, 0-9 and underscores, up to 32 characters, starting with a letter
        // (<https://core.telegram.org/api/username>); shorter (collectible) names exist, so only
        // the shape is checked, not the minimum length.
        let u = r.username.as_str();
        if u.is_empty()
            || u.len() > 32
            || !u.starts_with(|c: char| c.is_ascii_alphabetic())
            || !u.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            return Err(bad("USERNAME_INVALID"));
        }
        let peer = *w
            .usernames
            .get(&r.username.to_lowercase())
            .ok_or_else(|| bad("USERNAME_NOT_OCCUPIED"))?;
        let (users, chats) = match peer {
            PeerKey::User(u) => (w.render_users(&[u], me), vec![]),
            other => (vec![], w.render_chats(&[other.id()], me)),
        };
        return Ok(
            tl::enums::contacts::ResolvedPeer::from(tl::types::contacts::ResolvedPeer {
                peer: peer.into_tl(),
                chats,
                users,
            })
            .to_bytes(),
        );
    }
    if is!(id, f::channels::GetChannels) {
        let r: f::channels::GetChannels = decode(body)?;
        // <https://core.telegram.org/method/channels.getChannels>: CHANNEL_INVALID for a wrong
        // id or access hash (e.g. a bot that only has the id of a `t.me/c/ID/POST` link and
        // never got the channel's access hash), CHANNEL_PRIVATE for a private channel the
        // caller is not in.
        let mut ids = Vec::new();
        for c in &r.id {
            let chat = input_channel(w, c)?;
            check_visible(w, me, chat)?;
            ids.push(chat);
        }
        return Ok(
            tl::enums::messages::Chats::from(tl::types::messages::Chats {
                chats: w.render_chats(&ids, me),
            })
            .to_bytes(),
        );
    }
    if is!(id, f::messages::GetChats) {
        let r: f::messages::GetChats = decode(body)?;
        let ids: Vec<i64> =
            r.id.iter()
                .copied()
                .filter(|c| w.chats.contains_key(c))
                .collect();
        return Ok(
            tl::enums::messages::Chats::from(tl::types::messages::Chats {
                chats: w.render_chats(&ids, me),
            })
            .to_bytes(),
        );
    }
    if is!(id, f::channels::GetFullChannel) {
        let r: f::channels::GetFullChannel = decode(body)?;
        let chat = input_channel(w, &r.channel)?;
        check_visible(w, me, chat)?;
        let c = &w.chats[&chat];
        let mut full = tlb::channel_full(chat, &c.spec.about, c.pts);
        full.participants_count = Some(c.members.len() as i32);
        full.linked_chat_id = c.linked;
        let admin = c.members.get(&me).and_then(|m| m.admin).is_some();
        full.can_view_participants = admin;
        full.admins_count = Some(c.members.values().filter(|m| m.admin.is_some()).count() as i32);
        full.can_view_stats = admin;
        // The linked discussion group comes along in `chats`, as Telegram sends
        // it, so a client learns its title and access hash with the channel.
        let mut ids = vec![chat];
        ids.extend(c.linked);
        return Ok(
            tl::enums::messages::ChatFull::from(tl::types::messages::ChatFull {
                full_chat: full.into(),
                chats: w.render_chats(&ids, me),
                users: vec![],
            })
            .to_bytes(),
        );
    }
    if is!(id, f::messages::GetFullChat) {
        let r: f::messages::GetFullChat = decode(body)?;
        let c = w
            .chats
            .get(&r.chat_id)
            .filter(|c| c.kind == ChatKind::Basic)
            .ok_or_else(|| bad("CHAT_ID_INVALID"))?;
        let parts = c
            .members
            .iter()
            .map(|(u, m)| {
                tl::types::ChatParticipant {
                    user_id: *u,
                    inviter_id: *u,
                    date: m.date,
                    rank: None,
                }
                .into()
            })
            .collect();
        let users: Vec<i64> = c.members.keys().copied().collect();
        let full = tlb::chat_full(
            r.chat_id,
            tl::types::ChatParticipants {
                chat_id: r.chat_id,
                participants: parts,
                version: 1,
            }
            .into(),
        );
        return Ok(
            tl::enums::messages::ChatFull::from(tl::types::messages::ChatFull {
                full_chat: full.into(),
                chats: w.render_chats(&[r.chat_id], me),
                users: w.render_users(&users, me),
            })
            .to_bytes(),
        );
    }
    if is!(id, f::channels::GetParticipant) {
        let r: f::channels::GetParticipant = decode(body)?;
        let chat = input_channel(w, &r.channel)?;
        let user = match &r.participant {
            tl::enums::InputPeer::PeerSelf => me,
            tl::enums::InputPeer::User(u) => check_user(w, u.user_id, u.access_hash)?,
            _ => return Err(bad("PARTICIPANT_ID_INVALID")),
        };
        let c = &w.chats[&chat];
        let my = c.members.get(&me);
        // Stricter reading of telegram.md §1.1 [S6]: only admins may look up other members.
        if user != me && my.and_then(|m| m.admin).is_none() {
            return Err(bad("CHAT_ADMIN_REQUIRED"));
        }
        let m = c
            .members
            .get(&user)
            .ok_or_else(|| bad("USER_NOT_PARTICIPANT"))?;
        let participant: tl::enums::ChannelParticipant = if user == me && me == w.bot() {
            // The bot asking about itself (`inputPeerSelf`, e.g. to check its own admin rights)
            // sees the same participant its membership updates carry: `channelParticipantAdmin
            // {self, admin_rights}` with the rights it was given, or `channelParticipantSelf`
            // as a plain member (<https://core.telegram.org/method/channels.getParticipant>,
            // <https://core.telegram.org/constructor/channelParticipantSelf>).
            w.bot_channel_participant(m, c.creator.unwrap_or(me))
        } else if c.creator == Some(user) {
            tl::types::ChannelParticipantCreator {
                user_id: user,
                admin_rights: tlb::admin_rights(&m.admin.unwrap_or_default()),
                rank: None,
            }
            .into()
        } else if let Some(a) = &m.admin {
            tl::types::ChannelParticipantAdmin {
                can_edit: false,
                is_self: user == me,
                user_id: user,
                inviter_id: (user == me).then_some(user),
                promoted_by: c.creator.unwrap_or(user),
                date: m.date,
                admin_rights: tlb::admin_rights(a),
                rank: None,
            }
            .into()
        } else {
            tl::types::ChannelParticipant {
                user_id: user,
                date: m.date,
                subscription_until_date: None,
                rank: None,
            }
            .into()
        };
        return Ok(tl::enums::channels::ChannelParticipant::from(
            tl::types::channels::ChannelParticipant {
                participant,
                chats: w.render_chats(&[chat], me),
                users: w.render_users(&[user, c.creator.unwrap_or(user)], me),
            },
        )
        .to_bytes());
    }
    if is!(id, f::channels::GetMessages) {
        let r: f::channels::GetMessages = decode(body)?;
        let chat = input_channel(w, &r.channel)?;
        check_visible(w, me, chat)?;
        let c = &w.chats[&chat];
        let mut msgs = Vec::new();
        let mut users = Vec::new();
        for im in &r.id {
            if let tl::enums::InputMessage::Id(i) = im {
                match c.msgs.get(&i.id) {
                    Some(m) => {
                        users.extend(sender_of(&m.tl));
                        msgs.push(m.tl.clone());
                    }
                    None => msgs.push(
                        tl::types::MessageEmpty {
                            id: i.id,
                            peer_id: None,
                        }
                        .into(),
                    ),
                }
            }
        }
        let mut chats = vec![chat];
        chats.extend(c.linked);
        return Ok(
            tl::enums::messages::Messages::from(tl::types::messages::ChannelMessages {
                inexact: false,
                pts: c.pts,
                count: msgs.len() as i32,
                offset_id_offset: None,
                messages: msgs,
                topics: vec![],
                chats: w.render_chats(&chats, me),
                users: w.render_users(&users, me),
            })
            .to_bytes(),
        );
    }
    if is!(id, f::messages::GetMessages) {
        let r: f::messages::GetMessages = decode(body)?;
        let a = &w.accounts[&me];
        let mut msgs = Vec::new();
        let mut users = Vec::new();
        let mut chats = Vec::new();
        for im in &r.id {
            if let tl::enums::InputMessage::Id(i) = im {
                match a.msgs.get(&i.id) {
                    Some(m) => {
                        users.extend(sender_of(&m.tl));
                        if let Some(p) = peer_of(&m.tl) {
                            match p {
                                PeerKey::User(u) => users.push(u),
                                other => chats.push(other.id()),
                            }
                        }
                        msgs.push(m.tl.clone());
                    }
                    None => msgs.push(
                        tl::types::MessageEmpty {
                            id: i.id,
                            peer_id: None,
                        }
                        .into(),
                    ),
                }
            }
        }
        return Ok(
            tl::enums::messages::Messages::from(tl::types::messages::Messages {
                messages: msgs,
                topics: vec![],
                chats: w.render_chats(&chats, me),
                users: w.render_users(&users, me),
            })
            .to_bytes(),
        );
    }
    if is!(id, f::messages::SendMessage) {
        let r: f::messages::SendMessage = decode(body)?;
        let peer = input_peer(w, me, &r.peer)?;
        check_can_send(w, me, peer)?;
        let mut m = tlb::message(0, peer.into_tl(), now(), &r.message);
        m.out = true;
        m.from_id = Some(PeerKey::User(me).into_tl());
        m.reply_markup = r.reply_markup.clone();
        m.entities = r.entities.clone();
        if let Some(tl::enums::InputReplyTo::Message(rt)) = &r.reply_to {
            m.reply_to = Some(reply_header(rt.reply_to_msg_id, rt.top_msg_id));
        }
        let (mid, pts) = w
            .store_bot_message(peer, Msg::new(m.clone().into()))
            .map_err(|e| bad(&e.0))?;
        m.id = mid;
        if let PeerKey::Channel(c) = peer {
            if w.chats[&c].kind == ChatKind::Channel {
                w.auto_forward(c, mid, &r.message).map_err(|e| bad(&e.0))?;
            }
            // Channel messages answer with `updates{updateMessageID, updateNewChannelMessage}`.
            return Ok(tl::enums::Updates::from(tl::types::Updates {
                updates: vec![
                    tl::types::UpdateMessageId {
                        id: mid,
                        random_id: r.random_id,
                    }
                    .into(),
                    tl::types::UpdateNewChannelMessage {
                        message: m.into(),
                        pts,
                        pts_count: 1,
                    }
                    .into(),
                ],
                users: w.render_users(&[me], me),
                chats: w.render_chats(&[c], me),
                date: now(),
                seq: 0,
            })
            .to_bytes());
        }
        // Minimal correct answer for private chats (simulator.md §2.9).
        return Ok(tl::enums::Updates::from(tl::types::UpdateShortSentMessage {
            out: true,
            id: mid,
            pts,
            pts_count: 1,
            date: now(),
            media: None,
            entities: r.entities,
            ttl_period: None,
        })
        .to_bytes());
    }
    if is!(id, f::messages::SendMedia) {
        let r: f::messages::SendMedia = decode(body)?;
        let peer = input_peer(w, me, &r.peer)?;
        check_can_send(w, me, peer)?;
        let mut m = tlb::message(0, peer.into_tl(), now(), &r.message);
        m.out = true;
        m.from_id = Some(PeerKey::User(me).into_tl());
        m.reply_markup = r.reply_markup.clone();
        m.entities = r.entities.clone();
        let mut msg = Msg::new(tl::enums::Message::Message(m.clone()));
        let file = attach_media(w, me, peer, &mut msg, r.media)?;
        let (mid, pts) = w
            .store_bot_message(peer, msg.clone())
            .map_err(|e| bad(&e.0))?;
        crate::world::set_msg_id(&mut msg.tl, mid);
        if let Some(mut f) = file {
            f.msg_id = mid;
            f.caption = r.message.clone();
            w.files.push(f);
        }
        if let PeerKey::Channel(c) = peer {
            if w.chats[&c].kind == ChatKind::Channel {
                w.auto_forward(c, mid, &r.message).map_err(|e| bad(&e.0))?;
            }
        }
        return Ok(own_message_updates(
            w,
            me,
            peer,
            msg.tl,
            pts,
            Some(r.random_id),
            false,
        ));
    }
    if is!(id, f::upload::SaveFilePart) {
        // <https://core.telegram.org/method/upload.saveFilePart>: a part of a file up to 10 MB.
        let r: f::upload::SaveFilePart = decode(body)?;
        w.uploads
            .entry((me, r.file_id))
            .or_default()
            .save_part(r.file_part, None, r.bytes)
            .map_err(bad)?;
        return Ok(true.to_bytes());
    }
    if is!(id, f::upload::SaveBigFilePart) {
        // <https://core.telegram.org/method/upload.saveBigFilePart>: a part of a file over
        // 10 MB, with the total number of parts.
        let r: f::upload::SaveBigFilePart = decode(body)?;
        w.uploads
            .entry((me, r.file_id))
            .or_default()
            .save_part(r.file_part, Some(r.file_total_parts), r.bytes)
            .map_err(bad)?;
        return Ok(true.to_bytes());
    }
    if is!(id, f::messages::EditMessage) {
        let r: f::messages::EditMessage = decode(body)?;
        if r.media.is_some() {
            // Replacing media is not simulated; say so rather than silently ignoring it.
            return Err(bad("MEDIA_NOT_IMPLEMENTED_BY_TGSIM"));
        }
        let peer = input_peer(w, me, &r.peer)?;
        let msgs = w.bot_msgs_mut(peer).ok_or_else(|| bad("PEER_ID_INVALID"))?;
        let msg = msgs
            .get_mut(&r.id)
            .ok_or_else(|| bad("MESSAGE_ID_INVALID"))?;
        if !msg.by_bot {
            return Err(bad("MESSAGE_AUTHOR_REQUIRED"));
        }
        let tl::enums::Message::Message(m) = &mut msg.tl else {
            return Err(bad("MESSAGE_ID_INVALID"));
        };
        if let Some(t) = r.message {
            m.message = t;
            m.entities = r.entities;
        }
        // An edit replaces the inline keyboard with the one it carries; an edit without
        // `reply_markup` removes the keyboard. Undocumented on
        // <https://core.telegram.org/method/messages.editMessage>; it is how Bot API's
        // editMessageText/editMessageReplyMarkup behave without `reply_markup` (the usual way
        // to remove a keyboard), and the Bot API passes the edit on as this method.
        m.reply_markup = r.reply_markup;
        m.edit_date = Some(now());
        let edited = m.clone();
        let snapshot = msg.clone();
        w.notify_observers_of_edit(peer, &edited, &snapshot);
        let pts = match peer {
            PeerKey::Channel(c) => {
                let ch = w.chats.get_mut(&c).unwrap();
                ch.pts += 1;
                ch.log.push(LogEntry {
                    pts: ch.pts,
                    qts: 0,
                    date: now(),
                    update: tl::types::UpdateEditChannelMessage {
                        message: edited.clone().into(),
                        pts: ch.pts,
                        pts_count: 1,
                    }
                    .into(),
                    users: vec![me],
                    chats: vec![c],
                });
                ch.pts
            }
            _ => w.next_pts(me, 1),
        };
        return Ok(own_message_updates(
            w,
            me,
            peer,
            edited.into(),
            pts,
            None,
            true,
        ));
    }
    if is!(id, f::messages::DeleteMessages) {
        let r: f::messages::DeleteMessages = decode(body)?;
        let a = w.accounts.get_mut(&me).unwrap();
        let mut deleted = Vec::new();
        for i in &r.id {
            if let Some(m) = a.msgs.remove(i) {
                deleted.push((peer_of(&m.tl).unwrap_or(PeerKey::User(me)), *i));
            }
        }
        let count = deleted.len() as i32;
        let pts = w.next_pts(me, count);
        w.accounts.get_mut(&me).unwrap().log.push(LogEntry {
            pts,
            qts: 0,
            date: now(),
            update: tl::types::UpdateDeleteMessages {
                messages: deleted.iter().map(|d| d.1).collect(),
                pts,
                pts_count: count,
            }
            .into(),
            users: vec![],
            chats: vec![],
        });
        for (p, i) in deleted {
            w.obs.deleted_messages.push((p, i));
            if let Some(o) = w.obs.message_mut(p, i) {
                o.deleted = true;
            }
        }
        return Ok(tl::enums::messages::AffectedMessages::from(
            tl::types::messages::AffectedMessages {
                pts,
                pts_count: count,
            },
        )
        .to_bytes());
    }
    if is!(id, f::channels::DeleteMessages) {
        let r: f::channels::DeleteMessages = decode(body)?;
        let chat = input_channel(w, &r.channel)?;
        let admin = w.chats[&chat].members.get(&me).and_then(|m| m.admin);
        let c = w.chats.get_mut(&chat).unwrap();
        let mut deleted = Vec::new();
        for i in &r.id {
            let own = c.msgs.get(i).is_some_and(|m| m.by_bot);
            if own || admin.is_some_and(|a| a.delete_messages) {
                if c.msgs.remove(i).is_some() {
                    deleted.push(*i);
                }
            } else if c.msgs.contains_key(i) {
                return Err(RpcErr(403, "MESSAGE_DELETE_FORBIDDEN".into()));
            }
        }
        c.pts += 1;
        let pts = c.pts;
        c.log.push(LogEntry {
            pts,
            qts: 0,
            date: now(),
            update: tl::types::UpdateDeleteChannelMessages {
                channel_id: chat,
                messages: deleted.clone(),
                pts,
                pts_count: 1,
            }
            .into(),
            users: vec![],
            chats: vec![chat],
        });
        for i in deleted {
            w.obs.deleted_messages.push((PeerKey::Channel(chat), i));
            if let Some(o) = w.obs.message_mut(PeerKey::Channel(chat), i) {
                o.deleted = true;
            }
        }
        return Ok(tl::enums::messages::AffectedMessages::from(
            tl::types::messages::AffectedMessages { pts, pts_count: 1 },
        )
        .to_bytes());
    }
    if is!(id, f::messages::SetBotCallbackAnswer) {
        let r: f::messages::SetBotCallbackAnswer = decode(body)?;
        let q = w
            .callbacks
            .remove(&r.query_id)
            .ok_or_else(|| bad("QUERY_ID_INVALID"))?;
        w.obs.callback_answers.push(CallbackAnswer {
            query_id: r.query_id,
            user_id: q.user,
            msg_id: q.msg_id,
            message: r.message,
            alert: r.alert,
            url: r.url,
        });
        return Ok(true.to_bytes());
    }
    if is!(id, f::messages::SetBotPrecheckoutResults) {
        let r: f::messages::SetBotPrecheckoutResults = decode(body)?;
        if !r.success && r.error.is_none() {
            return Err(bad("ERROR_TEXT_EMPTY"));
        }
        w.answer_precheckout(r.query_id, r.success, r.error)
            .map_err(bad)?;
        return Ok(true.to_bytes());
    }
    if is!(id, f::messages::ExportChatInvite) {
        let r: f::messages::ExportChatInvite = decode(body)?;
        let peer = input_peer(w, me, &r.peer)?;
        let chat = match peer {
            PeerKey::User(_) => return Err(bad("PEER_ID_INVALID")),
            p => p.id(),
        };
        // The bot must be an admin with the invite right (telegram.md §1.1 [S29]).
        if !w.chats[&chat]
            .members
            .get(&me)
            .and_then(|m| m.admin)
            .is_some_and(|a| a.invite_users)
        {
            return Err(bad("CHAT_ADMIN_REQUIRED"));
        }
        if r.title.as_ref().is_some_and(|t| t.chars().count() > 32) {
            return Err(bad("CHAT_INVITE_TITLE_TOO_LONG"));
        }
        if r.request_needed && r.usage_limit.is_some() {
            // Telegram rejects a usage limit on join-request links.
            return Err(bad("USAGE_LIMIT_INVALID"));
        }
        if r.usage_limit.is_some_and(|l| !(1..=99999).contains(&l)) {
            return Err(bad("USAGE_LIMIT_INVALID"));
        }
        let link = w.create_invite(
            chat,
            r.title,
            r.expire_date,
            r.usage_limit,
            r.request_needed,
        );
        return Ok(w.invite_tl(&link).unwrap().to_bytes());
    }
    if is!(id, f::messages::EditExportedChatInvite) {
        let r: f::messages::EditExportedChatInvite = decode(body)?;
        let inv = w
            .invites
            .get_mut(&r.link)
            .ok_or_else(|| bad("INVITE_HASH_INVALID"))?;
        if r.revoked {
            inv.revoked = true;
        }
        if r.expire_date.is_some() {
            inv.expire_date = r.expire_date;
        }
        if r.usage_limit.is_some() {
            inv.usage_limit = r.usage_limit;
        }
        if let Some(t) = r.title {
            inv.title = Some(t);
        }
        let snapshot = inv.clone();
        if let Some(o) = w.obs.invite_links.iter_mut().find(|o| o.link == r.link) {
            o.revoked = snapshot.revoked;
            o.expire_date = snapshot.expire_date;
            o.usage_limit = snapshot.usage_limit;
            o.title = snapshot.title.clone();
        }
        return Ok(tl::enums::messages::ExportedChatInvite::from(
            tl::types::messages::ExportedChatInvite {
                invite: w.invite_tl(&r.link).unwrap(),
                users: w.render_users(&[me], me),
            },
        )
        .to_bytes());
    }
    if is!(id, f::messages::HideChatJoinRequest) {
        let r: f::messages::HideChatJoinRequest = decode(body)?;
        let peer = input_peer(w, me, &r.peer)?;
        let user = input_user(w, me, &r.user_id)?;
        if !w
            .chats
            .get(&peer.id())
            .and_then(|c| c.members.get(&me))
            .and_then(|m| m.admin)
            .is_some_and(|a| a.invite_users)
        {
            return Err(bad("CHAT_ADMIN_REQUIRED"));
        }
        w.decide_join_request(peer.id(), user, r.approved)
            .map_err(|e| bad(&e.0))?;
        return Ok(empty_updates(w, me));
    }
    if is!(id, f::payments::RefundStarsCharge) {
        let r: f::payments::RefundStarsCharge = decode(body)?;
        let user = input_user(w, me, &r.user_id)?;
        let tx = w
            .stars
            .iter()
            .find(|t| t.id == r.charge_id && t.user == user && !t.refund)
            .cloned()
            .ok_or_else(|| bad("CHARGE_ID_INVALID"))?;
        if w.stars
            .iter()
            .any(|t| t.refund && t.id == format!("{}refund", tx.id))
        {
            return Err(bad("CHARGE_ALREADY_REFUNDED"));
        }
        w.stars.push(crate::world::StarsTx {
            id: format!("{}refund", tx.id),
            amount: -tx.amount,
            date: now(),
            refund: true,
            ..tx.clone()
        });
        w.obs.refunds.push(Refund {
            user_id: user,
            charge_id: r.charge_id,
        });
        return Ok(empty_updates(w, me));
    }
    if is!(id, f::payments::GetStarsStatus) || is!(id, f::payments::GetStarsTransactions) {
        let history = is!(id, f::payments::GetStarsTransactions);
        let balance: i64 = w.stars.iter().map(|t| t.amount).sum();
        let users: Vec<i64> = w.stars.iter().map(|t| t.user).collect();
        let txs = history.then(|| {
            w.stars
                .iter()
                .rev()
                .map(|t| {
                    let mut s = tlb::stars_transaction(
                        &t.id,
                        t.amount,
                        t.date,
                        tl::types::StarsTransactionPeer {
                            peer: PeerKey::User(t.user).into_tl(),
                        }
                        .into(),
                    );
                    s.refund = t.refund;
                    s.bot_payload = Some(t.payload.clone());
                    s.into()
                })
                .collect()
        });
        return Ok(
            tl::enums::payments::StarsStatus::from(tl::types::payments::StarsStatus {
                balance: tl::types::StarsAmount {
                    amount: balance,
                    nanos: 0,
                }
                .into(),
                subscriptions: None,
                subscriptions_next_offset: None,
                subscriptions_missing_balance: None,
                history: txs,
                next_offset: None,
                chats: vec![],
                users: w.render_users(&users, me),
            })
            .to_bytes(),
        );
    }
    if is!(id, f::premium::GetUserBoosts) {
        let r: f::premium::GetUserBoosts = decode(body)?;
        let chat = input_peer(w, me, &r.peer)?.id();
        let user = input_user(w, me, &r.user_id)?;
        let c = w.chats.get(&chat).ok_or_else(|| bad("PEER_ID_INVALID"))?;
        // "requires administrator rights in the chat" (telegram.md §1.8 [S23]).
        if c.members.get(&me).and_then(|m| m.admin).is_none() {
            return Err(bad("CHAT_ADMIN_REQUIRED"));
        }
        let boosts: Vec<tl::enums::Boost> = c
            .boosts
            .iter()
            .filter(|b| b.user_id == Some(user))
            .cloned()
            .map(Into::into)
            .collect();
        return Ok(
            tl::enums::premium::BoostsList::from(tl::types::premium::BoostsList {
                count: boosts.len() as i32,
                boosts,
                next_offset: None,
                users: w.render_users(&[user], me),
            })
            .to_bytes(),
        );
    }
    if is!(id, f::bots::SetBotCommands) {
        let r: f::bots::SetBotCommands = decode(body)?;
        if !is_bot {
            return Err(bad("USER_BOT_REQUIRED"));
        }
        w.obs.bot_commands = r
            .commands
            .into_iter()
            .map(|tl::enums::BotCommand::Command(c)| (c.command, c.description))
            .collect();
        return Ok(true.to_bytes());
    }
    if is!(id, f::auth::LogOut) {
        w.keys.get_mut(&caller.key_id).unwrap().account = None;
        return Ok(
            tl::enums::auth::LoggedOut::from(tl::types::auth::LoggedOut {
                future_auth_token: None,
            })
            .to_bytes(),
        );
    }

    if is!(id, f::messages::CheckChatInvite) {
        let r: f::messages::CheckChatInvite = decode(body)?;
        // "Only users can use this method"
        // (<https://core.telegram.org/method/messages.checkChatInvite>): a bot cannot look a
        // `t.me/+HASH` link up; it learns a private chat when it is added to it.
        if is_bot {
            return Err(bad("BOT_METHOD_INVALID"));
        }
        return check_chat_invite(w, me, &r.hash);
    }

    // Owner-account methods: "Can bots use this method: NO" (telegram.md §1.2, §1.4 [S7][S13][S14][S31];
    // messages.getDialogs: <https://core.telegram.org/method/messages.getDialogs>).
    let user_only = is!(id, f::messages::GetReplies)
        || is!(id, f::messages::GetDialogs)
        || is!(id, f::messages::GetDiscussionMessage)
        || is!(id, f::stats::GetMessagePublicForwards)
        || is!(id, f::channels::GetAdminLog);
    if user_only && is_bot {
        return Err(bad("BOT_METHOD_INVALID"));
    }
    if is!(id, f::messages::GetDiscussionMessage) {
        let r: f::messages::GetDiscussionMessage = decode(body)?;
        let chat = input_peer(w, me, &r.peer)?.id();
        let c = w.chats.get(&chat).ok_or_else(|| bad("PEER_ID_INVALID"))?;
        let group = c.linked.ok_or_else(|| bad("MSG_ID_INVALID"))?;
        let copy = c
            .msgs
            .get(&r.msg_id)
            .and_then(|m| m.discussion_copy)
            .ok_or_else(|| bad("MSG_ID_INVALID"))?;
        let g = &w.chats[&group];
        let msg = g
            .msgs
            .get(&copy)
            .ok_or_else(|| bad("MSG_ID_INVALID"))?
            .tl
            .clone();
        let replies = g
            .msgs
            .values()
            .filter(|m| thread_of(&m.tl) == Some(copy))
            .count() as i32;
        return Ok(tl::enums::messages::DiscussionMessage::from(
            tl::types::messages::DiscussionMessage {
                messages: vec![msg],
                max_id: Some(g.next_msg_id - 1),
                read_inbox_max_id: None,
                read_outbox_max_id: None,
                unread_count: replies,
                chats: w.render_chats(&[chat, group], me),
                users: vec![],
            },
        )
        .to_bytes());
    }
    if is!(id, f::messages::GetReplies) {
        let r: f::messages::GetReplies = decode(body)?;
        let chat = input_peer(w, me, &r.peer)?.id();
        let c = w.chats.get(&chat).ok_or_else(|| bad("PEER_ID_INVALID"))?;
        // Called on the channel post or on the thread root in the group.
        let (group, root) = match (c.kind, c.linked) {
            (ChatKind::Channel, Some(g)) => (
                g,
                c.msgs
                    .get(&r.msg_id)
                    .and_then(|m| m.discussion_copy)
                    .ok_or_else(|| bad("MSG_ID_INVALID"))?,
            ),
            _ => (chat, r.msg_id),
        };
        let g = &w.chats[&group];
        let limit = if r.limit <= 0 { 100 } else { r.limit as usize };
        let mut msgs: Vec<&Msg> = g
            .msgs
            .values()
            .filter(|m| thread_of(&m.tl) == Some(root))
            .filter(|m| r.offset_id == 0 || msg_id(&m.tl) < r.offset_id)
            .collect();
        msgs.reverse();
        let count = msgs.len() as i32;
        let msgs: Vec<tl::enums::Message> =
            msgs.into_iter().take(limit).map(|m| m.tl.clone()).collect();
        let users: Vec<i64> = msgs.iter().filter_map(sender_of).collect();
        return Ok(
            tl::enums::messages::Messages::from(tl::types::messages::ChannelMessages {
                inexact: false,
                pts: g.pts,
                count,
                offset_id_offset: None,
                messages: msgs,
                topics: vec![],
                chats: w.render_chats(&[group, chat], me),
                users: w.render_users(&users, me),
            })
            .to_bytes(),
        );
    }
    if is!(id, f::stats::GetMessagePublicForwards) {
        let r: f::stats::GetMessagePublicForwards = decode(body)?;
        let chat = input_channel(w, &r.channel)?;
        if w.chats[&chat]
            .members
            .get(&me)
            .and_then(|m| m.admin)
            .is_none()
        {
            return Err(bad("CHAT_ADMIN_REQUIRED"));
        }
        // Forwards into public channels are not simulated: always an empty list.
        return Ok(
            tl::enums::stats::PublicForwards::from(tl::types::stats::PublicForwards {
                count: 0,
                forwards: vec![],
                next_offset: None,
                chats: vec![],
                users: vec![],
            })
            .to_bytes(),
        );
    }
    if is!(id, f::channels::GetAdminLog) {
        let r: f::channels::GetAdminLog = decode(body)?;
        let chat = input_channel(w, &r.channel)?;
        let c = &w.chats[&chat];
        if c.members.get(&me).and_then(|m| m.admin).is_none() {
            return Err(bad("CHAT_ADMIN_REQUIRED"));
        }
        // Recent actions are kept for 48 hours (telegram.md §1.1 [S31]).
        let since = now() - 48 * 3600;
        let events: Vec<tl::enums::ChannelAdminLogEvent> = c
            .admin_log
            .iter()
            .rev()
            .filter(|e| e.date >= since)
            .take(if r.limit <= 0 { 100 } else { r.limit as usize })
            .cloned()
            .map(Into::into)
            .collect();
        let users: Vec<i64> = c.admin_log.iter().map(|e| e.user_id).collect();
        return Ok(tl::enums::channels::AdminLogResults::from(
            tl::types::channels::AdminLogResults {
                events,
                chats: w.render_chats(&[chat], me),
                users: w.render_users(&users, me),
            },
        )
        .to_bytes());
    }

    log::info!("tgsim: method not implemented: {}", tl::name_for_id(id));
    Err(bad("METHOD_NOT_IMPLEMENTED_BY_TGSIM"))
}

/// `messages.checkChatInvite` (<https://core.telegram.org/method/messages.checkChatInvite>):
/// `chatInviteAlready{chat}` for a member, otherwise `chatInvite` with the chat's title, kind
/// flags, `request_needed` and member count
/// (<https://core.telegram.org/constructor/chatInvite>). Errors: 400 INVITE_HASH_EMPTY,
/// 400 INVITE_HASH_INVALID (unknown), 406 INVITE_HASH_EXPIRED (revoked, expired, or used up).
fn check_chat_invite(w: &World, me: i64, hash: &str) -> R {
    if hash.is_empty() {
        return Err(bad("INVITE_HASH_EMPTY"));
    }
    let inv = w
        .invites
        .values()
        .find(|i| i.hash == hash)
        .ok_or_else(|| bad("INVITE_HASH_INVALID"))?;
    let c = &w.chats[&inv.chat];
    if c.members.contains_key(&me) {
        return Ok(tl::enums::ChatInvite::from(tl::types::ChatInviteAlready {
            chat: w.render_chat(inv.chat, me).unwrap(),
        })
        .to_bytes());
    }
    let used_up = inv.usage_limit.is_some_and(|l| {
        inv.joined
            .iter()
            .filter(|u| c.members.contains_key(u))
            .count() as i32
            >= l
    });
    if inv.revoked || inv.expire_date.is_some_and(|d| d <= now()) || used_up {
        return Err(RpcErr(406, "INVITE_HASH_EXPIRED".into()));
    }
    Ok(tl::enums::ChatInvite::from(tl::types::ChatInvite {
        channel: c.is_channel_like(),
        broadcast: c.kind == ChatKind::Channel,
        public: c.spec.username.is_some(),
        megagroup: c.kind == ChatKind::Supergroup,
        request_needed: inv.request_needed,
        verified: false,
        scam: false,
        fake: false,
        can_refulfill_subscription: false,
        title: c.spec.title.clone(),
        about: (!c.spec.about.is_empty()).then(|| c.spec.about.clone()),
        photo: tl::types::PhotoEmpty { id: 0 }.into(),
        participants_count: c.members.len() as i32,
        participants: None,
        color: 0,
        subscription_pricing: None,
        subscription_form_id: None,
        bot_verification: None,
    })
    .to_bytes())
}

fn authorization(w: &World, user: i64) -> Vec<u8> {
    tl::enums::auth::Authorization::from(tl::types::auth::Authorization {
        setup_password_required: false,
        otherwise_relogin_days: None,
        tmp_sessions: None,
        future_auth_token: None,
        user: w.render_user(user, user).unwrap(),
    })
    .to_bytes()
}

/// `account.getPassword`: the SRP parameters and a fresh challenge for the account whose
/// sign-in needs the password (or the logged-in account).
fn get_password(w: &mut World, caller: &Caller) -> R {
    let user = w
        .password_needed
        .get(&caller.key_id)
        .copied()
        .or_else(|| w.keys.get(&caller.key_id).and_then(|k| k.account))
        .ok_or_else(|| RpcErr(401, "AUTH_KEY_UNREGISTERED".into()))?;
    let password = w.users.get(&user).and_then(|u| u.password.clone());
    let mut secure_random = vec![0u8; 256];
    rand::fill(&mut secure_random[..]);
    let new_algo = |salt1: Vec<u8>, salt2: Vec<u8>| -> tl::enums::PasswordKdfAlgo {
        tl::types::PasswordKdfAlgoSha256Sha256Pbkdf2Hmacsha512iter100000Sha256ModPow {
            salt1,
            salt2,
            g: crate::srp::G,
            p: crate::srp::p_bytes(),
        }
        .into()
    };
    let mut out = tl::types::account::Password {
        has_recovery: false,
        has_secure_values: false,
        has_password: false,
        current_algo: None,
        srp_b: None,
        srp_id: None,
        hint: None,
        email_unconfirmed_pattern: None,
        new_algo: new_algo(vec![0; 8], vec![0; 16]),
        new_secure_algo: tl::enums::SecurePasswordKdfAlgo::Unknown,
        secure_random,
        pending_reset_date: None,
        login_email_pattern: None,
    };
    if let Some(pw) = password {
        let ver = w
            .verifiers
            .entry(user)
            .or_insert_with(|| crate::srp::Verifier::new(&pw))
            .clone();
        let srp_id = w.alloc_query();
        let ch = crate::srp::challenge(&ver, srp_id);
        out.has_password = true;
        out.current_algo = Some(new_algo(ver.salt1.clone(), ver.salt2.clone()));
        out.srp_b = Some(ch.g_b.to_vec());
        out.srp_id = Some(srp_id);
        out.hint = Some(String::new());
        w.srp_challenges.insert(caller.key_id, (user, ch));
    }
    Ok(tl::enums::account::Password::from(out).to_bytes())
}

fn empty_updates(w: &World, me: i64) -> Vec<u8> {
    w.updates_for(me, vec![], &[], &[], 0).to_bytes()
}

/// The answer to sendMedia/editMessage: `updates{updateMessageID?, updateNew/Edit…Message}`
/// (simulator.md §2.9). Private-chat answers carry the next seq.
fn own_message_updates(
    w: &mut World,
    me: i64,
    peer: PeerKey,
    message: tl::enums::Message,
    pts: i32,
    random_id: Option<i64>,
    edit: bool,
) -> Vec<u8> {
    let mut ups: Vec<tl::enums::Update> = Vec::new();
    if let Some(random_id) = random_id {
        ups.push(
            tl::types::UpdateMessageId {
                id: msg_id(&message),
                random_id,
            }
            .into(),
        );
    }
    let (users, chats) = match peer {
        PeerKey::User(u) => (vec![me, u], vec![]),
        other => (vec![me], vec![other.id()]),
    };
    match (peer, edit) {
        (PeerKey::Channel(_), false) => ups.push(
            tl::types::UpdateNewChannelMessage {
                message,
                pts,
                pts_count: 1,
            }
            .into(),
        ),
        (PeerKey::Channel(_), true) => ups.push(
            tl::types::UpdateEditChannelMessage {
                message,
                pts,
                pts_count: 1,
            }
            .into(),
        ),
        (_, false) => ups.push(
            tl::types::UpdateNewMessage {
                message,
                pts,
                pts_count: 1,
            }
            .into(),
        ),
        (_, true) => {
            let u: tl::enums::Update = tl::types::UpdateEditMessage {
                message,
                pts,
                pts_count: 1,
            }
            .into();
            w.accounts.get_mut(&me).unwrap().log.push(LogEntry {
                pts,
                qts: 0,
                date: now(),
                update: u.clone(),
                users: users.clone(),
                chats: chats.clone(),
            });
            ups.push(u);
        }
    }
    let seq = if matches!(peer, PeerKey::Channel(_)) {
        0
    } else {
        let a = w.accounts.get_mut(&me).unwrap();
        a.seq += 1;
        a.seq
    };
    w.updates_for(me, ups, &users, &chats, seq).to_bytes()
}

/// Media the bot may send: Stars invoices, polls, paid media (issue 3 item 5), and uploaded
/// photos and documents (returned as the file to record once the message has its id).
fn attach_media(
    w: &mut World,
    me: i64,
    peer: PeerKey,
    msg: &mut Msg,
    media: tl::enums::InputMedia,
) -> Result<Option<SentFile>, RpcErr> {
    let tl::enums::Message::Message(m) = &mut msg.tl else {
        unreachable!()
    };
    match media {
        tl::enums::InputMedia::Invoice(inv) => {
            let tl::enums::Invoice::Invoice(invoice) = &inv.invoice;
            // Digital goods are sold in Stars: currency XTR, no provider (telegram.md §1.6 [S48]).
            if invoice.currency != "XTR" {
                return Err(bad("CURRENCY_INVALID"));
            }
            if inv.provider.as_deref().is_some_and(|p| !p.is_empty()) {
                return Err(bad("PROVIDER_INVALID"));
            }
            let amount: i64 = invoice
                .prices
                .iter()
                .map(|tl::enums::LabeledPrice::Price(p)| p.amount)
                .sum();
            if amount <= 0 {
                return Err(bad("INVOICE_PAYLOAD_INVALID"));
            }
            m.media = Some(
                tl::types::MessageMediaInvoice {
                    shipping_address_requested: false,
                    test: false,
                    title: inv.title.clone(),
                    description: inv.description.clone(),
                    photo: None,
                    receipt_msg_id: None,
                    currency: invoice.currency.clone(),
                    total_amount: amount,
                    start_param: inv.start_param.clone().unwrap_or_default(),
                    extended_media: None,
                }
                .into(),
            );
            msg.invoice = Some(InvoiceInfo {
                currency: invoice.currency.clone(),
                amount,
                payload: inv.payload.clone(),
                title: inv.title.clone(),
            });
        }
        tl::enums::InputMedia::Poll(p) => {
            let tl::enums::Poll::Poll(mut poll) = p.poll;
            // "Non-anonymous polls can't be sent or forwarded to channels" (telegram.md §1.9 [S20]).
            if poll.public_voters
                && matches!(peer, PeerKey::Channel(c) if w.chats[&c].kind == ChatKind::Channel)
            {
                return Err(bad("BROADCAST_PUBLIC_VOTERS_FORBIDDEN"));
            }
            poll.id = w.alloc_query();
            let options: Vec<Vec<u8>> = poll
                .answers
                .iter()
                .map(|a| match a {
                    tl::enums::PollAnswer::Answer(a) => a.option.clone(),
                    tl::enums::PollAnswer::InputPollAnswer(_) => Vec::new(),
                })
                .collect();
            let options: Vec<Vec<u8>> = options
                .into_iter()
                .enumerate()
                .map(|(i, o)| if o.is_empty() { vec![i as u8] } else { o })
                .collect();
            msg.poll = Some(PollInfo {
                id: poll.id,
                options,
                public_voters: poll.public_voters,
                votes: Default::default(),
            });
            let results: tl::types::PollResults = tlb::blank(|b| 0u32.serialize(b));
            m.media = Some(
                tl::types::MessageMediaPoll {
                    poll: poll.into(),
                    results: results.into(),
                    attached_media: None,
                }
                .into(),
            );
        }
        tl::enums::InputMedia::PaidMedia(p) => {
            if p.stars_amount <= 0 {
                return Err(bad("STARS_AMOUNT_INVALID"));
            }
            m.media = Some(
                tl::types::MessageMediaPaidMedia {
                    stars_amount: p.stars_amount,
                    extended_media: vec![],
                }
                .into(),
            );
            msg.paid_media = Some((p.stars_amount, p.payload));
        }
        tl::enums::InputMedia::UploadedPhoto(p) => {
            let (name, bytes) = uploaded_file(w, me, &p.file)?;
            // "IMAGE_PROCESS_FAILED: Failure while processing image"
            // (<https://core.telegram.org/method/messages.sendMedia>): only PNG and JPEG
            // are understood here.
            let (width, height, mime) =
                crate::files::image_size(&bytes).ok_or_else(|| bad("IMAGE_PROCESS_FAILED"))?;
            let id = w.alloc_query();
            // Telegram re-encodes photos and stores several sizes; the simulator keeps the
            // uploaded bytes and describes them as one size
            // (<https://core.telegram.org/constructor/photo>).
            let photo = tl::types::Photo {
                has_stickers: false,
                id,
                access_hash: access_hash(id),
                file_reference: id.to_le_bytes().to_vec(),
                date: now(),
                sizes: vec![tl::types::PhotoSize {
                    r#type: crate::files::photo_size_type(width, height).into(),
                    w: width,
                    h: height,
                    size: bytes.len() as i32,
                }
                .into()],
                video_sizes: None,
                dc_id: crate::DC_ID,
            };
            m.media = Some(
                tl::types::MessageMediaPhoto {
                    spoiler: p.spoiler,
                    live_photo: false,
                    photo: Some(photo.into()),
                    ttl_seconds: p.ttl_seconds,
                    video: None,
                }
                .into(),
            );
            return Ok(Some(SentFile {
                peer,
                msg_id: 0,
                kind: "photo".into(),
                file_name: name,
                mime_type: mime.into(),
                size: bytes.len(),
                width: Some(width),
                height: Some(height),
                caption: String::new(),
                media_id: id,
                bytes,
            }));
        }
        tl::enums::InputMedia::UploadedDocument(d) => {
            let (name, bytes) = uploaded_file(w, me, &d.file)?;
            let mut attributes = d.attributes.clone();
            let file_name = attributes
                .iter()
                .find_map(|a| match a {
                    tl::enums::DocumentAttribute::Filename(f) => Some(f.file_name.clone()),
                    _ => None,
                })
                .unwrap_or_else(|| {
                    attributes.push(
                        tl::types::DocumentAttributeFilename {
                            file_name: name.clone(),
                        }
                        .into(),
                    );
                    name.clone()
                });
            let (width, height) = attributes
                .iter()
                .find_map(|a| match a {
                    tl::enums::DocumentAttribute::ImageSize(s) => Some((Some(s.w), Some(s.h))),
                    _ => None,
                })
                .unwrap_or((None, None));
            let mime_type = if d.mime_type.is_empty() {
                "application/octet-stream".to_string()
            } else {
                d.mime_type.clone()
            };
            let id = w.alloc_query();
            // <https://core.telegram.org/constructor/document>: the mime type and attributes
            // the client gave (<https://core.telegram.org/constructor/inputMediaUploadedDocument>).
            let doc = tl::types::Document {
                id,
                access_hash: access_hash(id),
                file_reference: id.to_le_bytes().to_vec(),
                date: now(),
                mime_type: mime_type.clone(),
                size: bytes.len() as i64,
                thumbs: None,
                video_thumbs: None,
                dc_id: crate::DC_ID,
                attributes,
            };
            m.media = Some(
                tl::types::MessageMediaDocument {
                    nopremium: false,
                    spoiler: d.spoiler,
                    video: false,
                    round: false,
                    voice: false,
                    document: Some(doc.into()),
                    alt_documents: None,
                    video_cover: None,
                    video_timestamp: None,
                    ttl_seconds: d.ttl_seconds,
                }
                .into(),
            );
            return Ok(Some(SentFile {
                peer,
                msg_id: 0,
                kind: "document".into(),
                file_name,
                mime_type,
                size: bytes.len(),
                width,
                height,
                caption: String::new(),
                media_id: id,
                bytes,
            }));
        }
        other => {
            log::info!("tgsim: unsupported media {other:?}");
            return Err(bad("MEDIA_NOT_IMPLEMENTED_BY_TGSIM"));
        }
    }
    Ok(None)
}

/// The bytes of an uploaded `InputFile` (<https://core.telegram.org/api/files>): all parts
/// present (else `FILE_PART_N_MISSING`), sizes as documented, and the MD5 of `inputFile`
/// when given (`MD5_CHECKSUM_INVALID`). Returns (file name, bytes).
fn uploaded_file(
    w: &World,
    me: i64,
    f: &tl::enums::InputFile,
) -> Result<(String, Vec<u8>), RpcErr> {
    let (id, parts, name, md5, big) = match f {
        tl::enums::InputFile::File(f) => (f.id, f.parts, &f.name, Some(&f.md5_checksum), false),
        tl::enums::InputFile::Big(f) => (f.id, f.parts, &f.name, None, true),
        tl::enums::InputFile::StoryDocument(_) => {
            return Err(bad("MEDIA_NOT_IMPLEMENTED_BY_TGSIM"))
        }
    };
    let up = w
        .uploads
        .get(&(me, id))
        .ok_or_else(|| bad("FILE_PART_0_MISSING"))?;
    let bytes = up.assemble(parts, big).map_err(|e| bad(&e))?;
    if let Some(sum) = md5.filter(|s| !s.is_empty()) {
        if !sum.eq_ignore_ascii_case(&format!("{:x}", md5::compute(&bytes))) {
            return Err(bad("MD5_CHECKSUM_INVALID"));
        }
    }
    Ok((name.clone(), bytes))
}

fn check_can_send(w: &World, me: i64, peer: PeerKey) -> Result<(), RpcErr> {
    match peer {
        PeerKey::User(u) => {
            let user = w.users.get(&u).ok_or_else(|| bad("PEER_ID_INVALID"))?;
            // A bot cannot write to a user who blocked it.
            if me == w.bot() && user.blocked_bot {
                return Err(RpcErr(403, "USER_IS_BLOCKED".into()));
            }
            // Bots cannot start conversations: the user must have written to the bot first,
            // or sent a join request in the last 5 minutes (telegram.md §1.1 [S30]). The exact
            // MTProto error is not documented; PEER_ID_INVALID is the stricter reading.
            if me == w.bot() && u != me && !user.started_bot && user.dm_window_until < now() {
                return Err(bad("PEER_ID_INVALID"));
            }
            Ok(())
        }
        PeerKey::Chat(c) | PeerKey::Channel(c) => {
            let chat = w.chats.get(&c).ok_or_else(|| bad("PEER_ID_INVALID"))?;
            let m = chat
                .members
                .get(&me)
                .ok_or_else(|| RpcErr(403, "CHAT_WRITE_FORBIDDEN".into()))?;
            if chat.kind == ChatKind::Channel && !m.admin.is_some_and(|a| a.post_messages) {
                return Err(RpcErr(403, "CHAT_WRITE_FORBIDDEN".into()));
            }
            Ok(())
        }
    }
}

/// At most this many account updates per `updates.difference`; more come as
/// `updates.differenceSlice` and the client asks again (<https://core.telegram.org/api/updates#fetching-state>).
/// Telegram's own slice size is not documented.
pub const DIFFERENCE_SLICE: usize = 1000;

fn get_difference(w: &World, me: i64, r: tl::functions::updates::GetDifference) -> Vec<u8> {
    let a = &w.accounts[&me];
    let mut state = tl::types::updates::State {
        pts: a.pts,
        qts: a.qts,
        date: now(),
        seq: a.seq,
        unread_count: 0,
    };
    let mut new_messages = Vec::new();
    let mut other = Vec::new();
    let mut users = Vec::new();
    let mut chats = Vec::new();
    let mut take = |e: &LogEntry, new_messages: &mut Vec<_>, other: &mut Vec<_>| {
        users.extend_from_slice(&e.users);
        chats.extend_from_slice(&e.chats);
        match &e.update {
            tl::enums::Update::NewMessage(m) => new_messages.push(m.message.clone()),
            u => other.push(u.clone()),
        }
    };
    // The log is in assignment order, so pts and qts both grow along it.
    let fresh: Vec<&LogEntry> = a
        .log
        .iter()
        .filter(|e| (e.pts > 0 && e.pts > r.pts) || (e.qts > 0 && e.qts > r.qts))
        .collect();
    let sliced = fresh.len() > DIFFERENCE_SLICE;
    for e in fresh.iter().take(DIFFERENCE_SLICE) {
        take(e, &mut new_messages, &mut other);
    }
    if sliced {
        let part = &fresh[..DIFFERENCE_SLICE];
        state.pts = part.iter().map(|e| e.pts).max().unwrap_or(0).max(r.pts);
        state.qts = part.iter().map(|e| e.qts).max().unwrap_or(0).max(r.qts);
        // Keep the client's date so the final slice still includes channel updates since then.
        state.date = r.date;
        return tl::enums::updates::Difference::from(tl::types::updates::DifferenceSlice {
            new_messages,
            new_encrypted_messages: vec![],
            other_updates: other,
            chats: w.render_chats(&chats, me),
            users: w.render_users(&users, me),
            intermediate_state: state.into(),
        })
        .to_bytes();
    }
    // Channel updates since the client's date are included as they are: grammers applies or
    // ignores them by channel pts, and a gap sends it to getChannelDifference (simulator.md §3).
    for c in w.chats.values() {
        if !c.members.contains_key(&me) || !c.is_channel_like() {
            continue;
        }
        for e in c.log.iter().filter(|e| e.date >= r.date) {
            take(e, &mut new_messages, &mut other);
        }
    }
    if new_messages.is_empty() && other.is_empty() {
        return tl::enums::updates::Difference::from(tl::types::updates::DifferenceEmpty {
            date: state.date,
            seq: state.seq,
        })
        .to_bytes();
    }
    tl::enums::updates::Difference::from(tl::types::updates::Difference {
        new_messages,
        new_encrypted_messages: vec![],
        other_updates: other,
        chats: w.render_chats(&chats, me),
        users: w.render_users(&users, me),
        state: state.into(),
    })
    .to_bytes()
}

fn get_channel_difference(w: &World, me: i64, chat: i64, pts: i32, limit: i32) -> Vec<u8> {
    let c = &w.chats[&chat];
    let limit = if limit <= 0 { 100 } else { limit as usize };
    let fresh: Vec<&LogEntry> = c.log.iter().filter(|e| e.pts > pts).take(limit).collect();
    if fresh.is_empty() {
        return tl::enums::updates::ChannelDifference::from(
            tl::types::updates::ChannelDifferenceEmpty {
                r#final: true,
                pts: c.pts,
                timeout: None,
            },
        )
        .to_bytes();
    }
    let last = fresh.last().unwrap().pts;
    let mut new_messages = Vec::new();
    let mut other = Vec::new();
    let mut users = Vec::new();
    let mut chats = vec![chat];
    for e in &fresh {
        users.extend_from_slice(&e.users);
        chats.extend_from_slice(&e.chats);
        match &e.update {
            tl::enums::Update::NewChannelMessage(m) => new_messages.push(m.message.clone()),
            u => other.push(u.clone()),
        }
    }
    tl::enums::updates::ChannelDifference::from(tl::types::updates::ChannelDifference {
        r#final: last == c.pts,
        pts: last,
        timeout: None,
        new_messages,
        other_updates: other,
        chats: w.render_chats(&chats, me),
        users: w.render_users(&users, me),
    })
    .to_bytes()
}

/// A private channel (no username) is only readable by its members: CHANNEL_PRIVATE otherwise
/// (<https://core.telegram.org/method/channels.getFullChannel>).
fn check_visible(w: &World, me: i64, chat: i64) -> Result<(), RpcErr> {
    let c = &w.chats[&chat];
    if c.spec.username.is_none() && !c.members.contains_key(&me) {
        return Err(bad("CHANNEL_PRIVATE"));
    }
    Ok(())
}

fn check_user(w: &World, id: i64, hash: i64) -> Result<i64, RpcErr> {
    if w.users.contains_key(&id) && hash == access_hash(id) {
        Ok(id)
    } else {
        Err(bad("USER_ID_INVALID"))
    }
}

fn input_user(w: &World, me: i64, u: &tl::enums::InputUser) -> Result<i64, RpcErr> {
    match u {
        tl::enums::InputUser::UserSelf => Ok(me),
        tl::enums::InputUser::User(u) => check_user(w, u.user_id, u.access_hash),
        _ => Err(bad("USER_ID_INVALID")),
    }
}

fn input_channel(w: &World, c: &tl::enums::InputChannel) -> Result<i64, RpcErr> {
    match c {
        tl::enums::InputChannel::Channel(c)
            if w.chats
                .get(&c.channel_id)
                .is_some_and(|ch| ch.is_channel_like())
                && c.access_hash == access_hash(c.channel_id) =>
        {
            Ok(c.channel_id)
        }
        _ => Err(bad("CHANNEL_INVALID")),
    }
}

fn input_peer(w: &World, me: i64, p: &tl::enums::InputPeer) -> Result<PeerKey, RpcErr> {
    match p {
        tl::enums::InputPeer::PeerSelf => Ok(PeerKey::User(me)),
        tl::enums::InputPeer::User(u) => check_user(w, u.user_id, u.access_hash).map(PeerKey::User),
        tl::enums::InputPeer::Chat(c)
            if w.chats
                .get(&c.chat_id)
                .is_some_and(|ch| ch.kind == ChatKind::Basic) =>
        {
            Ok(PeerKey::Chat(c.chat_id))
        }
        tl::enums::InputPeer::Channel(c) => input_channel(
            w,
            &tl::types::InputChannel {
                channel_id: c.channel_id,
                access_hash: c.access_hash,
            }
            .into(),
        )
        .map(PeerKey::Channel),
        _ => Err(bad("PEER_ID_INVALID")),
    }
}

fn sender_of(m: &tl::enums::Message) -> Option<i64> {
    let from = match m {
        tl::enums::Message::Message(m) => m.from_id.as_ref(),
        tl::enums::Message::Service(m) => m.from_id.as_ref(),
        _ => None,
    };
    match from {
        Some(tl::enums::Peer::User(u)) => Some(u.user_id),
        _ => None,
    }
}

fn peer_of(m: &tl::enums::Message) -> Option<PeerKey> {
    let p = match m {
        tl::enums::Message::Message(m) => &m.peer_id,
        tl::enums::Message::Service(m) => &m.peer_id,
        _ => return None,
    };
    Some(match p {
        tl::enums::Peer::User(u) => PeerKey::User(u.user_id),
        tl::enums::Peer::Chat(c) => PeerKey::Chat(c.chat_id),
        tl::enums::Peer::Channel(c) => PeerKey::Channel(c.channel_id),
    })
}

fn msg_id(m: &tl::enums::Message) -> i32 {
    match m {
        tl::enums::Message::Message(m) => m.id,
        tl::enums::Message::Service(m) => m.id,
        tl::enums::Message::Empty(m) => m.id,
    }
}

/// The thread root a group message belongs to (its reply_to top id, or reply id).
fn thread_of(m: &tl::enums::Message) -> Option<i32> {
    let tl::enums::Message::Message(m) = m else {
        return None;
    };
    match &m.reply_to {
        Some(tl::enums::MessageReplyHeader::Header(h)) => h.reply_to_top_id.or(h.reply_to_msg_id),
        _ => None,
    }
}
