//! What the advertiser wizard, admin moderation and /statistic need, driven through the real
//! grammers client and the JSON control API (served in-process): the bot's own admin rights,
//! resolving t.me links, invoices and refunds, edits and callback answers, buttons by label,
//! and file uploads (photos and documents, small and big).

mod common;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;

use common::*;
use grammers_client::InvocationError;
use grammers_tl_types as tl;
use serde_json::{json, Value};
use tgsim::{ChatSpec, Sim, SimConfig, UserSpec};

/// A simulator with its control API on an ephemeral port.
fn sim_with_control(cfg: SimConfig) -> (Arc<Sim>, String) {
    let sim = Arc::new(Sim::start(cfg).unwrap());
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let s = Arc::clone(&sim);
    std::thread::spawn(move || tgsim::control::serve(s, listener, BTreeMap::new()));
    (sim, addr)
}

/// One control API call: (HTTP status, JSON body).
fn call(addr: &str, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
    let mut s = TcpStream::connect(addr).unwrap();
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).unwrap();
    let out = String::from_utf8(out).unwrap();
    let (head, body) = out.split_once("\r\n\r\n").unwrap();
    let code = head[9..12].parse().unwrap();
    (code, serde_json::from_str(body).unwrap())
}

/// A control API call that must succeed.
fn http(addr: &str, method: &str, path: &str, body: Option<Value>) -> Value {
    let (code, v) = call(addr, method, path, body);
    assert_eq!(code, 200, "{method} {path}: {v}");
    v
}

/// Control API calls block; run them off the test's runtime threads.
async fn http_async(addr: &str, method: &str, path: &str, body: Option<Value>) -> Value {
    let (addr, method, path) = (addr.to_string(), method.to_string(), path.to_string());
    tokio::task::spawn_blocking(move || http(&addr, &method, &path, body))
        .await
        .unwrap()
}

fn input_channel(id: i64, hash: i64) -> tl::enums::InputChannel {
    tl::types::InputChannel {
        channel_id: id,
        access_hash: hash,
    }
    .into()
}

fn rpc_name(e: &InvocationError) -> String {
    match e {
        InvocationError::Rpc(r) => r.name.clone(),
        other => format!("{other:?}"),
    }
}

async fn self_participant(bot: &Bot, chan: i64) -> Result<tl::enums::ChannelParticipant, String> {
    bot.client
        .invoke(&tl::functions::channels::GetParticipant {
            channel: input_channel(chan, tgsim::world::access_hash(chan)),
            participant: tl::enums::InputPeer::PeerSelf,
        })
        .await
        .map(|tl::enums::channels::ChannelParticipant::Participant(p)| p.participant)
        .map_err(|e| rpc_name(&e))
}

async fn export_invite(bot: &Bot, chan: i64) -> Result<String, String> {
    bot.client
        .invoke(&tl::functions::messages::ExportChatInvite {
            legacy_revoke_permanent: false,
            request_needed: false,
            peer: tl::types::InputPeerChannel {
                channel_id: chan,
                access_hash: tgsim::world::access_hash(chan),
            }
            .into(),
            expire_date: None,
            usage_limit: None,
            title: None,
            subscription_pricing: None,
        })
        .await
        .map(|i| match i {
            tl::enums::ExportedChatInvite::ChatInviteExported(i) => i.link,
            other => panic!("{other:?}"),
        })
        .map_err(|e| rpc_name(&e))
}

/// The bot's own participant and rights: an admin without the invite right, fixed later; a
/// plain member; not a member. Each change arrives as the bot's membership update.
#[tokio::test]
async fn bot_own_admin_rights() {
    let (sim, ctl) = sim_with_control(SimConfig::default());
    let chan = sim
        .add_channel(ChatSpec::new("Promo").username("promo"))
        .unwrap();
    let mut bot = bot(&sim).await;

    // Not a member yet.
    assert_eq!(
        self_participant(&bot, chan).await.unwrap_err(),
        "USER_NOT_PARTICIPANT"
    );

    // An admin that may post but not invite.
    http_async(
        &ctl,
        "POST",
        "/bot_admin",
        Some(json!({"chat": chan, "rights": ["post_messages", "edit_messages"]})),
    )
    .await;
    match bot.next_raw().await {
        tl::enums::Update::ChannelParticipant(u) => {
            assert_eq!(u.user_id, sim.bot_id());
            assert!(matches!(
                u.new_participant,
                Some(tl::enums::ChannelParticipant::Admin(ref a))
                    if matches!(&a.admin_rights, tl::enums::ChatAdminRights::Rights(r)
                        if r.post_messages && !r.invite_users)
            ));
        }
        other => panic!("unexpected {other:?}"),
    }
    match self_participant(&bot, chan).await.unwrap() {
        tl::enums::ChannelParticipant::Admin(a) => {
            assert!(a.is_self);
            let tl::enums::ChatAdminRights::Rights(r) = a.admin_rights;
            assert!(r.post_messages && r.edit_messages);
            assert!(!r.invite_users && !r.ban_users && !r.add_admins);
        }
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(
        export_invite(&bot, chan).await.unwrap_err(),
        "CHAT_ADMIN_REQUIRED"
    );

    // The owner fixes the rights (object form); a new membership update, and the invite works.
    http_async(
        &ctl,
        "POST",
        "/bot_admin",
        Some(json!({"chat": chan, "rights": {"post_messages": true, "invite_users": true}})),
    )
    .await;
    match bot.next_raw().await {
        tl::enums::Update::ChannelParticipant(u) => {
            assert!(matches!(
                u.prev_participant,
                Some(tl::enums::ChannelParticipant::Admin(_))
            ));
        }
        other => panic!("unexpected {other:?}"),
    }
    match self_participant(&bot, chan).await.unwrap() {
        tl::enums::ChannelParticipant::Admin(a) => {
            let tl::enums::ChatAdminRights::Rights(r) = a.admin_rights;
            assert!(r.invite_users && r.post_messages && !r.edit_messages);
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(export_invite(&bot, chan)
        .await
        .unwrap()
        .starts_with("https://t.me/+"));

    // Default rights (none given) = all.
    http_async(&ctl, "POST", "/bot_admin", Some(json!({"chat": chan}))).await;
    bot.next_raw().await;
    match self_participant(&bot, chan).await.unwrap() {
        tl::enums::ChannelParticipant::Admin(a) => {
            let tl::enums::ChatAdminRights::Rights(r) = a.admin_rights;
            assert!(r.add_admins && r.ban_users && r.invite_users);
        }
        other => panic!("unexpected {other:?}"),
    }
    // An unknown right name is refused.
    let (code, err) = tokio::task::spawn_blocking({
        let ctl = ctl.clone();
        move || {
            call(
                &ctl,
                "POST",
                "/bot_admin",
                Some(json!({"chat": chan, "rights": ["invite"]})),
            )
        }
    })
    .await
    .unwrap();
    assert_eq!(code, 400, "{err}");

    // Demoted to a plain member, then removed.
    http_async(&ctl, "POST", "/bot_member", Some(json!({"chat": chan}))).await;
    bot.next_raw().await;
    assert!(matches!(
        self_participant(&bot, chan).await.unwrap(),
        tl::enums::ChannelParticipant::ParticipantSelf(_)
    ));
    http_async(&ctl, "POST", "/remove_bot", Some(json!({"chat": chan}))).await;
    match bot.next_raw().await {
        tl::enums::Update::ChannelParticipant(u) => assert!(u.new_participant.is_none()),
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(
        self_participant(&bot, chan).await.unwrap_err(),
        "USER_NOT_PARTICIPANT"
    );
    let _ = UserSpec::new("unused");
}

async fn raw_resolve(bot: &Bot, name: &str) -> Result<tl::types::contacts::ResolvedPeer, String> {
    bot.client
        .invoke(&tl::functions::contacts::ResolveUsername {
            username: name.into(),
            referer: None,
        })
        .await
        .map(|tl::enums::contacts::ResolvedPeer::Peer(p)| p)
        .map_err(|e| rpc_name(&e))
}

fn channel_hash(chats: &[tl::enums::Chat], id: i64) -> i64 {
    chats
        .iter()
        .find_map(|c| match c {
            tl::enums::Chat::Channel(c) if c.id == id => c.access_hash,
            _ => None,
        })
        .expect("channel with an access hash")
}

/// `t.me/NAME`, `t.me/c/ID/POST` and `t.me/+HASH` as a bot sees them.
#[tokio::test]
async fn resolving_links_as_a_bot() {
    let (sim, ctl) = sim_with_control(SimConfig::default());
    let owner = sim
        .add_owner_account(UserSpec::new("Owner"), "+10000000002", None)
        .unwrap();
    let alice = sim
        .add_user(UserSpec::new("Alice").username("alice_ads"))
        .unwrap();
    let chan = sim
        .add_channel(ChatSpec::new("Promo").username("promo_chan"))
        .unwrap();
    let group = sim
        .add_supergroup(ChatSpec::new("Promo chat").username("promo_chat"))
        .unwrap();
    let private = sim.add_channel(ChatSpec::new("Secret")).unwrap();
    let private_in = sim.add_channel(ChatSpec::new("Secret 2")).unwrap();
    sim.link_discussion(chan, group).unwrap();
    sim.set_chat_owner(chan, owner).unwrap();
    sim.set_chat_owner(private, owner).unwrap();
    sim.add_member(chan, alice).unwrap();
    sim.set_bot_member(private_in).unwrap();
    let post = sim.post_to_channel(chan, "Ad slot").unwrap();
    let mut bot = bot(&sim).await;

    // Usernames: channel, supergroup, user, bot (case-insensitive), errors.
    let r = raw_resolve(&bot, "Promo_Chan").await.unwrap();
    assert!(matches!(r.peer, tl::enums::Peer::Channel(ref c) if c.channel_id == chan));
    let chan_hash = channel_hash(&r.chats, chan);
    match &r.chats[0] {
        tl::enums::Chat::Channel(c) => assert!(c.broadcast && c.left && c.username.is_some()),
        other => panic!("{other:?}"),
    }
    let r = raw_resolve(&bot, "promo_chat").await.unwrap();
    match &r.chats[0] {
        tl::enums::Chat::Channel(c) => assert!(c.megagroup && c.id == group),
        other => panic!("{other:?}"),
    }
    let r = raw_resolve(&bot, "alice_ads").await.unwrap();
    assert!(matches!(r.peer, tl::enums::Peer::User(ref u) if u.user_id == alice));
    assert!(matches!(&r.users[0], tl::enums::User::User(u) if !u.bot && u.access_hash.is_some()));
    let r = raw_resolve(&bot, &sim.bot_username()).await.unwrap();
    assert!(matches!(&r.users[0], tl::enums::User::User(u) if u.bot && u.id == sim.bot_id()));
    assert_eq!(
        raw_resolve(&bot, "nobody_here").await.unwrap_err(),
        "USERNAME_NOT_OCCUPIED"
    );
    for bad in ["", "9lives", "bad-name", "_x", &"a".repeat(33)] {
        assert_eq!(
            raw_resolve(&bot, bad).await.unwrap_err(),
            "USERNAME_INVALID",
            "{bad}"
        );
    }
    // grammers' own resolve works too.
    let p = bot.client.resolve_username("promo_chan").await.unwrap();
    assert_eq!(p.unwrap().id().bare_id_unchecked(), chan);

    // channels.getChannels: with the resolved hash; with only the id (t.me/c/ID/POST) the
    // bot has no hash; a private channel is reachable only as a member.
    let chats = bot
        .client
        .invoke(&tl::functions::channels::GetChannels {
            id: vec![input_channel(chan, chan_hash)],
        })
        .await
        .unwrap();
    let tl::enums::messages::Chats::Chats(chats) = chats else {
        panic!()
    };
    assert_eq!(chats.chats.len(), 1);
    let client = bot.client.clone();
    let get = |id: i64, hash: i64| {
        let client = client.clone();
        async move {
            client
                .invoke(&tl::functions::channels::GetChannels {
                    id: vec![input_channel(id, hash)],
                })
                .await
        }
    };
    assert_eq!(
        rpc_name(&get(chan, 0).await.unwrap_err()),
        "CHANNEL_INVALID"
    );
    assert_eq!(
        rpc_name(&get(private, 0).await.unwrap_err()),
        "CHANNEL_INVALID"
    );
    assert_eq!(
        rpc_name(
            &get(private, tgsim::world::access_hash(private))
                .await
                .unwrap_err()
        ),
        "CHANNEL_PRIVATE"
    );
    // The member bot learnt the hash from its membership update.
    assert!(get(private_in, tgsim::world::access_hash(private_in))
        .await
        .is_ok());

    // Post-level actions: the post exists, a missing id is messageEmpty.
    let msgs = bot
        .client
        .invoke(&tl::functions::channels::GetMessages {
            channel: input_channel(chan, chan_hash),
            id: vec![
                tl::types::InputMessageId { id: post }.into(),
                tl::types::InputMessageId { id: 999 }.into(),
            ],
        })
        .await
        .unwrap();
    let tl::enums::messages::Messages::ChannelMessages(m) = msgs else {
        panic!()
    };
    assert!(matches!(&m.messages[0], tl::enums::Message::Message(x) if x.id == post));
    assert!(matches!(&m.messages[1], tl::enums::Message::Empty(x) if x.id == 999));
    let msgs = bot
        .client
        .invoke(&tl::functions::messages::GetMessages {
            id: vec![tl::types::InputMessageId { id: 4242 }.into()],
        })
        .await
        .unwrap();
    let tl::enums::messages::Messages::Messages(m) = msgs else {
        panic!()
    };
    assert!(matches!(&m.messages[0], tl::enums::Message::Empty(x) if x.id == 4242));

    // getFullChannel: the discussion group and the member count.
    let full = bot
        .client
        .invoke(&tl::functions::channels::GetFullChannel {
            channel: input_channel(chan, chan_hash),
        })
        .await
        .unwrap();
    let tl::enums::messages::ChatFull::Full(full) = full;
    let tl::enums::ChatFull::ChannelFull(full) = full.full_chat else {
        panic!()
    };
    assert_eq!(full.linked_chat_id, Some(group));
    assert_eq!(full.participants_count, Some(2)); // owner + alice

    // t.me/+HASH: the owner makes links through the control API.
    let made = http_async(
        &ctl,
        "POST",
        "/invite_links",
        Some(json!({"chat": private, "hash": "AbC_123-x"})),
    )
    .await;
    assert_eq!(made["link"], "https://t.me/+AbC_123-x");
    assert_eq!(made["hash"], "AbC_123-x");
    let req = http_async(
        &ctl,
        "POST",
        "/invite_links",
        Some(json!({"chat": group, "request_needed": true})),
    )
    .await;
    let req_hash = req["hash"].as_str().unwrap().to_string();
    assert!(!req_hash.is_empty());
    let (code, _) = tokio::task::spawn_blocking({
        let ctl = ctl.clone();
        move || {
            call(
                &ctl,
                "POST",
                "/invite_links",
                Some(json!({"chat": private, "hash": "AbC_123-x"})),
            )
        }
    })
    .await
    .unwrap();
    assert_eq!(code, 400, "duplicate hash");
    assert!(sim.invite_links().is_empty(), "not the bot's links");
    // A bot cannot check invite links ("Only users can use this method").
    let err = bot
        .client
        .invoke(&tl::functions::messages::CheckChatInvite {
            hash: "AbC_123-x".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(rpc_name(&err), "BOT_METHOD_INVALID");

    // A user account (here: Alice's advertiser colleague, the owner account) can.
    let session = Arc::new(grammers_session::storages::MemorySession::default());
    let (user, _h, _u, _t) = connect(&sim, session, sim.new_auth_key()).await;
    let token = user
        .request_login_code("+10000000002", "hash")
        .await
        .unwrap();
    user.sign_in(&token, "12345").await.unwrap();
    let check = |hash: &str| {
        let user = user.clone();
        let hash = hash.to_string();
        async move {
            user.invoke(&tl::functions::messages::CheckChatInvite { hash })
                .await
        }
    };
    // The owner is in `private`: chatInviteAlready with the chat.
    match check("AbC_123-x").await.unwrap() {
        tl::enums::ChatInvite::Already(a) => {
            assert!(matches!(a.chat, tl::enums::Chat::Channel(ref c) if c.id == private))
        }
        other => panic!("{other:?}"),
    }
    match check(&req_hash).await.unwrap() {
        tl::enums::ChatInvite::Invite(i) => {
            assert_eq!(i.title, "Promo chat");
            assert!(i.channel && i.megagroup && !i.broadcast && i.request_needed && i.public);
            assert_eq!(i.participants_count, 0);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        rpc_name(&check("nope").await.unwrap_err()),
        "INVITE_HASH_INVALID"
    );
    let revoked = http_async(
        &ctl,
        "POST",
        "/invite_links",
        Some(json!({"chat": group, "revoked": true})),
    )
    .await;
    assert_eq!(
        rpc_name(&check(revoked["hash"].as_str().unwrap()).await.unwrap_err()),
        "INVITE_HASH_EXPIRED"
    );

    // Users join through any spelling of the link; the bot (a member without rights in
    // `private`... here not in it) sees nothing, the membership is real.
    let out = http_async(
        &ctl,
        "POST",
        "/actions/join_link",
        Some(json!({"user": alice, "link": "t.me/joinchat/AbC_123-x"})),
    )
    .await;
    assert_eq!(out["outcome"], "joined");
    assert!(sim.is_member(private, alice));
    let _ = &mut bot;
}
