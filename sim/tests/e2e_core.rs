//! Stage-1 flows driven through the real grammers 0.11 client: login, /start, replies with
//! keyboards, callbacks, edits, deletes, premium, and the protocol edge cases.

mod common;

use common::*;
use grammers_client::message::{Button, InputMessage, ReplyMarkup};
use grammers_client::update::Update;
use grammers_client::InvocationError;
use grammers_tl_types as tl;
use tgsim::{ButtonKind, Sim, SimConfig, UserSpec};

fn sim() -> Sim {
    Sim::start(SimConfig::default()).unwrap()
}

#[tokio::test]
async fn login_checks_the_token() {
    init_log();
    let sim = sim();
    let session = std::sync::Arc::new(grammers_session::storages::MemorySession::default());
    let (client, handle, _updates, task) = connect(&sim, session, sim.auth_key()).await;
    // Before login every method is 401 AUTH_KEY_UNREGISTERED, so is_authorized() is false.
    assert!(!client.is_authorized().await.unwrap());
    let err = client.bot_sign_in("1:wrong", "hash").await.unwrap_err();
    assert!(
        matches!(&err, InvocationError::Rpc(e) if e.name == "ACCESS_TOKEN_INVALID"),
        "{err:?}"
    );
    let me = client.bot_sign_in(&sim.bot_token(), "hash").await.unwrap();
    assert_eq!(me.id().bare_id_unchecked(), sim.bot_id());
    assert!(client.is_authorized().await.unwrap());
    let me = client.get_me().await.unwrap();
    assert_eq!(me.username(), Some("tgsim_bot"));
    // An unimplemented method gets a clean error and the connection stays usable.
    let err = client
        .invoke(&tl::functions::messages::GetDialogFilters {})
        .await
        .unwrap_err();
    assert!(
        matches!(&err, InvocationError::Rpc(e) if e.name == "METHOD_NOT_IMPLEMENTED_BY_TGSIM"),
        "{err:?}"
    );
    assert!(client.is_authorized().await.unwrap());
    handle.quit();
    let _ = task.await;
}

#[tokio::test]
async fn start_reply_button_edit_delete() {
    let sim = sim();
    let alice = sim
        .add_user(UserSpec::new("Alice").username("alice"))
        .unwrap();
    let mut bot = bot(&sim).await;

    sim.user_start_bot(alice, Some("abc_123")).unwrap();
    let msg = bot.next_message().await;
    assert_eq!(msg.text(), "/start abc_123");
    let sender = msg.sender().expect("sender resolves from users[]");
    assert_eq!(sender.id().bare_id_unchecked(), alice);
    let peer = msg.peer().unwrap().to_ref().await.unwrap().unwrap();

    let markup = ReplyMarkup::from_buttons(&[
        vec![
            Button::data("Yes", b"yes".to_vec()),
            Button::data("No", b"no".to_vec()),
        ],
        vec![Button::url("Site", "https://example.com/x")],
    ]);
    let sent = bot
        .client
        .send_message(
            peer,
            InputMessage::new().text("Pick one").reply_markup(markup),
        )
        .await
        .unwrap();
    let obs = sim.sent_to(alice);
    assert_eq!(obs.len(), 1);
    assert_eq!(obs[0].text, "Pick one");
    assert_eq!(obs[0].msg_id, sent.id());
    assert_eq!(
        obs[0].buttons[0][0].kind,
        ButtonKind::Callback(b"yes".to_vec())
    );
    assert_eq!(
        obs[0].buttons[1][0].kind,
        ButtonKind::Url("https://example.com/x".into())
    );

    // Pressing a button that is not on the message is refused.
    assert!(sim.user_press_button(alice, sent.id(), b"maybe").is_err());
    let qid = sim.user_press_button(alice, sent.id(), b"yes").unwrap();
    let q = bot
        .next_matching(|u| match u {
            Update::CallbackQuery(q) => Some(q.clone()),
            _ => None,
        })
        .await;
    assert_eq!(q.data(), b"yes");
    q.answer().text("Thanks!").send().await.unwrap();
    let ans = sim.callback_answers();
    assert_eq!(ans[0].query_id, qid);
    assert_eq!(ans[0].message.as_deref(), Some("Thanks!"));

    bot.client
        .edit_message(peer, sent.id(), InputMessage::new().text("Picked: yes"))
        .await
        .unwrap();
    let obs = sim.sent_to(alice);
    assert_eq!(obs[0].text, "Picked: yes");
    assert_eq!(obs[0].edits, 1);

    bot.client
        .delete_messages(peer, &[sent.id()])
        .await
        .unwrap();
    assert!(sim.sent_to(alice)[0].deleted);
    assert_eq!(sim.deleted_messages().len(), 1);

    // Text from the user, then consistency of pts between client and server.
    sim.user_send_text(alice, "hello").unwrap();
    assert_eq!(bot.next_message().await.text(), "hello");
    let server_pts = sim.bot_update_state().0;
    let session = bot.stop().await;
    let state = grammers_session::Session::updates_state(&*session)
        .await
        .unwrap();
    assert_eq!(state.pts, server_pts);
}

#[tokio::test]
async fn premium_flag_and_blocking() {
    let sim = sim();
    let bob = sim.add_user(UserSpec::new("Bob")).unwrap();
    let mut bot = bot(&sim).await;
    sim.user_start_bot(bob, None).unwrap();
    let msg = bot.next_message().await;
    let input = msg.sender().unwrap().to_ref().await.unwrap().unwrap();
    let users = |client: grammers_client::Client, input: grammers_session::types::PeerRef| async move {
        let r = client
            .invoke(&tl::functions::users::GetUsers {
                id: vec![input.into()],
            })
            .await
            .unwrap();
        match &r[0] {
            tl::enums::User::User(u) => u.premium,
            _ => panic!("empty user"),
        }
    };
    assert!(!users(bot.client.clone(), input).await);
    sim.set_premium(bob, true).unwrap();
    assert!(users(bot.client.clone(), input).await);
    // The next push carries the new flag.
    sim.user_send_text(bob, "hi").unwrap();
    let m = bot.next_message().await;
    match m.sender() {
        Some(grammers_client::peer::Peer::User(u)) => {
            assert!(matches!(&u.raw, tl::enums::User::User(u) if u.premium))
        }
        other => panic!("unexpected sender {other:?}"),
    }

    sim.user_block_bot(bob).unwrap();
    match bot.next_raw().await {
        tl::enums::Update::BotStopped(u) => {
            assert_eq!(u.user_id, bob);
            assert!(u.stopped);
        }
        other => panic!("unexpected {other:?}"),
    }
    // A blocked bot cannot write to the user.
    let err = bot.client.send_message(input, "ping").await.unwrap_err();
    assert!(
        matches!(&err, InvocationError::Rpc(e) if e.name == "USER_IS_BLOCKED"),
        "{err:?}"
    );
    sim.user_unblock_bot(bob).unwrap();
    match bot.next_raw().await {
        tl::enums::Update::BotStopped(u) => assert!(!u.stopped),
        other => panic!("unexpected {other:?}"),
    }
}
