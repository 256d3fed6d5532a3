//! The MTProto server: TCP accept loop, `transport::Full` framing, the encrypted session layer
//! (containers, gzip_packed, acks, ping/pong, salts) and per-connection delivery.
//!
//! Recipe and pitfalls: simulator.md §2. Framing reuses grammers' own `transport::Full`
//! (`pack`/`unpack`), so both ends agree on sequence numbers and CRCs.

use std::io::Read;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use grammers_crypto::DequeBuffer;
use grammers_mtproto::transport::{self, Transport};
use grammers_tl_types::{self as tl, Deserializable, Serializable};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{broadcast, mpsc, watch};

use crate::crypto::{self, AuthKey};
use crate::rpc::{self, Caller};
use crate::world::{Outgoing, Subscriber, World};

const MSG_CONTAINER: u32 = 0x73f1f8dc;
const GZIP_PACKED: u32 = 0x3072cfa1;
const RPC_RESULT: u32 = 0xf35c6d01;
const MSGS_ACK: u32 = 0x62d6b459;
const PING: u32 = 0x7abe77ec;
const PING_DELAY_DISCONNECT: u32 = 0xf3427b8c;
const GET_FUTURE_SALTS: u32 = 0xb921bd04;
const DESTROY_SESSION: u32 = 0xe7512126;
const MSGS_STATE_REQ: u32 = 0xda69fb52;

/// Answers of at least this many bytes are sent gzip_packed when that makes them smaller
/// (grammers uses the same threshold for requests, simulator.md §2.5).
const GZIP_THRESHOLD: usize = 512;

/// State shared by the handle, the connections and the control API.
pub struct Shared {
    pub world: Mutex<World>,
    /// Signalled whenever observations may have changed (blocking waiters).
    pub cond: Condvar,
    /// Bumped whenever observations may have changed (async waiters).
    pub version: watch::Sender<u64>,
    /// Closes every client connection.
    pub kick: broadcast::Sender<()>,
    pub next_conn: AtomicU64,
}

impl Shared {
    /// Locks the world. A panic while the lock was held (caught in `rpc::dispatch`) poisons it;
    /// the simulator keeps serving rather than failing every later call.
    pub fn lock(&self) -> std::sync::MutexGuard<'_, World> {
        self.world.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Wakes every observation waiter.
    pub fn changed(&self) {
        self.cond.notify_all();
        self.version.send_modify(|v| *v += 1);
    }
}

/// Registers connection `conn_id` to receive `account`'s pushes (idempotent).
pub fn subscribe(w: &mut World, account: i64, conn_id: u64) {
    let subs = w.subscribers.entry(account).or_default();
    if subs.iter().any(|s| s.conn_id == conn_id) {
        return;
    }
    if let Some(tx) = w.conns.get(&conn_id) {
        subs.push(Subscriber {
            conn_id,
            tx: tx.clone(),
        });
    }
}

pub async fn accept_loop(
    listener: TcpListener,
    shared: Arc<Shared>,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            _ = stop.changed() => return,
            res = listener.accept() => match res {
                Ok((stream, peer)) => {
                    let _ = stream.set_nodelay(true);
                    let shared = Arc::clone(&shared);
                    tokio::spawn(async move {
                        let id = shared.next_conn.fetch_add(1, Ordering::Relaxed);
                        log::debug!("tgsim: connection {id} from {peer}");
                        serve_conn(shared.clone(), stream, id).await;
                        let mut w = shared.lock();
                        w.conns.remove(&id);
                        for subs in w.subscribers.values_mut() {
                            subs.retain(|s| s.conn_id != id);
                        }
                        log::debug!("tgsim: connection {id} closed");
                    });
                }
                Err(e) => log::warn!("tgsim: accept failed: {e}"),
            }
        }
    }
}

/// Keys and session id of a connection, learned from the client's first packet.
#[derive(Clone)]
struct SessionInfo {
    key: AuthKey,
    session_id: i64,
}

async fn serve_conn(shared: Arc<Shared>, stream: TcpStream, conn_id: u64) {
    let (mut rd, wr) = stream.into_split();
    let (tx, rx) = mpsc::unbounded_channel();
    shared
        .world
        .lock()
        .unwrap()
        .conns
        .insert(conn_id, tx.clone());
    let (sess_tx, sess_rx) = watch::channel::<Option<SessionInfo>>(None);
    let writer = tokio::spawn(write_loop(wr, rx, sess_rx));
    let mut kick = shared.kick.subscribe();

    let mut transport = transport::Full::new();
    let mut buf: Vec<u8> = Vec::with_capacity(64 * 1024);
    let mut chunk = vec![0u8; 64 * 1024];
    let mut session: Option<SessionInfo> = None;
    'outer: loop {
        let n = tokio::select! {
            _ = kick.recv() => break,
            r = rd.read(&mut chunk) => match r {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            },
        };
        buf.extend_from_slice(&chunk[..n]);
        loop {
            let off = match transport.unpack(&mut buf) {
                Ok(off) => off,
                Err(transport::Error::MissingBytes) => break,
                Err(e) => {
                    log::warn!("tgsim: connection {conn_id}: transport error {e}");
                    break 'outer;
                }
            };
            let mut packet = buf[off.data_range.clone()].to_vec();
            buf.drain(..off.next_offset);
            if let Err(e) =
                handle_packet(&shared, conn_id, &mut packet, &mut session, &sess_tx, &tx)
            {
                log::warn!("tgsim: connection {conn_id}: {e}");
                break 'outer;
            }
        }
    }
    drop(tx);
    writer.abort();
}

fn handle_packet(
    shared: &Shared,
    conn_id: u64,
    packet: &mut [u8],
    session: &mut Option<SessionInfo>,
    sess_tx: &watch::Sender<Option<SessionInfo>>,
    tx: &mpsc::UnboundedSender<Outgoing>,
) -> Result<(), String> {
    let key_id = crypto::packet_key_id(packet).ok_or("short packet")?;
    if key_id == [0; 8] {
        // Plaintext messages only serve the DH key exchange, which a fake cannot complete
        // (grammers pins Telegram's RSA keys). Closing is safer than transport -404, which would
        // send grammers into that exchange (simulator.md §2.7).
        return Err("plaintext (auth key generation) is not supported".into());
    }
    let key = match session {
        Some(s) if s.key.id == key_id => s.key.clone(),
        _ => {
            let w = shared.lock();
            w.keys
                .get(&key_id)
                .map(|k| k.key.clone())
                .ok_or("unknown auth key")?
        }
    };
    let plain = crypto::decrypt_client(packet, &key).map_err(|e| format!("decrypt: {e:?}"))?;
    if plain.len() < 32 {
        return Err("short plaintext".into());
    }
    let session_id = i64::from_le_bytes(plain[8..16].try_into().unwrap());
    let msg_id = i64::from_le_bytes(plain[16..24].try_into().unwrap());
    let len = i32::from_le_bytes(plain[28..32].try_into().unwrap()) as usize;
    let body = plain.get(32..32 + len).ok_or("bad message length")?;
    if session
        .as_ref()
        .is_none_or(|s| s.session_id != session_id || s.key.id != key.id)
    {
        // The session_id must be echoed back exactly: grammers panics otherwise
        // (simulator.md §2.3).
        let info = SessionInfo {
            key: key.clone(),
            session_id,
        };
        *session = Some(info.clone());
        let _ = sess_tx.send(Some(info));
    }
    let caller = Caller {
        key_id: key.id,
        conn_id,
    };
    process(shared, &caller, msg_id, body, tx, 0)
}

fn process(
    shared: &Shared,
    caller: &Caller,
    msg_id: i64,
    body: &[u8],
    tx: &mpsc::UnboundedSender<Outgoing>,
    depth: u32,
) -> Result<(), String> {
    if depth > 4 || body.len() < 4 {
        return Err("malformed message".into());
    }
    let ctor = u32::from_le_bytes(body[..4].try_into().unwrap());
    match ctor {
        MSG_CONTAINER => {
            let mut c = tl::deserialize::Cursor::from_slice(&body[4..]);
            let count = i32::deserialize(&mut c).map_err(|e| e.to_string())?;
            for _ in 0..count {
                let id = i64::deserialize(&mut c).map_err(|e| e.to_string())?;
                let _seq = i32::deserialize(&mut c).map_err(|e| e.to_string())?;
                let len = i32::deserialize(&mut c).map_err(|e| e.to_string())? as usize;
                let mut inner = vec![0u8; len];
                c.read_exact(&mut inner).map_err(|e| e.to_string())?;
                process(shared, caller, id, &inner, tx, depth + 1)?;
            }
            Ok(())
        }
        GZIP_PACKED => {
            let packed = Vec::<u8>::from_bytes(&body[4..]).map_err(|e| e.to_string())?;
            let mut inner = Vec::new();
            flate2::read::GzDecoder::new(&packed[..])
                .read_to_end(&mut inner)
                .map_err(|e| e.to_string())?;
            process(shared, caller, msg_id, &inner, tx, depth + 1)
        }
        MSGS_ACK | DESTROY_SESSION | MSGS_STATE_REQ => Ok(()),
        PING | PING_DELAY_DISCONNECT => {
            let ping_id =
                i64::from_le_bytes(body.get(4..12).ok_or("short ping")?.try_into().unwrap());
            // A bare pong, not an rpc_result (simulator.md §2.5).
            let pong = tl::enums::Pong::from(tl::types::Pong { msg_id, ping_id }).to_bytes();
            let _ = tx.send(Outgoing::Service(pong));
            Ok(())
        }
        GET_FUTURE_SALTS => {
            let now = unix_now();
            let salts = tl::types::FutureSalts {
                req_msg_id: msg_id,
                now,
                salts: tl::RawVec(vec![tl::types::FutureSalt {
                    valid_since: now - 60,
                    valid_until: now + 86400,
                    salt: 0,
                }]),
            };
            let mut b = Vec::new();
            <tl::types::FutureSalts as tl::Identifiable>::CONSTRUCTOR_ID.serialize(&mut b);
            salts.serialize(&mut b);
            // Must be bare: wrapped in rpc_result grammers would block forever (simulator.md §2.7).
            let _ = tx.send(Outgoing::Service(b));
            Ok(())
        }
        _ => {
            let request = rpc::unwrap_request(body.to_vec());
            let mut w = shared.lock();
            let answer = rpc::dispatch(&mut w, caller, &request);
            // Enqueued under the lock, after any push the request caused (simulator.md §3).
            let _ = tx.send(Outgoing::Result {
                req_msg_id: msg_id,
                body: answer,
            });
            drop(w);
            shared.changed();
            Ok(())
        }
    }
}

fn unix_now() -> i32 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i32)
        .unwrap_or(0)
}

/// Server msg_ids: unixtime·2³², strictly increasing, ≡1 mod 4 for responses and ≡3 otherwise
/// (<https://core.telegram.org/mtproto/description#message-identifier-msg-id>).
struct MsgIds {
    last: i64,
}

impl MsgIds {
    fn next(&mut self, response: bool) -> i64 {
        let d = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let mut id = ((d.as_secs() as i64) << 32) | ((d.subsec_nanos() as i64) << 2) & 0xffff_fffc;
        if id <= self.last {
            id = (self.last | 3) + 1;
        }
        id = (id & !3) | if response { 1 } else { 3 };
        if id <= self.last {
            id += 4;
        }
        self.last = id;
        id
    }
}

async fn write_loop(
    mut wr: tokio::net::tcp::OwnedWriteHalf,
    mut rx: mpsc::UnboundedReceiver<Outgoing>,
    mut sess: watch::Receiver<Option<SessionInfo>>,
) {
    let mut transport = transport::Full::new();
    let mut ids = MsgIds { last: 0 };
    let mut content_sent = 0i32;
    let mut batch = Vec::new();
    while let Some(first) = rx.recv().await {
        batch.clear();
        batch.push(first);
        // Batch whatever is already queued into one container (fewer packets under load).
        while batch.len() < 64 {
            match rx.try_recv() {
                Ok(m) => batch.push(m),
                Err(_) => break,
            }
        }
        let info = match sess.borrow_and_update().clone() {
            Some(i) => i,
            None => continue,
        };
        let mut messages: Vec<(i64, i32, Vec<u8>)> = Vec::with_capacity(batch.len());
        for out in batch.drain(..) {
            let (response, body) = match out {
                Outgoing::Result { req_msg_id, body } => {
                    let mut b = Vec::with_capacity(body.len() + 12);
                    RPC_RESULT.serialize(&mut b);
                    req_msg_id.serialize(&mut b);
                    b.extend_from_slice(&maybe_gzip(body));
                    (true, b)
                }
                Outgoing::Push(b) => (false, b),
                Outgoing::Service(b) => (true, b),
            };
            // Content-related messages get an odd seq_no = 2·n+1 (grammers acks odd ones).
            let seq = content_sent * 2 + 1;
            content_sent += 1;
            messages.push((ids.next(response), seq, body));
        }
        let (msg_id, seq, body) = if messages.len() == 1 {
            messages.pop().unwrap()
        } else {
            let mut b = Vec::new();
            MSG_CONTAINER.serialize(&mut b);
            (messages.len() as i32).serialize(&mut b);
            for (id, seq, body) in &messages {
                id.serialize(&mut b);
                seq.serialize(&mut b);
                (body.len() as i32).serialize(&mut b);
                b.extend_from_slice(body);
            }
            // The container itself is not content-related: even seq_no.
            (ids.next(false), content_sent * 2, b)
        };
        let mut plain = Vec::with_capacity(body.len() + 32);
        0i64.serialize(&mut plain); // salt (grammers ignores it, simulator.md §2.3)
        info.session_id.serialize(&mut plain);
        msg_id.serialize(&mut plain);
        seq.serialize(&mut plain);
        (body.len() as i32).serialize(&mut plain);
        plain.extend_from_slice(&body);
        let packet = crypto::encrypt_server(plain, &info.key);
        let mut frame = DequeBuffer::with_capacity(packet.len() + 16, 8);
        frame.extend(packet.iter().copied());
        transport.pack(&mut frame);
        if wr.write_all(frame.as_ref()).await.is_err() {
            return;
        }
    }
}

fn maybe_gzip(body: Vec<u8>) -> Vec<u8> {
    if body.len() < GZIP_THRESHOLD {
        return body;
    }
    use std::io::Write;
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    if enc.write_all(&body).is_err() {
        return body;
    }
    match enc.finish() {
        Ok(packed) if packed.len() + 8 < body.len() => {
            let mut b = Vec::with_capacity(packed.len() + 8);
            GZIP_PACKED.serialize(&mut b);
            packed.serialize(&mut b);
            b
        }
        _ => body,
    }
}

/// Binds the listener (synchronously, so `Sim::start` can report the address).
pub fn bind(addr: SocketAddr) -> std::io::Result<std::net::TcpListener> {
    let l = std::net::TcpListener::bind(addr)?;
    l.set_nonblocking(true)?;
    Ok(l)
}
