//! tgtrack patch: the open connections, so the accept thread can bound them,
//! close idle keep-alive connections first when the cap is near, and close
//! every one when the server is dropped; and the counters `/metrics` shows.

use std::collections::HashMap;
use std::net::Shutdown;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::connection::Connection;

/// Statuses the server answers by itself (malformed or over-limit requests,
/// and shed connections), in the order of [`ServerStats::refusals`].
pub const REFUSAL_STATUSES: [u16; 10] = [400, 408, 411, 413, 414, 417, 431, 503, 505, 0];

/// Counters of the connection layer, shared with the application.
#[derive(Debug, Default)]
pub struct ServerStats {
    open: AtomicUsize,
    accepted: AtomicU64,
    shed: AtomicU64,
    evicted_idle: AtomicU64,
    accept_errors: AtomicU64,
    refusals: [AtomicU64; REFUSAL_STATUSES.len()],
    listener_dead: AtomicBool,
}

impl ServerStats {
    /// Connections open now.
    pub fn open_connections(&self) -> usize {
        self.open.load(Relaxed)
    }
    /// Connections accepted since start.
    pub fn accepted(&self) -> u64 {
        self.accepted.load(Relaxed)
    }
    /// Connections refused at once (503) because the cap was reached with no
    /// idle connection to close, or no thread could be started for them.
    pub fn shed(&self) -> u64 {
        self.shed.load(Relaxed)
    }
    /// Idle keep-alive connections closed to make room for new ones.
    pub fn evicted_idle(&self) -> u64 {
        self.evicted_idle.load(Relaxed)
    }
    /// Failed `accept` calls (EMFILE and the like).
    pub fn accept_errors(&self) -> u64 {
        self.accept_errors.load(Relaxed)
    }
    /// Answers the server produced itself, by status (0: any other).
    pub fn refusals(&self) -> Vec<(u16, u64)> {
        REFUSAL_STATUSES
            .iter()
            .zip(self.refusals.iter())
            .map(|(s, n)| (*s, n.load(Relaxed)))
            .collect()
    }
    /// True once the accept thread has stopped for any reason but shutdown.
    pub fn listener_dead(&self) -> bool {
        self.listener_dead.load(Relaxed)
    }

    pub(crate) fn count_refusal(&self, status: u16) {
        let i = REFUSAL_STATUSES
            .iter()
            .position(|s| *s == status)
            .unwrap_or(REFUSAL_STATUSES.len() - 1);
        self.refusals[i].fetch_add(1, Relaxed);
    }
    pub(crate) fn count_accepted(&self) {
        self.accepted.fetch_add(1, Relaxed);
    }
    pub(crate) fn count_shed(&self) {
        self.shed.fetch_add(1, Relaxed);
        self.count_refusal(503);
    }
    pub(crate) fn count_accept_error(&self) {
        self.accept_errors.fetch_add(1, Relaxed);
    }
    pub(crate) fn mark_listener_dead(&self) {
        self.listener_dead.store(true, Relaxed);
    }
}

/// Marks one connection idle (waiting for the first byte of its next
/// request) or busy; only idle connections are ever closed to make room.
pub(crate) struct IdleMark {
    cell: Arc<AtomicU64>,
    base: Instant,
}

impl IdleMark {
    pub(crate) fn idle(&self) {
        // +1 so that 0 keeps meaning "busy".
        let ms = self.base.elapsed().as_millis() as u64 + 1;
        self.cell.store(ms, Relaxed);
    }
    pub(crate) fn busy(&self) {
        self.cell.store(0, Relaxed);
    }
}

struct Slot {
    conn: Arc<Connection>,
    idle_since: Arc<AtomicU64>,
}

/// The open connections.
pub(crate) struct Registry {
    slots: Mutex<HashMap<u64, Slot>>,
    next_id: AtomicU64,
    base: Instant,
    stats: Arc<ServerStats>,
}

impl Registry {
    pub(crate) fn new(stats: Arc<ServerStats>) -> Registry {
        Registry {
            slots: Mutex::new(HashMap::new()),
            next_id: AtomicU64::new(1),
            base: Instant::now(),
            stats,
        }
    }

    fn slots(&self) -> MutexGuard<'_, HashMap<u64, Slot>> {
        // Only inserts and removes happen under the lock; a panic cannot leave it half-done.
        self.slots.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn len(&self) -> usize {
        self.slots().len()
    }

    /// Registers a new connection; it starts idle (nothing received yet).
    pub(crate) fn insert(&self, conn: Arc<Connection>) -> (u64, IdleMark) {
        let id = self.next_id.fetch_add(1, Relaxed);
        let mark = IdleMark {
            cell: Arc::new(AtomicU64::new(0)),
            base: self.base,
        };
        mark.idle();
        let mut slots = self.slots();
        slots.insert(
            id,
            Slot {
                conn,
                idle_since: mark.cell.clone(),
            },
        );
        self.stats.open.store(slots.len(), Relaxed);
        (id, mark)
    }

    pub(crate) fn remove(&self, id: u64) {
        let mut slots = self.slots();
        slots.remove(&id);
        self.stats.open.store(slots.len(), Relaxed);
    }

    /// Closes the connection that has been idle longest, if any: its reading
    /// side is shut down, which wakes its thread with an end of stream; an
    /// answer still being written is not affected. Returns whether one was closed.
    pub(crate) fn evict_oldest_idle(&self) -> bool {
        let mut slots = self.slots();
        let oldest = slots
            .iter()
            .filter_map(|(id, s)| match s.idle_since.load(Relaxed) {
                0 => None,
                t => Some((t, *id)),
            })
            .min();
        let Some((_, id)) = oldest else {
            return false;
        };
        if let Some(slot) = slots.remove(&id) {
            let _ = slot.conn.shutdown(Shutdown::Read);
        }
        self.stats.open.store(slots.len(), Relaxed);
        self.stats.evicted_idle.fetch_add(1, Relaxed);
        true
    }

    /// Shuts the reading side of every connection (server shutdown): idle
    /// keep-alive connections end now instead of at their timeout.
    pub(crate) fn close_all(&self) {
        for slot in self.slots().values() {
            let _ = slot.conn.shutdown(Shutdown::Read);
        }
    }
}

/// Removes a connection from the registry when its thread ends (or unwinds).
pub(crate) struct SlotGuard {
    pub(crate) registry: Arc<Registry>,
    pub(crate) id: u64,
}

impl Drop for SlotGuard {
    fn drop(&mut self) {
        self.registry.remove(self.id);
    }
}

/// Logs a repeated failure once, then at most once per interval with the
/// number of repeats in between, so an exhausted resource cannot flood the log.
pub(crate) struct Throttle {
    last: Option<Instant>,
    suppressed: u64,
    every: Duration,
}

impl Throttle {
    pub(crate) fn new(every: Duration) -> Throttle {
        Throttle {
            last: None,
            suppressed: 0,
            every,
        }
    }

    /// `Some(n)` when this occurrence should be logged, `n` being how many
    /// were left out since the last report.
    pub(crate) fn hit(&mut self) -> Option<u64> {
        let now = Instant::now();
        match self.last {
            Some(t) if now.duration_since(t) < self.every => {
                self.suppressed += 1;
                None
            }
            _ => {
                self.last = Some(now);
                Some(std::mem::take(&mut self.suppressed))
            }
        }
    }
}
