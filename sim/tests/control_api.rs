//! Runs the `tgsim serve` binary on its own and drives a full scenario through the JSON control
//! API, with a real grammers bot connected over MTProto using the auth key file.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;

use common::*;
use grammers_client::message::{Button, InputMessage, ReplyMarkup};
use grammers_client::update::Update;
use grammers_mtsender::UpdatesConfiguration;
use serde_json::{json, Value};

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn http(addr: &str, method: &str, path: &str, body: Option<Value>) -> Value {
    let mut s = TcpStream::connect(addr).unwrap();
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    write!(s, "{method} {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}", body.len()).unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let (head, body) = out.split_once("\r\n\r\n").unwrap();
    assert!(
        head.starts_with("HTTP/1.1 200"),
        "{method} {path}: {head} {body}"
    );
    serde_json::from_str(body).unwrap()
}

#[tokio::test]
async fn full_scenario_through_control_api() {
    let dir = std::env::temp_dir().join(format!("tgsim-ctl-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let key_file = dir.join("auth.key");
    let _ = std::fs::remove_file(&key_file);
    let world = dir.join("world.toml");
    std::fs::write(
        &world,
        r#"
[[users]]
key = "alice"
first_name = "Alice"
username = "alice"

[[chats]]
key = "news"
kind = "channel"
title = "News"
username = "news"
bot = "admin"

[[chats]]
key = "group"
kind = "supergroup"
title = "Group"
bot = "admin"
members = ["alice"]
"#,
    )
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_tgsim"))
        .args([
            "serve",
            "--bot-token",
            "42:ABC",
            "--precheckout-timeout-ms",
            "2000",
            "--short-messages",
        ])
        .arg("--auth-key-file")
        .arg(&key_file)
        .arg("--world")
        .arg(&world)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let _server = Server(child);
    let boot: Value = serde_json::from_str(&line).unwrap();
    let ctl = boot["control"].as_str().unwrap().to_string();
    let alice = boot["world"]["alice"].as_i64().unwrap();
    let news = boot["world"]["news"].as_i64().unwrap();
    let group = boot["world"]["group"].as_i64().unwrap();
    let info = http(&ctl, "GET", "/info", None);
    assert_eq!(info["world"]["news"], news);

    // A real grammers bot, reaching the process through the auth key file.
    init_log();
    let key: [u8; 256] = std::fs::read(&key_file).unwrap().try_into().unwrap();
    let session = Arc::new(grammers_session::storages::MemorySession::default());
    let addr: std::net::SocketAddr = boot["mtproto"].as_str().unwrap().parse().unwrap();
    tgsim::seed_session(&*session, addr, &key).await;
    let grammers_mtsender::SenderPool {
        runner,
        updates,
        handle,
    } = grammers_mtsender::SenderPool::new(Arc::clone(&session), 1);
    let client = grammers_client::Client::new(handle.clone());
    let task = tokio::spawn(runner.run());
    client.bot_sign_in("42:ABC", "hash").await.unwrap();
    let stream = client
        .stream_updates(updates, UpdatesConfiguration { catch_up: true })
        .await
        .unwrap();
    let mut bot = Bot {
        client,
        stream,
        session,
        handle,
        task,
    };

    // /start with a payload, the bot answers with a button, the user presses it.
    http(
        &ctl,
        "POST",
        "/actions/start",
        Some(json!({"user": alice, "payload": "click42"})),
    );
    let m = bot.next_message().await;
    assert_eq!(m.text(), "/start click42");
    let peer = m.peer().unwrap().to_ref().await.unwrap().unwrap();
    let sent = bot
        .client
        .send_message(
            peer,
            InputMessage::new()
                .text("Join?")
                .reply_markup(ReplyMarkup::from_buttons(&[vec![Button::data(
                    "Go",
                    b"go".to_vec(),
                )]])),
        )
        .await
        .unwrap();
    let sent_obs = http(&ctl, "GET", &format!("/sent/{alice}"), None);
    assert_eq!(sent_obs[0]["text"], "Join?");
    assert_eq!(sent_obs[0]["buttons"][0][0]["kind"], "callback");
    http(
        &ctl,
        "POST",
        "/actions/press",
        Some(json!({"user": alice, "msg_id": sent.id(), "data": "go"})),
    );
    let q = bot
        .next_matching(|u| match u {
            Update::CallbackQuery(q) => Some(q.clone()),
            _ => None,
        })
        .await;
    q.answer().text("ok").send().await.unwrap();

    // --short-messages: Alice is known now, so her next message is an updateShortMessage
    // (no user object); switched off over HTTP, messages carry the user again.
    http(
        &ctl,
        "POST",
        "/actions/text",
        Some(json!({"user": alice, "text": "short"})),
    );
    let m = bot.next_message().await;
    assert_eq!(m.text(), "short");
    assert!(m.sender().is_none());
    http(
        &ctl,
        "POST",
        "/short_messages",
        Some(json!({"enabled": false})),
    );
    http(
        &ctl,
        "POST",
        "/actions/text",
        Some(json!({"user": alice, "text": "full"})),
    );
    assert!(bot.next_message().await.sender().is_some());

    // Alice deletes her own group message.
    let gm = http(
        &ctl,
        "POST",
        "/group_message",
        Some(json!({"chat": group, "user": alice, "text": "oops"})),
    )["msg_id"]
        .as_i64()
        .unwrap() as i32;
    assert_eq!(bot.next_message().await.id(), gm);
    http(
        &ctl,
        "POST",
        "/actions/delete_message",
        Some(json!({"user": alice, "chat": group, "msg_id": gm})),
    );
    let d = bot
        .next_matching(|u| match u {
            Update::MessageDeleted(d) => Some(d.clone()),
            _ => None,
        })
        .await;
    assert_eq!((d.channel_id(), d.messages()), (Some(group), &[gm][..]));

    // Join, react, premium, block.
    http(
        &ctl,
        "POST",
        "/actions/join",
        Some(json!({"user": alice, "chat": news})),
    );
    assert!(matches!(
        bot.next_raw().await,
        grammers_tl_types::enums::Update::ChannelParticipant(_)
    ));
    let post = http(
        &ctl,
        "POST",
        "/post",
        Some(json!({"channel": news, "text": "hello"})),
    )["msg_id"]
        .as_i64()
        .unwrap();
    http(
        &ctl,
        "POST",
        "/actions/react",
        Some(json!({"user": alice, "chat": news, "msg_id": post, "emoji": "🔥"})),
    );
    assert!(matches!(
        bot.next_raw().await,
        grammers_tl_types::enums::Update::BotMessageReactions(_)
    ));
    http(
        &ctl,
        "POST",
        "/actions/premium",
        Some(json!({"user": alice, "premium": true})),
    );
    http(&ctl, "POST", "/actions/block", Some(json!({"user": alice})));
    assert!(matches!(
        bot.next_raw().await,
        grammers_tl_types::enums::Update::BotStopped(_)
    ));

    // A join request through a link the bot made, approved by the bot.
    let bob = http(&ctl, "POST", "/users", Some(json!({"first_name": "Bob"})))["id"]
        .as_i64()
        .unwrap();
    let hash = tgsim::world::access_hash;
    let invite = bot
        .client
        .invoke(&grammers_tl_types::functions::messages::ExportChatInvite {
            legacy_revoke_permanent: false,
            request_needed: true,
            peer: grammers_tl_types::types::InputPeerChannel {
                channel_id: news,
                access_hash: hash(news),
            }
            .into(),
            expire_date: None,
            usage_limit: None,
            title: Some("ctl".into()),
            subscription_pricing: None,
        })
        .await
        .unwrap();
    let grammers_tl_types::enums::ExportedChatInvite::ChatInviteExported(invite) = invite else {
        panic!()
    };
    let out = http(
        &ctl,
        "POST",
        "/actions/join_link",
        Some(json!({"user": bob, "link": invite.link})),
    );
    assert_eq!(out["outcome"], "requested");
    assert!(matches!(
        bot.next_raw().await,
        grammers_tl_types::enums::Update::BotChatInviteRequester(_)
    ));
    bot.client
        .invoke(
            &grammers_tl_types::functions::messages::HideChatJoinRequest {
                approved: true,
                peer: grammers_tl_types::types::InputPeerChannel {
                    channel_id: news,
                    access_hash: hash(news),
                }
                .into(),
                user_id: grammers_tl_types::types::InputUser {
                    user_id: bob,
                    access_hash: hash(bob),
                }
                .into(),
            },
        )
        .await
        .unwrap();

    let obs = http(&ctl, "GET", "/observations", None);
    assert_eq!(obs["join_request_decisions"][0]["approved"], true);
    assert_eq!(obs["invite_links"][0]["title"], "ctl");
    assert_eq!(obs["callback_answers"][0]["message"], "ok");
    bot.handle.quit();
    let _ = std::fs::remove_dir_all(&dir);
}
