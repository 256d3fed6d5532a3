//! Update-engine behaviour against the real grammers client: channel participants (qts), gap
//! recovery after a dropped push, catch-up after downtime, reconnect after a kick, and several
//! clients at once.

mod common;

use std::sync::Arc;

use common::*;
use grammers_client::update::Update;
use grammers_client::InvocationError;
use grammers_tl_types as tl;
use tgsim::{AdminRights, ChatSpec, Sim, SimConfig, UserSpec};

fn sim() -> Sim {
    Sim::start(SimConfig::default()).unwrap()
}

fn input_channel(id: i64) -> tl::enums::InputChannel {
    tl::types::InputChannel {
        channel_id: id,
        access_hash: tgsim::world::access_hash(id),
    }
    .into()
}

fn input_user_peer(id: i64) -> tl::enums::InputPeer {
    tl::types::InputPeerUser {
        user_id: id,
        access_hash: tgsim::world::access_hash(id),
    }
    .into()
}

#[tokio::test]
async fn channel_join_leave_and_get_participant() {
    let sim = sim();
    let alice = sim.add_user(UserSpec::new("Alice")).unwrap();
    let admin_chan = sim
        .add_channel(ChatSpec::new("News").username("news"))
        .unwrap();
    let plain_chan = sim.add_channel(ChatSpec::new("Other")).unwrap();
    sim.set_bot_admin(admin_chan, AdminRights::all()).unwrap();
    let mut bot = bot(&sim).await;

    // The bot resolves the channel and learns its access hash.
    let peer = bot.client.resolve_username("news").await.unwrap().unwrap();
    assert_eq!(peer.id().bare_id_unchecked(), admin_chan);

    // A join where the bot is not admin sends nothing; the admin channel's join arrives by qts.
    sim.user_join(alice, plain_chan).unwrap();
    sim.user_join(alice, admin_chan).unwrap();
    match bot.next_raw().await {
        tl::enums::Update::ChannelParticipant(u) => {
            assert_eq!((u.channel_id, u.user_id), (admin_chan, alice));
            assert!(u.new_participant.is_some() && u.prev_participant.is_none());
        }
        other => panic!("unexpected {other:?}"),
    }
    let p = bot
        .client
        .invoke(&tl::functions::channels::GetParticipant {
            channel: input_channel(admin_chan),
            participant: input_user_peer(alice),
        })
        .await
        .unwrap();
    let tl::enums::channels::ChannelParticipant::Participant(p) = p;
    assert!(
        matches!(p.participant, tl::enums::ChannelParticipant::Participant(ref x) if x.user_id == alice)
    );

    // Not admin: CHAT_ADMIN_REQUIRED; non-member: USER_NOT_PARTICIPANT.
    sim.set_bot_member(plain_chan).unwrap();
    let err = bot
        .client
        .invoke(&tl::functions::channels::GetParticipant {
            channel: input_channel(plain_chan),
            participant: input_user_peer(alice),
        })
        .await
        .unwrap_err();
    assert!(
        matches!(&err, InvocationError::Rpc(e) if e.name == "CHAT_ADMIN_REQUIRED"),
        "{err:?}"
    );

    sim.user_leave(alice, admin_chan).unwrap();
    match bot.next_raw().await {
        tl::enums::Update::ChannelParticipant(u) => {
            assert!(u.new_participant.is_none() && u.prev_participant.is_some())
        }
        other => panic!("unexpected {other:?}"),
    }
    let err = bot
        .client
        .invoke(&tl::functions::channels::GetParticipant {
            channel: input_channel(admin_chan),
            participant: input_user_peer(alice),
        })
        .await
        .unwrap_err();
    assert!(
        matches!(&err, InvocationError::Rpc(e) if e.name == "USER_NOT_PARTICIPANT"),
        "{err:?}"
    );

    // channels.getChannels / getFullChannel work with the cached hash.
    let chats = bot
        .client
        .invoke(&tl::functions::channels::GetChannels {
            id: vec![input_channel(admin_chan)],
        })
        .await
        .unwrap();
    let tl::enums::messages::Chats::Chats(c) = chats else {
        panic!()
    };
    assert_eq!(c.chats.len(), 1);
    bot.client
        .invoke(&tl::functions::channels::GetFullChannel {
            channel: input_channel(admin_chan),
        })
        .await
        .unwrap();
}

#[tokio::test]
async fn gap_after_dropped_push_is_recovered() {
    let sim = sim();
    let alice = sim.add_user(UserSpec::new("Alice")).unwrap();
    let mut bot = bot(&sim).await;
    sim.user_send_text(alice, "one").unwrap();
    assert_eq!(bot.next_message().await.text(), "one");
    sim.drop_next_push();
    sim.user_send_text(alice, "two (lost)").unwrap();
    sim.user_send_text(alice, "three").unwrap();
    // The seq gap makes grammers call getDifference, which replays the lost message.
    assert_eq!(bot.next_message().await.text(), "two (lost)");
    assert_eq!(bot.next_message().await.text(), "three");
    sim.user_send_text(alice, "four").unwrap();
    assert_eq!(bot.next_message().await.text(), "four");
}

#[tokio::test]
async fn catch_up_after_downtime() {
    let sim = sim();
    let alice = sim.add_user(UserSpec::new("Alice")).unwrap();
    let group = sim.add_supergroup(ChatSpec::new("Group")).unwrap();
    sim.set_bot_admin(group, AdminRights::all()).unwrap();
    sim.add_member(group, alice).unwrap();
    let mut bot = bot(&sim).await;
    sim.user_start_bot(alice, Some("first")).unwrap();
    bot.next_message().await;
    let first = sim.send_group_message(group, alice, "group hello").unwrap();
    bot.next_message().await;
    let session = bot.stop().await;

    // While the bot is offline.
    sim.user_send_text(alice, "while away").unwrap();
    sim.user_react(alice, group, first, "👍").unwrap();
    sim.send_group_message(group, alice, "group while away")
        .unwrap();
    let carol = sim.add_user(UserSpec::new("Carol")).unwrap();
    sim.user_join(carol, group).unwrap();

    let mut bot = bot_on(&sim, session, false).await;
    let mut texts = Vec::new();
    let mut raws = Vec::new();
    while texts.len() < 2 || raws.len() < 2 {
        let u = bot.next().await;
        match u {
            Update::NewMessage(m) if !m.outgoing() && !m.text().is_empty() => {
                texts.push(m.text().to_string());
            }
            Update::Raw(r) => match r.raw {
                tl::enums::Update::BotMessageReaction(_)
                | tl::enums::Update::ChannelParticipant(_) => raws.push(r.raw),
                _ => {}
            },
            _ => {}
        }
    }
    texts.sort();
    assert_eq!(texts, vec!["group while away", "while away"]);
}

#[tokio::test]
async fn reconnect_after_kick_catches_up() {
    let sim = sim();
    let alice = sim.add_user(UserSpec::new("Alice")).unwrap();
    let mut bot = bot(&sim).await;
    sim.user_send_text(alice, "before").unwrap();
    bot.next_message().await;
    sim.kick_connections();
    sim.user_send_text(alice, "during").unwrap();
    // Any call makes grammers reconnect; the ConnectionClosed gap triggers getDifference.
    let me = bot.client.get_me().await.unwrap();
    assert_eq!(me.id().bare_id_unchecked(), sim.bot_id());
    assert_eq!(bot.next_message().await.text(), "during");
}

#[tokio::test]
async fn several_clients_at_once() {
    let sim = sim();
    let alice = sim.add_user(UserSpec::new("Alice")).unwrap();
    let mut a = bot(&sim).await;
    // A second client with its own auth key, logged in as the same bot.
    let session = Arc::new(grammers_session::storages::MemorySession::default());
    let key = sim.new_auth_key();
    let (client, handle, updates, task) = connect(&sim, session.clone(), key).await;
    client.bot_sign_in(&sim.bot_token(), "hash").await.unwrap();
    let stream = client
        .stream_updates(
            updates,
            grammers_mtsender::UpdatesConfiguration { catch_up: true },
        )
        .await
        .unwrap();
    let mut b = Bot {
        client,
        stream,
        session,
        handle,
        task,
    };
    assert!(sim.connection_count() >= 2);
    sim.user_send_text(alice, "to everyone").unwrap();
    assert_eq!(a.next_message().await.text(), "to everyone");
    assert_eq!(b.next_message().await.text(), "to everyone");
    // Both clients make calls concurrently.
    let (x, y) = tokio::join!(a.client.get_me(), b.client.get_me());
    assert_eq!(x.unwrap().id(), y.unwrap().id());
}

#[tokio::test]
async fn channel_gap_is_recovered_with_get_channel_difference() {
    let sim = sim();
    let alice = sim.add_user(UserSpec::new("Alice")).unwrap();
    let group = sim.add_supergroup(ChatSpec::new("Group")).unwrap();
    let chan = sim.add_channel(ChatSpec::new("Chan")).unwrap();
    sim.set_bot_admin(group, AdminRights::all()).unwrap();
    sim.set_bot_admin(chan, AdminRights::all()).unwrap();
    sim.add_member(group, alice).unwrap();
    let mut bot = bot(&sim).await;
    sim.send_group_message(group, alice, "one").unwrap();
    assert_eq!(bot.next_message().await.text(), "one");
    sim.drop_next_push();
    sim.send_group_message(group, alice, "two (lost)").unwrap();
    sim.send_group_message(group, alice, "three").unwrap();
    // A channel pts gap is held for 0.5 s, then getChannelDifference fills it.
    assert_eq!(bot.next_message().await.text(), "two (lost)");
    assert_eq!(bot.next_message().await.text(), "three");

    // The bot posts into the channel and edits the post.
    let peer = bot.client.resolve_username("nonexistent").await.unwrap();
    assert!(peer.is_none());
    let chan_ref = grammers_session::types::PeerRef {
        id: grammers_session::types::PeerId::channel_unchecked(chan),
        auth: grammers_session::types::PeerAuth::from_hash(tgsim::world::access_hash(chan)),
    };
    let post = bot
        .client
        .send_message(chan_ref, "announcement")
        .await
        .unwrap();
    bot.client
        .edit_message(chan_ref, post.id(), "announcement (edited)")
        .await
        .unwrap();
    let obs = sim.observations();
    let m = obs
        .messages
        .iter()
        .find(|m| m.peer == tgsim::PeerKey::Channel(chan))
        .unwrap();
    assert_eq!((m.text.as_str(), m.edits), ("announcement (edited)", 1));
    // The next live channel update still applies (no spurious gap).
    sim.send_group_message(group, alice, "four").unwrap();
    assert_eq!(bot.next_message().await.text(), "four");
}

#[tokio::test]
async fn long_downtime_is_caught_up_in_slices() {
    let sim = sim();
    let alice = sim.add_user(UserSpec::new("Alice")).unwrap();
    let bob = sim.add_user(UserSpec::new("Bob")).unwrap();
    let chan = sim.add_channel(ChatSpec::new("Chan")).unwrap();
    sim.set_bot_admin(chan, AdminRights::all()).unwrap();
    let bot = bot(&sim).await;
    let session = bot.stop().await;
    // More than two slices of account updates (messages and qts joins) while offline.
    let n = 2 * tgsim::rpc::DIFFERENCE_SLICE + 300;
    for i in 0..n {
        sim.user_send_text(alice, &format!("m{i}")).unwrap();
    }
    sim.user_join(bob, chan).unwrap();
    let mut bot = bot_on(&sim, session, false).await;
    // grammers hands out a difference's other_updates before its new_messages, so the join
    // may come before the last slice's messages.
    let (mut texts, mut joined) = (Vec::new(), false);
    while texts.len() < n || !joined {
        match bot.next().await {
            Update::NewMessage(m) if !m.outgoing() => texts.push(m.text().to_string()),
            Update::Raw(r) if matches!(r.raw, tl::enums::Update::ChannelParticipant(_)) => {
                joined = true
            }
            _ => {}
        }
    }
    assert!(texts.iter().enumerate().all(|(i, t)| *t == format!("m{i}")));
    // Live updates continue after the catch-up.
    sim.user_send_text(alice, "live").unwrap();
    assert_eq!(bot.next_message().await.text(), "live");
}
