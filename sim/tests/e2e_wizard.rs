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
