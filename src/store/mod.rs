//! The store: one SQLite file, and the only module that writes SQL.
//!
//! Layout: one writer connection behind a mutex (SQLite allows one writer at a
//! time anyway, and a single connection avoids busy-retry sleeps between our
//! own threads), plus an r2d2 pool of readers (WAL lets them run beside the
//! writer). Every query is a named function in a submodule taking `&Connection`,
//! so callers can group several into one transaction with [`Store::write`].
//!
//! Checkpoints: the writer runs with `wal_autocheckpoint = 0`, and a
//! background thread runs passive checkpoints ([`Store::spawn_checkpointer`]).
//! Inline auto-checkpoints made the commit that crossed the threshold pay for
//! copying the WAL back into the database, which was the p99 of /click.

pub mod audit;
pub mod bot_chats;
pub mod clicks;
pub mod conversions;
pub mod dialogues;
pub mod events;
pub mod leads;
pub mod ledger;
pub mod migrations;
pub mod notifications;
pub mod offers;
pub mod payments;
pub mod postbacks;
pub mod report;
pub mod session;
pub mod settings;
pub mod shares;
pub mod users;

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use r2d2_sqlite::SqliteConnectionManager;
pub use rusqlite::Connection;
use rusqlite::OpenFlags;

/// How long a connection waits on a lock held by another process (e.g. the
/// CLI while the daemon runs) before giving up with SQLITE_BUSY.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Typed row ids, so an offer id is never passed where a click id is expected.
macro_rules! typed_id {
    ($($name:ident),*) => {$(
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub i64);
        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { self.0.fmt(f) }
        }
        impl rusqlite::ToSql for $name {
            fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> { self.0.to_sql() }
        }
        impl rusqlite::types::FromSql for $name {
            fn column_result(v: rusqlite::types::ValueRef<'_>) -> rusqlite::types::FromSqlResult<Self> {
                i64::column_result(v).map($name)
            }
        }
    )*};
}
typed_id!(
    OfferId,
    ClickId,
    LeadId,
    ConversionId,
    PostbackId,
    ShareId,
    EventId
);

/// Errors a caller acts on differently; everything else is `Sqlite`.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("database pool error: {0}")]
    Pool(#[from] r2d2::Error),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    // One writer: SQLite serialises writers anyway, and sharing one connection
    // keeps our threads from sleeping in the busy handler against each other.
    writer: Mutex<Connection>,
    readers: r2d2::Pool<SqliteConnectionManager>,
    /// How the last write transactions went, for /healthz.
    health: Mutex<WriteHealth>,
}

/// The outcome of the latest write transaction that reached SQLite.
#[derive(Debug, Default)]
struct WriteHealth {
    /// When a write last committed.
    ok_at: Option<Instant>,
    /// The latest failure to begin or commit a write, and when; cleared by a commit.
    failed: Option<(Instant, String)>,
}

/// Whether the database takes writes, as /healthz reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Writable {
    Yes,
    /// The last write could not begin or commit (disk full, I/O error, read-only).
    No(String),
}

fn configure(conn: &Connection) -> rusqlite::Result<()> {
    conn.busy_timeout(BUSY_TIMEOUT)?;
    // WAL: readers never block the writer. NORMAL: a commit survives a crash of
    // this process (SIGKILL included); see README "Durability".
    // journal_size_limit: when a passive checkpoint lets the WAL restart, it is
    // truncated to 64 MiB instead of keeping its peak size on disk.
    conn.execute_batch(
        "PRAGMA journal_mode = WAL;
         PRAGMA synchronous = NORMAL;
         PRAGMA foreign_keys = ON;
         PRAGMA temp_store = MEMORY;
         PRAGMA journal_size_limit = 67108864;",
    )
}

impl Store {
    /// Opens (creating if needed) the database, runs pending migrations in one
    /// transaction, then builds the reader pool.
    pub fn open(path: &Path, readers: u32) -> anyhow::Result<Store> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("creating database directory {}", dir.display()))?;
        }
        let mut writer = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .with_context(|| format!("opening database {}", path.display()))?;
        configure(&writer).with_context(|| format!("configuring database {}", path.display()))?;
        writer.execute_batch("PRAGMA wal_autocheckpoint = 0;")?;
        refuse_foreign_database(&writer, path)?;
        migrations::run(&mut writer)
            .with_context(|| format!("migrating database {}", path.display()))?;

        let manager = SqliteConnectionManager::file(path)
            .with_flags(OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)
            .with_init(|c| {
                c.busy_timeout(BUSY_TIMEOUT)?;
                c.execute_batch("PRAGMA foreign_keys = ON; PRAGMA temp_store = MEMORY;")
            });
        let readers = r2d2::Pool::builder()
            .max_size(readers.max(1))
            .min_idle(Some(1))
            .build(manager)
            .context("building the reader pool")?;
        Ok(Store {
            inner: Arc::new(Inner {
                path: path.to_path_buf(),
                writer: Mutex::new(writer),
                readers,
                health: Mutex::new(WriteHealth::default()),
            }),
        })
    }

    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    fn writer(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock cannot leave a half-done transaction
        // behind (rusqlite rolls back on drop), so a poisoned lock is safe to reuse.
        self.inner.writer.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs `f` in one write transaction; commits if it returns Ok.
    pub fn write<T, E>(
        &self,
        f: impl FnOnce(&rusqlite::Transaction<'_>) -> Result<T, E>,
    ) -> Result<T, E>
    where
        E: From<StoreError>,
    {
        let mut conn = self.writer();
        let tx = match conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate) {
            Ok(tx) => tx,
            Err(e) => return Err(self.write_failed(e).into()),
        };
        let out = f(&tx)?;
        match tx.commit() {
            Ok(()) => {
                // A success does not clear a recent failure: on a nearly full
                // disk small writes can pass between failing ones (a rewound
                // WAL reuses its space), and /healthz must not flap to ok
                // while clicks fail. Only the probe in `writable` clears it.
                self.write_health().ok_at = Some(Instant::now());
                Ok(out)
            }
            Err(e) => Err(self.write_failed(e).into()),
        }
    }

    fn write_health(&self) -> MutexGuard<'_, WriteHealth> {
        // Two plain fields; a panic cannot leave them inconsistent.
        self.inner.health.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Remembers a failure to begin or commit (not a busy wait: that passes).
    fn write_failed(&self, e: rusqlite::Error) -> StoreError {
        let busy = matches!(
            e.sqlite_error_code(),
            Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
        );
        if !busy {
            self.write_health().failed = Some((Instant::now(), e.to_string()));
        }
        StoreError::from(e)
    }

    /// Whether the database takes writes: the outcome of the last write if it
    /// is recent (within `fresh`), else of a probe write made now (one small
    /// row in `settings`). A full disk or a read-only file is `No` with the
    /// reason, while reads (and so [`Store::ping`]) may still succeed.
    pub fn writable(&self, fresh: Duration) -> Writable {
        {
            let h = self.write_health();
            match &h.failed {
                Some((at, why)) if at.elapsed() < fresh => return Writable::No(why.clone()),
                // An old failure is checked again by the probe below.
                Some(_) => {}
                None if h.ok_at.is_some_and(|t| t.elapsed() < fresh) => return Writable::Yes,
                None => {}
            }
        }
        let probe = self.write(|tx| {
            settings::set(tx, "healthz.write_probe", &unix_now().to_string())?;
            Ok::<_, StoreError>(())
        });
        match probe {
            Ok(()) => {
                self.write_health().failed = None;
                Writable::Yes
            }
            Err(e) => Writable::No(e.to_string()),
        }
    }

    /// Runs `f` on a pooled read-only connection.
    pub fn read<T, E>(&self, f: impl FnOnce(&Connection) -> Result<T, E>) -> Result<T, E>
    where
        E: From<StoreError>,
    {
        let conn = self.inner.readers.get().map_err(StoreError::from)?;
        f(&conn)
    }

    /// Cheap liveness probe for /healthz.
    pub fn ping(&self) -> Result<()> {
        self.read(|c| Ok(c.query_row("SELECT 1", [], |_| Ok(()))?))
    }

    /// Starts the background checkpointer on its own read-write connection
    /// (not the writer's: the bulk of a checkpoint must never hold the lock
    /// request threads wait on). PASSIVE copies what it can without blocking
    /// readers or the writer. It stops, after a last checkpoint, when the
    /// sender is dropped.
    ///
    /// A passive checkpoint alone never lets the WAL start over under
    /// sustained writes: SQLite rewinds the WAL only when a write transaction
    /// begins with every frame already copied back, and a writer that commits
    /// continuously is always a few frames ahead. The WAL then grew without
    /// bound (3 GB after 10 s of clicks), every commit appended to new blocks
    /// of the file (the kernel zeroes each one: a third of all CPU), and the
    /// wal-index grew with it. So when the WAL passes [`RESTART_FRAMES`],
    /// more passes copy what arrived during the previous one, each followed by
    /// a sync of the database file, and a last one runs holding the writer, so
    /// no commit lands meanwhile: it copies and syncs only the frames of the
    /// last few milliseconds (about 3 ms under 30,000 clicks/s), and the next
    /// write transaction rewinds the WAL.
    pub fn spawn_checkpointer(
        &self,
        every: Duration,
    ) -> (mpsc::Sender<()>, thread::JoinHandle<()>) {
        let (tx, rx) = mpsc::channel::<()>();
        let store = self.clone();
        let path = self.inner.path.clone();
        let handle = thread::Builder::new()
            .name("checkpoint".into())
            .spawn(move || {
                let conn = match Connection::open(&path).and_then(|c| configure(&c).map(|_| c)) {
                    Ok(c) => c,
                    Err(e) => {
                        log::error!(
                            "checkpointer: cannot open {}: {e}; the WAL will grow until restart",
                            path.display()
                        );
                        return;
                    }
                };
                let db_file = match std::fs::File::open(&path) {
                    Ok(f) => f,
                    Err(e) => {
                        log::error!(
                            "checkpointer: cannot open {}: {e}; the WAL will grow until restart",
                            path.display()
                        );
                        return;
                    }
                };
                let mut rewound = None;
                let mut checkpoint = || {
                    if let Err(e) = checkpoint_and_rewind(&store, &conn, &db_file, &mut rewound) {
                        log::warn!("wal checkpoint failed: {e}");
                    }
                };
                loop {
                    match rx.recv_timeout(every) {
                        Err(mpsc::RecvTimeoutError::Timeout) => checkpoint(),
                        _ => {
                            checkpoint();
                            return;
                        }
                    }
                }
            })
            .expect("spawning the checkpoint thread");
        (tx, handle)
    }

    /// Online backup to `dest`, page by page, safe while the daemon writes.
    pub fn backup(&self, dest: &Path) -> anyhow::Result<()> {
        let src = self.inner.readers.get()?;
        let mut dst = Connection::open(dest)
            .with_context(|| format!("creating backup file {}", dest.display()))?;
        let backup = rusqlite::backup::Backup::new(&src, &mut dst)?;
        // 256 pages per step, short pauses: the writer is never locked out for long.
        backup
            .run_to_completion(256, Duration::from_millis(5), None)
            .with_context(|| format!("backing up to {}", dest.display()))?;
        Ok(())
    }
}

/// A file at schema version 0 must be empty: one with tables of its own is
/// somebody else's database, and migrating would add our tables to it.
fn refuse_foreign_database(conn: &Connection, path: &Path) -> anyhow::Result<()> {
    if migrations::current_version(conn)? != 0 {
        return Ok(());
    }
    let names: Vec<String> = conn
        .prepare(
            "SELECT name FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY name LIMIT 4",
        )?
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    if names.is_empty() {
        return Ok(());
    }
    anyhow::bail!(
        "{} is not a tgtrack database: it has tables of its own ({}) and no tgtrack schema version; \
         refusing to add tgtrack's tables to it (point database.path at a new file)",
        path.display(),
        names.join(", ")
    )
}

/// WAL size (frames of one page) from which the checkpointer makes sure the
/// WAL starts over: 4,096 frames of 4 KiB, 16 MiB.
const RESTART_FRAMES: i64 = 4096;

/// The checkpoint that holds the writer starts once fewer frames than this
/// arrived during the previous pass: 128 frames (512 KiB, at most 128 pages
/// to copy and sync), a millisecond or two.
const REWIND_LEFT_FRAMES: i64 = 128;

/// Unlocked passes before the one that holds the writer, at most.
const MAX_PASSES: usize = 12;

/// A PASSIVE checkpoint on `conn`; returns the WAL's size in frames when it
/// began (it copies up to there).
fn passive_checkpoint(conn: &Connection) -> rusqlite::Result<i64> {
    conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| r.get(1))
}

/// One round of the checkpointer (see [`Store::spawn_checkpointer`]): a
/// passive pass on `conn`; if the WAL is over [`RESTART_FRAMES`], more passes
/// until few frames arrive during one, then a last pass holding the writer,
/// which copies only those, so the next write transaction rewinds the WAL.
/// `rewound` is the WAL's size after the last rewinding pass: while no write
/// came since (the WAL rewinds at the next one), there is nothing to do.
fn checkpoint_and_rewind(
    store: &Store,
    conn: &Connection,
    db_file: &std::fs::File,
    rewound: &mut Option<i64>,
) -> anyhow::Result<()> {
    let t0 = Instant::now();
    let mut frames = passive_checkpoint(conn)?;
    if frames < RESTART_FRAMES || *rewound == Some(frames) {
        return Ok(());
    }
    let first = frames;
    let mut passes = 1;
    loop {
        // SQLite syncs the database file only in a pass that reaches the end
        // of the WAL, which under load is the one holding the writer: that
        // pass then flushed every page the unlocked passes had copied (tens
        // of MiB, 7-20 ms with the writer held). Flushing them here, unlocked,
        // leaves it only the pages it copies itself.
        db_file.sync_data()?;
        let now = passive_checkpoint(conn)?;
        passes += 1;
        // A rewind happened meanwhile (the WAL starts over): nothing to do.
        if now < frames {
            return Ok(());
        }
        let arrived = now - frames;
        frames = now;
        if arrived <= REWIND_LEFT_FRAMES || passes >= MAX_PASSES {
            break;
        }
    }
    db_file.sync_data()?;
    let t1 = Instant::now();
    let writer = store.writer();
    let last = passive_checkpoint(&writer)?;
    drop(writer);
    *rewound = Some(last);
    log::debug!(
        "checkpoint: {first} frames, {passes} passes in {:?}, then {} more holding the writer for {:?}",
        t1 - t0,
        last - frames,
        t1.elapsed()
    );
    Ok(())
}

/// Current unix time in seconds: the one place the store's callers read the clock.
pub use crate::clock::unix_now;
