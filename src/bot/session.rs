//! `grammers_session::Session` on our SQLite file.
//!
//! grammers asks for the home DC and DC options on every request, so the whole
//! session lives in memory and is written through to the store on change. The
//! peer cache is written only when a peer's hash or kind actually changed:
//! every update batch re-announces its users, and most of them are known.
//!
//! The trait is infallible in practice (grammers cannot act on storage errors),
//! so a failed write is logged and the in-memory state stays authoritative
//! until the next successful write.

use std::collections::HashMap;
use std::net::{SocketAddrV4, SocketAddrV6};
use std::sync::Mutex;

use grammers_session::types::{
    ChannelKind, ChannelState, DcOption, PeerAuth, PeerId, PeerInfo, PeerKind, UpdateState,
    UpdatesState,
};
use grammers_session::{BoxFuture, Session, SessionData};

use crate::store::{self, Store};

// Bits of the stored subtype; the same meaning as grammers' own SQLite storage.
const USER_SELF: i64 = 1;
const USER_BOT: i64 = 2;
const MEGAGROUP: i64 = 4;
const BROADCAST: i64 = 8;
const GIGAGROUP: i64 = 12;
const COMMUNITY: i64 = 16;

pub struct StoreSession {
    store: Store,
    name: &'static str,
    // std Mutex: held only for map operations, never across an await.
    mem: Mutex<Mem>,
}

struct Mem {
    home_dc: i32,
    dcs: HashMap<i32, DcOption>,
    /// Keyed by the bot-API dialog id, which is unique across users, chats and channels.
    peers: HashMap<i64, (Option<i64>, Option<i64>)>,
    self_id: Option<i64>,
    state: UpdatesState,
}

#[derive(Debug, thiserror::Error)]
#[error("session storage: {0}")]
pub struct SessionError(String);

impl StoreSession {
    /// Loads account `name` ("bot" or "owner") from the store.
    pub fn load(store: Store, name: &'static str) -> anyhow::Result<StoreSession> {
        let rows = store.read(|c| store::session::load(c, name))?;
        let defaults = SessionData::default();
        let mut dcs: HashMap<i32, DcOption> = defaults.dc_options.clone();
        for (id, v4, v6, key) in rows.dcs {
            let ipv4: SocketAddrV4 = v4
                .parse()
                .map_err(|e| anyhow::anyhow!("stored dc {id} ipv4 {v4:?}: {e}"))?;
            let ipv6: SocketAddrV6 = v6
                .parse()
                .map_err(|e| anyhow::anyhow!("stored dc {id} ipv6 {v6:?}: {e}"))?;
            let auth_key = match key {
                None => None,
                Some(k) => Some(
                    <[u8; 256]>::try_from(k.as_slice())
                        .map_err(|_| anyhow::anyhow!("stored dc {id} auth key is not 256 bytes"))?,
                ),
            };
            dcs.insert(
                id,
                DcOption {
                    id,
                    ipv4,
                    ipv6,
                    auth_key,
                },
            );
        }
        let mut peers = HashMap::new();
        let mut self_id = None;
        for (id, hash, subtype) in rows.peers {
            if subtype.is_some_and(|s| s & USER_SELF != 0) && id > 0 {
                self_id = Some(id);
            }
            peers.insert(id, (hash, subtype));
        }
        let state = match rows.state {
            Some((pts, qts, date, seq)) => UpdatesState {
                pts,
                qts,
                date,
                seq,
                channels: rows
                    .channels
                    .into_iter()
                    .map(|(id, pts)| ChannelState { id, pts })
                    .collect(),
            },
            None => UpdatesState::default(),
        };
        Ok(StoreSession {
            store,
            name,
            mem: Mutex::new(Mem {
                home_dc: rows.home_dc.unwrap_or(defaults.home_dc),
                dcs,
                peers,
                self_id,
                state,
            }),
        })
    }

    fn mem(&self) -> std::sync::MutexGuard<'_, Mem> {
        // Only plain map updates happen under the lock; a panic cannot leave it half-written.
        self.mem.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn persist(&self, what: &str, f: impl FnOnce(&store::Connection) -> store::Result<()>) {
        if let Err(e) = self.store.write(|tx| f(tx)) {
            log::error!("session {}: could not save {what}: {e}", self.name);
        }
    }

    /// Whether a user is logged in on this session (the self user is known).
    pub fn has_self(&self) -> bool {
        self.mem().self_id.is_some()
    }

    /// Points a DC at a test server with a known auth key (tgsim), keeping the home DC.
    pub fn seed_test_dc(&self, addr: std::net::SocketAddr, key: [u8; 256]) {
        let dc = {
            let m = self.mem();
            m.home_dc
        };
        let (ipv4, ipv6) = match addr {
            std::net::SocketAddr::V4(v4) => (
                v4,
                SocketAddrV6::new(v4.ip().to_ipv6_mapped(), v4.port(), 0, 0),
            ),
            std::net::SocketAddr::V6(v6) => (
                SocketAddrV4::new(std::net::Ipv4Addr::LOCALHOST, v6.port()),
                v6,
            ),
        };
        let opt = DcOption {
            id: dc,
            ipv4,
            ipv6,
            auth_key: Some(key),
        };
        let current = self.mem().dcs.get(&dc).cloned();
        if current.as_ref() != Some(&opt) {
            self.mem().dcs.insert(dc, opt.clone());
            self.persist("dc option", |c| {
                store::session::set_home_dc(c, self.name, dc)?;
                store::session::upsert_dc(
                    c,
                    self.name,
                    dc,
                    &ipv4.to_string(),
                    &ipv6.to_string(),
                    Some(&key),
                )
            });
        }
    }
}

fn subtype_of(info: &PeerInfo) -> Option<i64> {
    match info {
        PeerInfo::User { bot, is_self, .. } => {
            let s = (if bot.unwrap_or(false) { USER_BOT } else { 0 })
                | (if is_self.unwrap_or(false) {
                    USER_SELF
                } else {
                    0
                });
            (s != 0).then_some(s)
        }
        PeerInfo::Chat { .. } => None,
        PeerInfo::Channel { kind, .. } => kind.map(|k| match k {
            ChannelKind::Megagroup => MEGAGROUP,
            ChannelKind::Broadcast => BROADCAST,
            ChannelKind::Gigagroup => GIGAGROUP,
            ChannelKind::Community => COMMUNITY,
        }),
    }
}

fn info_from(peer: PeerId, hash: Option<i64>, subtype: Option<i64>) -> PeerInfo {
    let auth = hash.map(PeerAuth::from_hash);
    match peer.kind() {
        PeerKind::User => PeerInfo::User {
            id: peer.bare_id_unchecked(),
            auth,
            bot: subtype.map(|s| s & USER_BOT != 0),
            is_self: subtype.map(|s| s & USER_SELF != 0),
        },
        PeerKind::Chat => PeerInfo::Chat {
            id: peer.bare_id_unchecked(),
        },
        PeerKind::Channel => PeerInfo::Channel {
            id: peer.bare_id_unchecked(),
            auth,
            kind: subtype.and_then(|s| match s {
                GIGAGROUP => Some(ChannelKind::Gigagroup),
                BROADCAST => Some(ChannelKind::Broadcast),
                MEGAGROUP => Some(ChannelKind::Megagroup),
                COMMUNITY => Some(ChannelKind::Community),
                _ => None,
            }),
        },
    }
}

impl Session for StoreSession {
    type Error = SessionError;

    fn home_dc_id(&self) -> Result<i32, SessionError> {
        Ok(self.mem().home_dc)
    }

    fn set_home_dc_id(&self, dc_id: i32) -> BoxFuture<'_, Result<(), SessionError>> {
        self.mem().home_dc = dc_id;
        self.persist("home dc", |c| {
            store::session::set_home_dc(c, self.name, dc_id)
        });
        Box::pin(async { Ok(()) })
    }

    fn dc_option(&self, dc_id: i32) -> Result<Option<DcOption>, SessionError> {
        Ok(self.mem().dcs.get(&dc_id).cloned())
    }

    fn set_dc_option(&self, o: &DcOption) -> BoxFuture<'_, Result<(), SessionError>> {
        self.mem().dcs.insert(o.id, o.clone());
        let (id, v4, v6, key) = (o.id, o.ipv4.to_string(), o.ipv6.to_string(), o.auth_key);
        self.persist("dc option", |c| {
            store::session::upsert_dc(c, self.name, id, &v4, &v6, key.as_ref().map(|k| &k[..]))
        });
        Box::pin(async { Ok(()) })
    }

    fn peer(&self, peer: PeerId) -> BoxFuture<'_, Result<Option<PeerInfo>, SessionError>> {
        let m = self.mem();
        // The self-user is asked for by a sentinel id; map it to the real one.
        let (id, key) = match peer.bot_api_dialog_id() {
            Some(key) => (peer, key),
            None => match m.self_id {
                Some(id) => (PeerId::user_unchecked(id), id),
                None => return Box::pin(async { Ok(None) }),
            },
        };
        let out = m
            .peers
            .get(&key)
            .map(|(hash, subtype)| info_from(id, *hash, *subtype));
        drop(m);
        Box::pin(async move { Ok(out) })
    }

    fn cache_peer(&self, peer: PeerInfo) -> BoxFuture<'_, Result<(), SessionError>> {
        self.cache_peers(vec![peer])
    }

    fn cache_peers(&self, peers: Vec<PeerInfo>) -> BoxFuture<'_, Result<(), SessionError>> {
        let mut changed = Vec::new();
        {
            let mut m = self.mem();
            for info in peers {
                let key = info.id().bot_api_dialog_id_unchecked();
                let merged = match m.peers.get(&key) {
                    Some((hash, subtype)) => {
                        let mut old = info_from(info.id(), *hash, *subtype);
                        old.extend_info(&info);
                        old
                    }
                    None => info,
                };
                let entry = (merged.auth().map(|a| a.hash()), subtype_of(&merged));
                if entry.1.is_some_and(|s| s & USER_SELF != 0) {
                    m.self_id = Some(merged.id().bare_id_unchecked());
                }
                if m.peers.get(&key) != Some(&entry) {
                    m.peers.insert(key, entry);
                    changed.push((key, entry));
                }
            }
        }
        if !changed.is_empty() {
            self.persist("peers", |c| {
                for (key, (hash, subtype)) in &changed {
                    store::session::upsert_peer(c, self.name, *key, *hash, *subtype)?;
                }
                Ok(())
            });
        }
        Box::pin(async { Ok(()) })
    }

    fn updates_state(&self) -> BoxFuture<'_, Result<UpdatesState, SessionError>> {
        let s = self.mem().state.clone();
        Box::pin(async move { Ok(s) })
    }

    fn set_update_state(&self, update: UpdateState) -> BoxFuture<'_, Result<(), SessionError>> {
        let home = self.mem().home_dc;
        match update {
            UpdateState::All(all) => {
                self.mem().state = all.clone();
                self.persist("update state", |c| {
                    store::session::set_primary(c, self.name, home, all.pts, all.date, all.seq)?;
                    store::session::set_qts(c, self.name, home, all.qts)?;
                    store::session::clear_channels(c, self.name)?;
                    for ch in &all.channels {
                        store::session::set_channel(c, self.name, ch.id, ch.pts)?;
                    }
                    Ok(())
                });
            }
            UpdateState::Primary { pts, date, seq } => {
                {
                    let mut m = self.mem();
                    m.state.pts = pts;
                    m.state.date = date;
                    m.state.seq = seq;
                }
                self.persist("update state", |c| {
                    store::session::set_primary(c, self.name, home, pts, date, seq)
                });
            }
            UpdateState::Secondary { qts } => {
                self.mem().state.qts = qts;
                self.persist("update state", |c| {
                    store::session::set_qts(c, self.name, home, qts)
                });
            }
            UpdateState::Channel { id, pts } => {
                {
                    let mut m = self.mem();
                    match m.state.channels.iter_mut().find(|c| c.id == id) {
                        Some(c) => c.pts = pts,
                        None => m.state.channels.push(ChannelState { id, pts }),
                    }
                }
                self.persist("channel state", |c| {
                    store::session::set_channel(c, self.name, id, pts)
                });
            }
        }
        Box::pin(async { Ok(()) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(f)
    }

    #[test]
    fn survives_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("s.db"), 1).unwrap();
        let s = StoreSession::load(store.clone(), "bot").unwrap();
        assert!(!s.has_self());
        block(async {
            s.set_home_dc_id(4).await.unwrap();
            s.cache_peers(vec![
                PeerInfo::User {
                    id: 77,
                    auth: Some(PeerAuth::from_hash(1234)),
                    bot: Some(true),
                    is_self: Some(true),
                },
                PeerInfo::Channel {
                    id: 900,
                    auth: Some(PeerAuth::from_hash(-5)),
                    kind: Some(ChannelKind::Megagroup),
                },
            ])
            .await
            .unwrap();
            s.set_update_state(UpdateState::All(UpdatesState {
                pts: 10,
                qts: 3,
                date: 99,
                seq: 2,
                channels: vec![],
            }))
            .await
            .unwrap();
            s.set_update_state(UpdateState::Channel { id: 900, pts: 41 })
                .await
                .unwrap();
            s.set_update_state(UpdateState::Secondary { qts: 4 })
                .await
                .unwrap();
        });
        drop(s);
        let s = StoreSession::load(store, "bot").unwrap();
        assert!(s.has_self());
        assert_eq!(s.home_dc_id().unwrap(), 4);
        block(async {
            let me = s.peer(PeerId::self_user()).await.unwrap().unwrap();
            assert_eq!(me.id().bare_id_unchecked(), 77);
            assert_eq!(me.auth().unwrap().hash(), 1234);
            let ch = s
                .peer(PeerId::channel_unchecked(900))
                .await
                .unwrap()
                .unwrap();
            assert!(matches!(
                ch,
                PeerInfo::Channel {
                    kind: Some(ChannelKind::Megagroup),
                    ..
                }
            ));
            let st = s.updates_state().await.unwrap();
            assert_eq!((st.pts, st.qts, st.date, st.seq), (10, 4, 99, 2));
            assert_eq!(st.channels, vec![ChannelState { id: 900, pts: 41 }]);
        });
    }
}
