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
use grammers_client::message::{Button, InputMessage, ReplyMarkup};
use grammers_client::update::Update;
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
        // grammers moves the number of e.g. FILE_PART_1_MISSING into `value`.
        InvocationError::Rpc(r) => match r.value {
            Some(v) => format!("{}({v})", r.name),
            None => r.name.clone(),
        },
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

fn xtr_invoice(amount: i64, payload: &str) -> tl::types::InputMediaInvoice {
    tl::types::InputMediaInvoice {
        title: "Ad campaign".into(),
        description: "1,000 clicks".into(),
        photo: None,
        invoice: tl::types::Invoice {
            test: false,
            name_requested: false,
            phone_requested: false,
            email_requested: false,
            shipping_address_requested: false,
            flexible: false,
            phone_to_provider: false,
            email_to_provider: false,
            recurring: false,
            currency: "XTR".into(),
            prices: vec![tl::types::LabeledPrice {
                label: "Campaign".into(),
                amount,
            }
            .into()],
            max_tip_amount: None,
            suggested_tip_amounts: None,
            terms_url: None,
            subscription_period: None,
        }
        .into(),
        payload: payload.as_bytes().to_vec(),
        provider: None,
        provider_data: tl::types::DataJson { data: "{}".into() }.into(),
        start_param: None,
        extended_media: None,
    }
}

async fn precheckout(bot: &mut Bot) -> tl::types::UpdateBotPrecheckoutQuery {
    bot.next_matching(|u| match u {
        Update::Raw(r) => match &r.raw {
            tl::enums::Update::BotPrecheckoutQuery(q) => Some(q.clone()),
            _ => None,
        },
        _ => None,
    })
    .await
}

async fn answer_precheckout(bot: &Bot, query_id: i64, error: Option<&str>) {
    bot.client
        .invoke(&tl::functions::messages::SetBotPrecheckoutResults {
            success: error.is_none(),
            query_id,
            error: error.map(str::to_string),
        })
        .await
        .unwrap();
}

/// Invoices to advertisers: paid, declined with the bot's message (no payment), abandoned,
/// refunded once (twice is CHARGE_ALREADY_REFUNDED), all visible through the control API.
#[tokio::test]
async fn invoices_declines_abandons_and_refunds() {
    let (sim, ctl) = sim_with_control(SimConfig {
        precheckout_timeout: std::time::Duration::from_secs(5),
        ..SimConfig::default()
    });
    let adv = sim.add_user(UserSpec::new("Advertiser")).unwrap();
    let other = sim.add_user(UserSpec::new("Other")).unwrap();
    let mut bot = bot(&sim).await;
    http_async(&ctl, "POST", "/actions/start", Some(json!({"user": adv}))).await;
    let peer = bot
        .next_message()
        .await
        .peer()
        .unwrap()
        .to_ref()
        .await
        .unwrap()
        .unwrap();
    http_async(&ctl, "POST", "/actions/start", Some(json!({"user": other}))).await;
    bot.next_message().await;

    let send = |amount: i64, payload: &'static str| {
        let client = bot.client.clone();
        async move {
            client
                .send_message(
                    peer,
                    InputMessage::new()
                        .text("")
                        .media(xtr_invoice(amount, payload)),
                )
                .await
                .unwrap()
                .id()
        }
    };
    let paid = send(300, "camp-1").await;
    let declined = send(500, "camp-2").await;
    let abandoned = send(700, "camp-3").await;
    let sent = http_async(&ctl, "GET", &format!("/sent/{adv}"), None).await;
    assert_eq!(sent.as_array().unwrap().len(), 3);
    assert_eq!(sent[0]["media"]["type"], "invoice");
    assert_eq!(sent[0]["media"]["amount"], 300);

    // Only the advertiser can pay the invoices sent to them.
    let (code, _) = tokio::task::spawn_blocking({
        let ctl = ctl.clone();
        move || {
            call(
                &ctl,
                "POST",
                "/actions/pay",
                Some(json!({"user": other, "msg_id": paid})),
            )
        }
    })
    .await
    .unwrap();
    assert_eq!(code, 400);

    // Paid.
    let pay = {
        let ctl = ctl.clone();
        tokio::task::spawn_blocking(move || {
            http(
                &ctl,
                "POST",
                "/actions/pay",
                Some(json!({"user": adv, "msg_id": paid, "wait_ms": 5000})),
            )
        })
    };
    let q = precheckout(&mut bot).await;
    assert_eq!(
        (q.total_amount, q.payload.as_slice()),
        (300, &b"camp-1"[..])
    );
    answer_precheckout(&bot, q.query_id, None).await;
    let pay = pay.await.unwrap();
    assert_eq!(pay["outcome"]["outcome"], "paid");
    let charge = pay["outcome"]["charge_id"].as_str().unwrap().to_string();
    let m = bot.next_message().await;
    assert!(
        matches!(m.action(), Some(tl::enums::MessageAction::PaymentSentMe(p)) if p.total_amount == 300)
    );

    // Declined by the bot with a message: no payment, the message is visible.
    let pay2 = http_async(
        &ctl,
        "POST",
        "/actions/pay",
        Some(json!({"user": adv, "msg_id": declined})),
    )
    .await;
    let q = precheckout(&mut bot).await;
    answer_precheckout(&bot, q.query_id, Some("Campaign sold out")).await;
    let id2 = pay2["payment_id"].as_i64().unwrap();
    let out = http_async(&ctl, "GET", &format!("/payments/{id2}?wait_ms=3000"), None).await;
    assert_eq!(out["outcome"]["outcome"], "declined");
    assert_eq!(out["outcome"]["error"], "Campaign sold out");
    assert_eq!(out["payment"]["amount"], 500);
    let obs = http_async(&ctl, "GET", "/observations", None).await;
    let answers = obs["precheckout_answers"].as_array().unwrap();
    assert_eq!(answers[1]["ok"], false);
    assert_eq!(answers[1]["error"], "Campaign sold out");

    // The bot's Stars: only the paid invoice counts.
    let stars = |client: grammers_client::Client| async move {
        let tl::enums::payments::StarsStatus::Status(s) = client
            .invoke(&tl::functions::payments::GetStarsStatus {
                ton: false,
                peer: tl::enums::InputPeer::PeerSelf,
            })
            .await
            .unwrap();
        match s.balance {
            tl::enums::StarsAmount::Amount(a) => a.amount,
            other => panic!("{other:?}"),
        }
    };
    assert_eq!(stars(bot.client.clone()).await, 300);

    // Refund once; twice is refused.
    let refund = || {
        let client = bot.client.clone();
        let charge_id = charge.clone();
        async move {
            client
                .invoke(&tl::functions::payments::RefundStarsCharge {
                    user_id: tl::types::InputUser {
                        user_id: adv,
                        access_hash: tgsim::world::access_hash(adv),
                    }
                    .into(),
                    charge_id,
                })
                .await
        }
    };
    refund().await.unwrap();
    assert_eq!(
        rpc_name(&refund().await.unwrap_err()),
        "CHARGE_ALREADY_REFUNDED"
    );
    assert_eq!(stars(bot.client.clone()).await, 0);

    // The advertiser's payments: paid+refunded, declined; the abandoned invoice has none.
    let list = http_async(&ctl, "GET", &format!("/payments?user={adv}"), None).await;
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(list[0]["msg_id"], paid);
    assert_eq!(list[0]["outcome"]["outcome"], "paid");
    assert_eq!(list[0]["refunded"], true);
    assert_eq!(list[0]["payload"], "camp-1");
    assert_eq!(list[1]["msg_id"], declined);
    assert_eq!(list[1]["refunded"], false);
    assert!(list.iter().all(|p| p["msg_id"] != abandoned));
    let obs = http_async(&ctl, "GET", "/observations", None).await;
    assert_eq!(obs["refunds"][0]["charge_id"], charge.as_str());
}

/// Edits (text, keyboard, keyboard removed) show in `/sent`, with button data and labels;
/// pressing by label uses the edited keyboard; the callback answer comes back on the press.
#[tokio::test]
async fn edits_buttons_by_label_and_callback_answers() {
    let (sim, ctl) = sim_with_control(SimConfig::default());
    let adv = sim.add_user(UserSpec::new("Advertiser")).unwrap();
    let mut bot = bot(&sim).await;
    http_async(
        &ctl,
        "POST",
        "/actions/text",
        Some(json!({"user": adv, "text": "/ads"})),
    )
    .await;
    let m = bot.next_message().await;
    assert_eq!(m.text(), "/ads");
    let peer = m.peer().unwrap().to_ref().await.unwrap().unwrap();
    let sent = bot
        .client
        .send_message(
            peer,
            InputMessage::new()
                .text("Pick a goal")
                .reply_markup(ReplyMarkup::from_buttons(&[
                    vec![
                        Button::data("Subscribers", b"goal:sub".to_vec()),
                        Button::data("Views", vec![0xff, 0x00, 0x01]),
                    ],
                    vec![Button::url("Help", "https://example.com/help")],
                ])),
        )
        .await
        .unwrap();
    let s = http_async(&ctl, "GET", &format!("/sent/{adv}"), None).await;
    let b = &s[0]["buttons"];
    assert_eq!(s[0]["edited"], false);
    assert_eq!(b[0][0]["text"], "Subscribers");
    assert_eq!(b[0][0]["kind"], "callback");
    assert_eq!(b[0][0]["data"], "goal:sub");
    assert_eq!(b[0][0]["data_b64"], "Z29hbDpzdWI=");
    assert!(b[0][1].get("data").is_none(), "not UTF-8");
    assert_eq!(b[0][1]["data_b64"], "/wAB");
    assert_eq!(b[1][0]["kind"], "url");

    // Press by label and by binary data; the alert comes back with the press.
    let press = {
        let ctl = ctl.clone();
        let sent_id = sent.id();
        tokio::task::spawn_blocking(move || {
            http(
                &ctl,
                "POST",
                "/actions/press",
                Some(
                    json!({"user": adv, "msg_id": sent_id, "label": "Subscribers", "wait_ms": 5000}),
                ),
            )
        })
    };
    let q = bot
        .next_matching(|u| match u {
            Update::CallbackQuery(q) => Some(q.clone()),
            _ => None,
        })
        .await;
    assert_eq!(q.data(), b"goal:sub");
    q.answer().alert("Budget too low").send().await.unwrap();
    let press = press.await.unwrap();
    assert_eq!(press["answer"]["message"], "Budget too low");
    assert_eq!(press["answer"]["alert"], true);
    let qid = press["query_id"].as_i64().unwrap();
    let a = http_async(&ctl, "GET", &format!("/callback_answers/{qid}"), None).await;
    assert_eq!(a["answer"]["message"], "Budget too low");
    let p = http_async(
        &ctl,
        "POST",
        "/actions/press",
        Some(json!({"user": adv, "msg_id": sent.id(), "data_b64": "/wAB"})),
    )
    .await;
    let q = bot
        .next_matching(|u| match u {
            Update::CallbackQuery(q) => Some(q.clone()),
            _ => None,
        })
        .await;
    assert_eq!(q.data(), &[0xff, 0x00, 0x01]);
    let unanswered = http_async(
        &ctl,
        "GET",
        &format!("/callback_answers/{}?wait_ms=50", p["query_id"]),
        None,
    )
    .await;
    assert!(unanswered["answer"].is_null());
    q.answer().send().await.unwrap();

    // Edit the keyboard only (text kept), then press the new button by label.
    bot.client
        .edit_message(
            peer,
            sent.id(),
            InputMessage::new().reply_markup(ReplyMarkup::from_buttons(&[vec![Button::data(
                "Confirm 300 ⭐",
                b"confirm:300".to_vec(),
            )]])),
        )
        .await
        .unwrap();
    let s = http_async(&ctl, "GET", &format!("/sent/{adv}"), None).await;
    assert_eq!(s[0]["text"], "Pick a goal");
    assert_eq!(s[0]["edited"], true);
    assert_eq!(s[0]["edits"], 1);
    assert_eq!(s[0]["buttons"][0][0]["text"], "Confirm 300 ⭐");
    // The old buttons are gone.
    let (code, _) = tokio::task::spawn_blocking({
        let ctl = ctl.clone();
        let id = sent.id();
        move || {
            call(
                &ctl,
                "POST",
                "/actions/press",
                Some(json!({"user": adv, "msg_id": id, "label": "Subscribers"})),
            )
        }
    })
    .await
    .unwrap();
    assert_eq!(code, 400);
    http_async(
        &ctl,
        "POST",
        "/actions/press",
        Some(json!({"user": adv, "msg_id": sent.id(), "label": "Confirm 300 ⭐"})),
    )
    .await;
    let q = bot
        .next_matching(|u| match u {
            Update::CallbackQuery(q) => Some(q.clone()),
            _ => None,
        })
        .await;
    assert_eq!(q.data(), b"confirm:300");
    q.answer().text("Confirmed").send().await.unwrap();

    // Edit the text without a keyboard: the keyboard is removed, as in Telegram.
    bot.client
        .edit_message(
            peer,
            sent.id(),
            InputMessage::new().text("Campaign confirmed"),
        )
        .await
        .unwrap();
    let s = http_async(&ctl, "GET", &format!("/sent/{adv}"), None).await;
    assert_eq!(s[0]["text"], "Campaign confirmed");
    assert_eq!(s[0]["edits"], 2);
    assert_eq!(s[0]["buttons"], json!([]));
    let obs = sim.observations();
    assert_eq!(obs.callback_answers.len(), 3);
}

fn png(w: u32, h: u32) -> Vec<u8> {
    let mut b = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
    b.extend_from_slice(&w.to_be_bytes());
    b.extend_from_slice(&h.to_be_bytes());
    b.extend_from_slice(&[8, 6, 0, 0, 0, 0x12, 0x34, 0x56, 0x78]);
    b.extend((0..3000u32).map(|i| (i * 7 % 251) as u8));
    b
}

fn b64_decode(v: &Value) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD
        .decode(v.as_str().unwrap())
        .unwrap()
}

/// PNG charts and CSV exports: uploaded by the real grammers client (saveFilePart, and
/// saveBigFilePart over 10 MB), sent as photo / document with a caption, read back byte for
/// byte through the control API.
#[tokio::test]
async fn uploads_photos_and_documents() {
    let (sim, ctl) = sim_with_control(SimConfig::default());
    let admin = sim.add_user(UserSpec::new("Admin")).unwrap();
    let mut bot = bot(&sim).await;
    http_async(
        &ctl,
        "POST",
        "/actions/text",
        Some(json!({"user": admin, "text": "/statistic"})),
    )
    .await;
    let peer = bot
        .next_message()
        .await
        .peer()
        .unwrap()
        .to_ref()
        .await
        .unwrap()
        .unwrap();

    // A PNG chart as a photo.
    let chart = png(640, 480);
    let up = bot
        .client
        .upload_stream(
            &mut std::io::Cursor::new(chart.clone()),
            chart.len(),
            "chart.png".into(),
        )
        .await
        .unwrap();
    let photo_msg = bot
        .client
        .send_message(
            peer,
            InputMessage::new().text("Clicks, last 7 days").photo(up),
        )
        .await
        .unwrap();
    match photo_msg.media() {
        Some(grammers_client::media::Media::Photo(p)) => assert!(p.id() != 0),
        other => panic!("{other:?}"),
    }

    // A CSV export as a document (mime type from the name).
    let csv = b"date,clicks,joins\n2026-12-01,120,31\n2026-12-02,98,20\n".to_vec();
    let up = bot
        .client
        .upload_stream(
            &mut std::io::Cursor::new(csv.clone()),
            csv.len(),
            "stats.csv".into(),
        )
        .await
        .unwrap();
    let csv_msg = bot
        .client
        .send_message(peer, InputMessage::new().text("Export").document(up))
        .await
        .unwrap();
    match csv_msg.media() {
        Some(grammers_client::media::Media::Document(d)) => {
            assert_eq!(d.name(), Some("stats.csv"));
            assert_eq!(d.mime_type(), Some("text/csv"));
            assert_eq!(d.size(), Some(csv.len()));
        }
        other => panic!("{other:?}"),
    }

    // Over 10 MB: grammers switches to saveBigFilePart (4 parallel workers, parts out of order).
    let big: Vec<u8> = (0..(10 * 1024 * 1024 + 300_000u32))
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    let up = bot
        .client
        .upload_stream(
            &mut std::io::Cursor::new(big.clone()),
            big.len(),
            "all_clicks.csv".into(),
        )
        .await
        .unwrap();
    assert!(matches!(up.raw, tl::enums::InputFile::Big(_)));
    let big_msg = bot
        .client
        .send_message(peer, InputMessage::new().text("").document(up))
        .await
        .unwrap();

    // The control API: the list, then each file's exact bytes.
    let list = http_async(&ctl, "GET", &format!("/files/{admin}"), None).await;
    let list = list.as_array().unwrap().clone();
    assert_eq!(list.len(), 3);
    assert_eq!(list[0]["msg_id"], photo_msg.id());
    assert_eq!(list[0]["kind"], "photo");
    assert_eq!(list[0]["file_name"], "chart.png");
    assert_eq!(list[0]["mime_type"], "image/png");
    assert_eq!(
        (list[0]["width"].clone(), list[0]["height"].clone()),
        (json!(640), json!(480))
    );
    assert_eq!(list[0]["caption"], "Clicks, last 7 days");
    assert_eq!(list[1]["kind"], "document");
    assert_eq!(list[1]["file_name"], "stats.csv");
    assert_eq!(list[1]["mime_type"], "text/csv");
    assert_eq!(list[1]["size"], csv.len());
    assert_eq!(list[2]["size"], big.len());
    let f = http_async(
        &ctl,
        "GET",
        &format!("/file/{}?user={admin}", photo_msg.id()),
        None,
    )
    .await;
    assert_eq!(b64_decode(&f["data_b64"]), chart);
    let f = http_async(
        &ctl,
        "GET",
        &format!("/file/{}?peer={admin}", csv_msg.id()),
        None,
    )
    .await;
    let text = String::from_utf8(b64_decode(&f["data_b64"])).unwrap();
    assert_eq!(text.lines().nth(1), Some("2026-12-01,120,31"));
    let f = http_async(
        &ctl,
        "GET",
        &format!("/file/{}?user={admin}", big_msg.id()),
        None,
    )
    .await;
    assert!(b64_decode(&f["data_b64"]) == big);
    // In /sent too, as media of the message.
    let sent = http_async(&ctl, "GET", &format!("/sent/{admin}"), None).await;
    assert_eq!(sent[0]["media"]["type"], "photo");
    assert_eq!(sent[1]["media"]["type"], "document");
    assert_eq!(sent[1]["media"]["file_name"], "stats.csv");
    assert_eq!(sent[0]["text"], "Clicks, last 7 days");
}

/// Upload errors as Telegram documents them.
#[tokio::test]
async fn upload_errors() {
    let (sim, ctl) = sim_with_control(SimConfig::default());
    let admin = sim.add_user(UserSpec::new("Admin")).unwrap();
    let mut bot = bot(&sim).await;
    http_async(
        &ctl,
        "POST",
        "/actions/text",
        Some(json!({"user": admin, "text": "/statistic"})),
    )
    .await;
    bot.next_message().await;
    let save = |file_id: i64, part: i32, bytes: Vec<u8>| {
        let c = bot.client.clone();
        async move {
            c.invoke(&tl::functions::upload::SaveFilePart {
                file_id,
                file_part: part,
                bytes,
            })
            .await
            .map_err(|e| rpc_name(&e))
        }
    };
    let save_big = |file_id: i64, part: i32, total: i32, bytes: Vec<u8>| {
        let c = bot.client.clone();
        async move {
            c.invoke(&tl::functions::upload::SaveBigFilePart {
                file_id,
                file_part: part,
                file_total_parts: total,
                bytes,
            })
            .await
            .map_err(|e| rpc_name(&e))
        }
    };
    assert_eq!(save(1, 0, vec![]).await.unwrap_err(), "FILE_PART_EMPTY");
    assert_eq!(save(1, -1, vec![1]).await.unwrap_err(), "FILE_PART_INVALID");
    assert_eq!(
        save(1, 0, vec![0; 512 * 1024 + 1]).await.unwrap_err(),
        "FILE_PART_TOO_BIG"
    );
    assert_eq!(
        save_big(2, 0, 0, vec![1; 1024]).await.unwrap_err(),
        "FILE_PARTS_INVALID"
    );
    assert_eq!(
        save_big(2, 5, 3, vec![1; 1024]).await.unwrap_err(),
        "FILE_PART_INVALID"
    );
    assert_eq!(
        save_big(2, 0, 3, vec![1; 1000]).await.unwrap_err(),
        "FILE_PART_SIZE_INVALID"
    );
    assert!(save_big(2, 0, 3, vec![1; 1024]).await.unwrap());
    assert_eq!(
        save_big(2, 1, 3, vec![1; 2048]).await.unwrap_err(),
        "FILE_PART_SIZE_CHANGED"
    );
    assert_eq!(
        save_big(2, 1, 4, vec![1; 1024]).await.unwrap_err(),
        "FILE_PARTS_INVALID"
    );

    let peer: tl::enums::InputPeer = tl::types::InputPeerUser {
        user_id: admin,
        access_hash: tgsim::world::access_hash(admin),
    }
    .into();
    let send = |file: tl::enums::InputFile, photo: bool| {
        let c = bot.client.clone();
        let peer = peer.clone();
        async move {
            let media: tl::enums::InputMedia = if photo {
                tl::types::InputMediaUploadedPhoto {
                    spoiler: false,
                    live_photo: false,
                    file,
                    stickers: None,
                    ttl_seconds: None,
                    video: None,
                }
                .into()
            } else {
                tl::types::InputMediaUploadedDocument {
                    nosound_video: false,
                    force_file: true,
                    spoiler: false,
                    file,
                    thumb: None,
                    mime_type: "text/csv".into(),
                    attributes: vec![],
                    stickers: None,
                    video_cover: None,
                    video_timestamp: None,
                    ttl_seconds: None,
                }
                .into()
            };
            c.invoke(&tl::functions::messages::SendMedia {
                silent: false,
                background: false,
                clear_draft: false,
                noforwards: false,
                update_stickersets_order: false,
                invert_media: false,
                allow_paid_floodskip: false,
                peer,
                reply_to: None,
                media,
                message: String::new(),
                random_id: 77,
                reply_markup: None,
                entities: None,
                schedule_date: None,
                schedule_repeat_period: None,
                send_as: None,
                quick_reply_shortcut: None,
                effect: None,
                allow_paid_stars: None,
                suggested_post: None,
            })
            .await
            .map_err(|e| rpc_name(&e))
        }
    };
    let file = |id: i64, parts: i32, md5: &str| -> tl::enums::InputFile {
        tl::types::InputFile {
            id,
            parts,
            name: "x.csv".into(),
            md5_checksum: md5.into(),
        }
        .into()
    };
    // Part 1 never uploaded.
    assert!(save(3, 0, vec![b'a'; 1024]).await.unwrap());
    assert_eq!(
        send(file(3, 2, ""), false).await.unwrap_err(),
        "FILE_PART_MISSING(1)"
    );
    assert_eq!(
        send(file(99, 1, ""), false).await.unwrap_err(),
        "FILE_PART_MISSING(0)"
    );
    // A wrong MD5; then the right one (md5 of 1024 'a').
    assert!(send(file(3, 1, "00"), false)
        .await
        .unwrap_err()
        .starts_with("MD5_CHECKSUM_INVALID"));
    assert_eq!(
        send(file(3, 1, ""), true).await.unwrap_err(),
        "IMAGE_PROCESS_FAILED"
    );
    send(file(3, 1, ""), false).await.unwrap();
    // The document got the upload's name, since no filename attribute was given.
    let files = sim.files_sent_to(admin);
    assert_eq!(files.len(), 1);
    assert_eq!(
        (files[0].file_name.as_str(), files[0].size),
        ("x.csv", 1024)
    );
    assert_eq!(files[0].bytes, vec![b'a'; 1024]);
}
