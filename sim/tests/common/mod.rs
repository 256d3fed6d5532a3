//! Test harness: a real, unmodified grammers 0.11 client connected to a `Sim`.
#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use grammers_client::client::UpdateStream;
use grammers_client::update::Update;
use grammers_client::Client;
use grammers_mtsender::{SenderPool, SenderPoolFatHandle, UpdatesConfiguration};
use grammers_session::storages::MemorySession;
use tgsim::Sim;

pub const WAIT: Duration = Duration::from_secs(5);

pub struct Bot {
    pub client: Client,
    pub stream: UpdateStream,
    pub session: Arc<MemorySession>,
    pub handle: SenderPoolFatHandle,
    pub task: tokio::task::JoinHandle<()>,
}

pub fn init_log() {
    let _ = env_logger::builder().is_test(true).try_init();
}

/// Connects a client on `session` (seeded for the sim) without logging in.
pub async fn connect(
    sim: &Sim,
    session: Arc<MemorySession>,
    key: [u8; 256],
) -> (
    Client,
    SenderPoolFatHandle,
    tokio::sync::mpsc::Receiver<grammers_session::updates::UpdatesLike>,
    tokio::task::JoinHandle<()>,
) {
    tgsim::seed_session(&*session, sim.addr(), &key).await;
    let SenderPool {
        runner,
        updates,
        handle,
    } = SenderPool::new(Arc::clone(&session), 1);
    let client = Client::new(handle.clone());
    let task = tokio::spawn(runner.run());
    (client, handle, updates, task)
}

/// A bot logged in with `bot_sign_in` and streaming with `catch_up: true`.
pub async fn bot(sim: &Sim) -> Bot {
    bot_on(sim, Arc::new(MemorySession::default()), true).await
}

pub async fn bot_on(sim: &Sim, session: Arc<MemorySession>, login: bool) -> Bot {
    init_log();
    let (client, handle, updates, task) = connect(sim, Arc::clone(&session), sim.auth_key()).await;
    if login {
        assert!(
            !client.is_authorized().await.unwrap(),
            "fresh key must be unauthorised"
        );
        client.bot_sign_in(&sim.bot_token(), "hash").await.unwrap();
    }
    let stream = client
        .stream_updates(updates, UpdatesConfiguration { catch_up: true })
        .await
        .unwrap();
    Bot {
        client,
        stream,
        session,
        handle,
        task,
    }
}

impl Bot {
    /// The next update, failing the test after `WAIT`.
    pub async fn next(&mut self) -> Update {
        tokio::time::timeout(WAIT, self.stream.next())
            .await
            .expect("timed out waiting for an update")
            .expect("update stream failed")
    }

    /// Skips updates until `f` returns Some (e.g. skipping `updateMessageID` raws).
    pub async fn next_matching<T>(&mut self, mut f: impl FnMut(&Update) -> Option<T>) -> T {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let u = tokio::time::timeout_at(deadline, self.stream.next())
                .await
                .expect("timed out waiting for a matching update")
                .expect("update stream failed");
            if let Some(t) = f(&u) {
                return t;
            }
        }
    }

    /// Next incoming (not outgoing) NewMessage.
    pub async fn next_message(&mut self) -> grammers_client::update::Message {
        self.next_matching(|u| match u {
            Update::NewMessage(m) if !m.outgoing() => Some(m.clone()),
            _ => None,
        })
        .await
    }

    /// Next raw update of interest (skips messages and `updateMessageID`).
    pub async fn next_raw(&mut self) -> grammers_tl_types::enums::Update {
        self.next_matching(|u| match u {
            Update::Raw(r) if !matches!(r.raw, grammers_tl_types::enums::Update::MessageId(_)) => {
                Some(r.raw.clone())
            }
            _ => None,
        })
        .await
    }

    /// Saves the update state into the session and disconnects.
    pub async fn stop(self) -> Arc<MemorySession> {
        self.stream.sync_update_state().await.unwrap();
        drop(self.stream);
        self.handle.quit();
        let _ = self.task.await;
        self.session
    }
}
