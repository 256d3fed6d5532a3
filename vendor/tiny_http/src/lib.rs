//! # Simple usage
//!
//! ## Creating the server
//!
//! The easiest way to create a server is to call `Server::http()`.
//!
//! The `http()` function returns an `IoResult<Server>` which will return an error
//! in the case where the server creation fails (for example if the listening port is already
//! occupied).
//!
//! ```no_run
//! let server = tiny_http::Server::http("0.0.0.0:0").unwrap();
//! ```
//!
//! A newly-created `Server` will immediately start listening for incoming connections and HTTP
//! requests.
//!
//! ## Receiving requests
//!
//! Calling `server.recv()` will block until the next request is available.
//! This function returns an `IoResult<Request>`, so you need to handle the possible errors.
//!
//! ```no_run
//! # let server = tiny_http::Server::http("0.0.0.0:0").unwrap();
//!
//! loop {
//!     // blocks until the next request is received
//!     let request = match server.recv() {
//!         Ok(rq) => rq,
//!         Err(e) => { println!("error: {}", e); break }
//!     };
//!
//!     // do something with the request
//!     // ...
//! }
//! ```
//!
//! In a real-case scenario, you will probably want to spawn multiple worker tasks and call
//! `server.recv()` on all of them. Like this:
//!
//! ```no_run
//! # use std::sync::Arc;
//! # use std::thread;
//! # let server = tiny_http::Server::http("0.0.0.0:0").unwrap();
//! let server = Arc::new(server);
//! let mut guards = Vec::with_capacity(4);
//!
//! for _ in (0 .. 4) {
//!     let server = server.clone();
//!
//!     let guard = thread::spawn(move || {
//!         loop {
//!             let rq = server.recv().unwrap();
//!
//!             // ...
//!         }
//!     });
//!
//!     guards.push(guard);
//! }
//! ```
//!
//! If you don't want to block, you can call `server.try_recv()` instead.
//!
//! ## Handling requests
//!
//! The `Request` object returned by `server.recv()` contains informations about the client's request.
//! The most useful methods are probably `request.method()` and `request.url()` which return
//! the requested method (`GET`, `POST`, etc.) and url.
//!
//! To handle a request, you need to create a `Response` object. See the docs of this object for
//! more infos. Here is an example of creating a `Response` from a file:
//!
//! ```no_run
//! # use std::fs::File;
//! # use std::path::Path;
//! let response = tiny_http::Response::from_file(File::open(&Path::new("image.png")).unwrap());
//! ```
//!
//! All that remains to do is call `request.respond()`:
//!
//! ```no_run
//! # use std::fs::File;
//! # use std::path::Path;
//! # let server = tiny_http::Server::http("0.0.0.0:0").unwrap();
//! # let request = server.recv().unwrap();
//! # let response = tiny_http::Response::from_file(File::open(&Path::new("image.png")).unwrap());
//! let _ = request.respond(response);
//! ```
#![forbid(unsafe_code)]
#![deny(rust_2018_idioms)]
#![allow(clippy::match_like_matches_macro)]
// tgtrack patch: a path dependency shows its warnings in every build of ours;
// these two come from upstream code our patches made unused (see PATCHES.md 5).
#![allow(dead_code, unused_imports)]

#[cfg(any(feature = "ssl-openssl", feature = "ssl-rustls"))]
use zeroize::Zeroizing;

use std::error::Error;
use std::io::Error as IoError;
use std::io::ErrorKind as IoErrorKind;
use std::io::Result as IoResult;
use std::net::{Shutdown, TcpStream, ToSocketAddrs};
use std::sync::atomic::AtomicBool;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::mpsc;
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use client::ClientConnection;
use connection::Connection;
use util::MessagesQueue;

pub use common::{HTTPVersion, Header, HeaderField, Method, StatusCode};
pub use connection::{ConfigListenAddr, ListenAddr, Listener};
pub use request::{ReadWrite, Request};
pub use response::{Response, ResponseBox};
pub use test::TestRequest;
pub use util::{ServerStats, REFUSAL_STATUSES};

/// tgtrack patch: caps on what one client may send, and socket timeouts.
///
/// Upstream reads request lines and headers without any bound and has no
/// timeouts, so one client could grow a header line without limit or hold a
/// connection open forever. Every refusal is answered with a short reason and
/// the connection is closed.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Longest request line (method, target, version); longer is 414.
    pub max_request_line: usize,
    /// Total bytes of all header lines; more is 431.
    pub max_header_bytes: usize,
    /// Number of header lines; more is 431.
    pub max_headers: usize,
    /// Largest accepted `Content-Length`; more is 413. Bodies up to this size
    /// are read in full by the connection's own thread before the request is
    /// handed out, so a slow sender never holds a thread calling `recv()`.
    /// Chunked request bodies are refused with 411.
    pub max_body: usize,
    /// Socket read timeout: how long an idle keep-alive connection stays open,
    /// and the deadline for a whole request (head and body) from its first byte.
    /// A request that misses it gets 408. Reads are checked against the deadline
    /// between socket reads, so the worst case is about twice this value.
    pub read_timeout: Option<Duration>,
    /// Socket write timeout, so a client that never reads cannot block a response.
    pub write_timeout: Option<Duration>,
    /// Most connections open at once (each holds one socket and one thread).
    /// From seven eighths of it on, every new connection first closes the
    /// connection idle longest; at the cap with none idle, a new connection
    /// is answered 503 and closed.
    pub max_connections: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_request_line: 8 * 1024,
            max_header_bytes: 16 * 1024,
            max_headers: 64,
            max_body: 64 * 1024,
            read_timeout: Some(Duration::from_secs(10)),
            write_timeout: Some(Duration::from_secs(10)),
            max_connections: 512,
        }
    }
}

#[cfg(not(any(feature = "ssl-openssl", feature = "ssl-rustls")))]
type SslContext = ();
#[cfg(any(feature = "ssl-openssl", feature = "ssl-rustls"))]
type SslContext = crate::ssl::SslContextImpl;

mod client;
mod common;
mod connection;
mod request;
mod response;
mod ssl;
mod test;
mod util;

/// The main class of this library.
///
/// Destroying this object will immediately close the listening socket and the reading
///  part of all the client's connections. Requests that have already been returned by
///  the `recv()` function will not close and the responses will be transferred to the client.
pub struct Server {
    // should be false as long as the server exists
    // when set to true, all the subtasks will close within a few hundreds ms
    close: Arc<AtomicBool>,

    // queue for messages received by child threads
    messages: Arc<MessagesQueue<Message>>,

    // result of TcpListener::local_addr()
    listening_addr: ListenAddr,

    // tgtrack patch: open connections and counters.
    registry: Arc<util::Registry>,
    stats: Arc<ServerStats>,
}

enum Message {
    Error(IoError),
    NewRequest(Request),
}

impl From<IoError> for Message {
    fn from(e: IoError) -> Message {
        Message::Error(e)
    }
}

impl From<Request> for Message {
    fn from(rq: Request) -> Message {
        Message::NewRequest(rq)
    }
}

// this trait is to make sure that Server implements Share and Send
#[doc(hidden)]
trait MustBeShareDummy: Sync + Send {}
#[doc(hidden)]
impl MustBeShareDummy for Server {}

pub struct IncomingRequests<'a> {
    server: &'a Server,
}

/// Represents the parameters required to create a server.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// The addresses to try to listen to.
    pub addr: ConfigListenAddr,

    /// If `Some`, then the server will use SSL to encode the communications.
    pub ssl: Option<SslConfig>,
}

/// Configuration of the server for SSL.
#[derive(Debug, Clone)]
pub struct SslConfig {
    /// Contains the public certificate to send to clients.
    pub certificate: Vec<u8>,
    /// Contains the ultra-secret private key used to decode communications.
    pub private_key: Vec<u8>,
}

impl Server {
    /// Shortcut for a simple server on a specific address.
    #[inline]
    pub fn http<A>(addr: A) -> Result<Server, Box<dyn Error + Send + Sync + 'static>>
    where
        A: ToSocketAddrs,
    {
        Server::new(ServerConfig {
            addr: ConfigListenAddr::from_socket_addrs(addr)?,
            ssl: None,
        })
    }

    /// Shortcut for an HTTPS server on a specific address.
    #[cfg(any(feature = "ssl-openssl", feature = "ssl-rustls"))]
    #[inline]
    pub fn https<A>(
        addr: A,
        config: SslConfig,
    ) -> Result<Server, Box<dyn Error + Send + Sync + 'static>>
    where
        A: ToSocketAddrs,
    {
        Server::new(ServerConfig {
            addr: ConfigListenAddr::from_socket_addrs(addr)?,
            ssl: Some(config),
        })
    }

    #[cfg(unix)]
    #[inline]
    /// Shortcut for a UNIX socket server at a specific path
    pub fn http_unix(
        path: &std::path::Path,
    ) -> Result<Server, Box<dyn Error + Send + Sync + 'static>> {
        Server::new(ServerConfig {
            addr: ConfigListenAddr::unix_from_path(path),
            ssl: None,
        })
    }

    /// Builds a new server that listens on the specified address.
    pub fn new(config: ServerConfig) -> Result<Server, Box<dyn Error + Send + Sync + 'static>> {
        let listener = config.addr.bind()?;
        Self::from_listener(listener, config.ssl)
    }

    /// Builds a new server using the specified TCP listener.
    ///
    /// This is useful if you've constructed TcpListener using some less usual method
    /// such as from systemd. For other cases, you probably want the `new()` function.
    pub fn from_listener<L: Into<Listener>>(
        listener: L,
        ssl_config: Option<SslConfig>,
    ) -> Result<Server, Box<dyn Error + Send + Sync + 'static>> {
        Self::from_listener_with_limits(listener, ssl_config, Limits::default())
    }

    /// tgtrack patch: [`Server::from_listener`] with explicit [`Limits`].
    pub fn from_listener_with_limits<L: Into<Listener>>(
        listener: L,
        ssl_config: Option<SslConfig>,
        limits: Limits,
    ) -> Result<Server, Box<dyn Error + Send + Sync + 'static>> {
        let listener = listener.into();
        // building the "close" variable
        let close_trigger = Arc::new(AtomicBool::new(false));

        // building the TcpListener
        let (server, local_addr) = {
            let local_addr = listener.local_addr()?;
            log::debug!("Server listening on {}", local_addr);
            (listener, local_addr)
        };

        // building the SSL capabilities
        #[cfg(all(feature = "ssl-openssl", feature = "ssl-rustls"))]
        compile_error!(
            "Features 'ssl-openssl' and 'ssl-rustls' must not be enabled at the same time"
        );
        let ssl: Option<SslContext> = {
            match ssl_config {
                #[cfg(any(feature = "ssl-openssl", feature = "ssl-rustls"))]
                Some(config) => Some(SslContext::from_pem(
                    config.certificate,
                    Zeroizing::new(config.private_key),
                )?),
                #[cfg(not(any(feature = "ssl-openssl", feature = "ssl-rustls")))]
                Some(_) => return Err(
                    "Building a server with SSL requires enabling the `ssl` feature in tiny-http"
                        .into(),
                ),
                None => None,
            }
        };

        // creating a task where server.accept() is continuously called
        // and ClientConnection objects are pushed in the messages queue
        let messages = MessagesQueue::with_capacity(8);

        let inside_close_trigger = close_trigger.clone();
        let inside_messages = messages.clone();
        let stats = Arc::new(ServerStats::default());
        let registry = Arc::new(util::Registry::new(stats.clone()));
        let (inside_stats, inside_registry) = (stats.clone(), registry.clone());
        // tgtrack patch: named, and a failure to start it is an error, not a panic.
        thread::Builder::new()
            .name("http-accept".into())
            .spawn(move || {
                // If this thread ends for any reason but shutdown (a panic included),
                // the guard tells `recv()` callers, so the application can exit and be
                // restarted instead of living on without a listener.
                let _guard = ListenerGuard {
                    close: inside_close_trigger.clone(),
                    messages: inside_messages.clone(),
                    stats: inside_stats.clone(),
                };
                let accept = Acceptor {
                    close: inside_close_trigger,
                    messages: inside_messages,
                    stats: inside_stats,
                    registry: inside_registry,
                    limits,
                    tasks_pool: util::TaskPool::new(),
                    throttle: util::Throttle::new(Duration::from_secs(10)),
                };
                log::debug!("Running accept thread");
                accept.run(server, ssl);
                log::debug!("Terminating accept thread");
            })?;

        // result
        Ok(Server {
            messages,
            close: close_trigger,
            listening_addr: local_addr,
            registry,
            stats,
        })
    }

    /// Returns an iterator for all the incoming requests.
    ///
    /// The iterator will return `None` if the server socket is shutdown.
    #[inline]
    pub fn incoming_requests(&self) -> IncomingRequests<'_> {
        IncomingRequests { server: self }
    }

    /// Returns the address the server is listening to.
    #[inline]
    pub fn server_addr(&self) -> ListenAddr {
        self.listening_addr.clone()
    }

    /// Returns the number of clients currently connected to the server.
    pub fn num_connections(&self) -> usize {
        // tgtrack patch: upstream left this `unimplemented!()`.
        self.registry.len()
    }

    /// tgtrack patch: counters of the connection layer (open connections,
    /// shed and evicted ones, the answers the server produced itself).
    pub fn stats(&self) -> Arc<ServerStats> {
        self.stats.clone()
    }

    /// Blocks until an HTTP request has been submitted and returns it.
    pub fn recv(&self) -> IoResult<Request> {
        match self.messages.pop() {
            Some(Message::Error(err)) => Err(err),
            Some(Message::NewRequest(rq)) => Ok(rq),
            None => Err(IoError::new(IoErrorKind::Other, "thread unblocked")),
        }
    }

    /// Same as `recv()` but doesn't block longer than timeout
    pub fn recv_timeout(&self, timeout: Duration) -> IoResult<Option<Request>> {
        match self.messages.pop_timeout(timeout) {
            Some(Message::Error(err)) => Err(err),
            Some(Message::NewRequest(rq)) => Ok(Some(rq)),
            None => Ok(None),
        }
    }

    /// Same as `recv()` but doesn't block.
    pub fn try_recv(&self) -> IoResult<Option<Request>> {
        match self.messages.try_pop() {
            Some(Message::Error(err)) => Err(err),
            Some(Message::NewRequest(rq)) => Ok(Some(rq)),
            None => Ok(None),
        }
    }

    /// Unblock thread stuck in recv() or incoming_requests().
    /// If there are several such threads, only one is unblocked.
    /// This method allows graceful shutdown of server.
    pub fn unblock(&self) {
        self.messages.unblock();
    }
}


/// tgtrack patch: tells `recv()` callers when the accept thread ends for any
/// reason but shutdown (including a panic), instead of leaving a server that
/// answers nothing while the process lives on.
struct ListenerGuard {
    close: Arc<AtomicBool>,
    messages: Arc<MessagesQueue<Message>>,
    stats: Arc<ServerStats>,
}

impl Drop for ListenerGuard {
    fn drop(&mut self) {
        if self.close.load(Relaxed) {
            return;
        }
        self.stats.mark_listener_dead();
        log::error!("http: the accept thread stopped; no new connection can be served");
        self.messages.push(Message::Error(IoError::new(
            IoErrorKind::Other,
            "the HTTP listener stopped",
        )));
    }
}

/// What an `accept` error means for the accept loop.
enum AcceptError {
    /// Out of file descriptors or kernel memory: shed an idle connection, retry.
    Exhausted,
    /// The listening socket itself is unusable: stop (the guard reports it).
    Fatal,
    /// Anything else (an aborted handshake, a signal): try the next one.
    Transient,
}

fn classify(e: &IoError) -> AcceptError {
    // EMFILE and ENFILE are 24 and 23 on Linux and the BSDs; ENOBUFS differs.
    const EMFILE: i32 = 24;
    const ENFILE: i32 = 23;
    const EBADF: i32 = 9;
    #[cfg(target_os = "linux")]
    const ENOBUFS: i32 = 105;
    #[cfg(not(target_os = "linux"))]
    const ENOBUFS: i32 = 55;
    match (e.raw_os_error(), e.kind()) {
        (Some(EMFILE | ENFILE | ENOBUFS), _) | (_, IoErrorKind::OutOfMemory) => {
            AcceptError::Exhausted
        }
        // EINVAL: the socket is no longer listening (shut down or closed under us).
        (Some(EBADF), _) | (_, IoErrorKind::InvalidInput) => AcceptError::Fatal,
        _ => AcceptError::Transient,
    }
}

/// A canned answer for a connection we cannot serve.
const SHED_RESPONSE: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 12\r\nRetry-After: 1\r\nConnection: close\r\n\r\nserver busy\n";

/// tgtrack patch: the accept loop. No resource exhaustion panics it: a
/// connection that cannot get a thread or a slot is answered 503 and closed,
/// EMFILE closes the connection idle longest, and each kind of failure is
/// logged once and then summarised at most every 10 s.
struct Acceptor {
    close: Arc<AtomicBool>,
    messages: Arc<MessagesQueue<Message>>,
    stats: Arc<ServerStats>,
    registry: Arc<util::Registry>,
    limits: Limits,
    tasks_pool: util::TaskPool,
    throttle: util::Throttle,
}

impl Acceptor {
    fn run(mut self, server: Listener, ssl: Option<SslContext>) {
        while !self.close.load(Relaxed) {
            match server.accept() {
                Ok((sock, _)) => {
                    if self.close.load(Relaxed) {
                        break;
                    }
                    self.stats.count_accepted();
                    // A bug in admitting one connection costs that connection only.
                    let admitted = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        self.admit(sock, &ssl)
                    }));
                    if admitted.is_err() {
                        log::error!("http: admitting a connection panicked; it was dropped");
                    }
                }
                Err(e) => {
                    self.stats.count_accept_error();
                    match classify(&e) {
                        AcceptError::Fatal => {
                            log::error!("http: the listening socket failed: {e}");
                            return;
                        }
                        AcceptError::Exhausted => {
                            let evicted = self.registry.evict_oldest_idle();
                            self.report(&format!(
                                "accepting a connection failed: {e}; {}",
                                if evicted {
                                    "closed the connection idle longest"
                                } else {
                                    "no idle connection to close, retrying"
                                }
                            ));
                            // Let the closed connection's thread release its socket
                            // (and a persistent error not spin).
                            thread::sleep(Duration::from_millis(if evicted { 2 } else { 20 }));
                        }
                        AcceptError::Transient => {
                            log::debug!("http: accept: {e}");
                        }
                    }
                }
            }
        }
    }

    fn report(&mut self, what: &str) {
        if let Some(left_out) = self.throttle.hit() {
            if left_out == 0 {
                log::warn!("http: {what}");
            } else {
                log::warn!("http: {what} ({left_out} similar events since the last report)");
            }
        }
    }

    fn admit(&mut self, sock: Connection, ssl: &Option<SslContext>) {
        sock.apply_limits(&self.limits);
        let cap = self.limits.max_connections.max(1);
        let high_water = cap - cap / 8;
        if self.registry.len() >= high_water {
            // Near the cap: the connection idle longest makes room (keep-alive
            // connections waiting for nothing are the cheapest to lose).
            self.registry.evict_oldest_idle();
        }
        if self.registry.len() >= cap {
            self.shed(sock);
            self.report(&format!(
                "{cap} connections open (http.max_connections), none idle: answering 503"
            ));
            return;
        }

        #[cfg(any(feature = "ssl-openssl", feature = "ssl-rustls"))]
        let sock = match ssl {
            None => sock,
            Some(ssl) => match ssl.accept(sock) {
                Ok(s) => {
                    // Upstream's TLS path, unchanged: one thread per connection, unbounded.
                    let (read, write) = util::RefinedTcpStream::new(s);
                    let client = ClientConnection::new(write, read, self.limits, None, None);
                    let messages = self.messages.clone();
                    let mut client = Some(client);
                    let _ = self.tasks_pool.spawn(Box::new(move || {
                        if let Some(client) = client.take() {
                            let (sender, receiver) = mpsc::channel();
                            for rq in client {
                                messages.push(rq.with_notify_sender(sender.clone()).into());
                                if receiver.recv().is_err() {
                                    break;
                                }
                            }
                        }
                    }));
                    return;
                }
                Err(_) => return,
            },
        };
        #[cfg(not(any(feature = "ssl-openssl", feature = "ssl-rustls")))]
        let _ = ssl;

        let conn = Arc::new(sock);
        let (id, mark) = self.registry.insert(conn.clone());
        let mut task = Some((
            conn.clone(),
            mark,
            self.registry.clone(),
            self.messages.clone(),
            self.stats.clone(),
            self.limits,
        ));
        let spawned = self.tasks_pool.spawn(Box::new(move || {
            let Some((conn, mark, registry, messages, stats, limits)) = task.take() else {
                return;
            };
            let _slot = util::SlotGuard { registry, id };
            let (read, write) = util::RefinedTcpStream::new(conn);
            let client = ClientConnection::new(write, read, limits, Some(mark), Some(stats));
            for rq in client {
                messages.push(rq.into());
            }
        }));
        if let Err(e) = spawned {
            // No thread for it (a pids cgroup or RLIMIT_NPROC): refuse it, and
            // close an idle connection so the next one finds a thread.
            self.registry.remove(id);
            self.registry.evict_oldest_idle();
            self.report(&format!("cannot start a connection thread: {e}; answering 503"));
            match Arc::try_unwrap(conn) {
                Ok(sock) => self.shed(sock),
                Err(conn) => {
                    let _ = conn.shutdown(Shutdown::Both);
                    self.stats.count_shed();
                }
            }
        }
    }

    /// Answers 503 without blocking the accept thread, then closes.
    fn shed(&self, sock: Connection) {
        use std::io::{Read, Write};
        self.stats.count_shed();
        let _ = sock.set_nonblocking(true);
        let mut s = &sock;
        // Read what already arrived, so closing does not answer it with a reset.
        let mut buf = [0u8; 4096];
        let _ = s.read(&mut buf);
        let _ = s.write(SHED_RESPONSE);
        let _ = sock.shutdown(Shutdown::Write);
        let _ = s.read(&mut buf);
    }
}

impl Iterator for IncomingRequests<'_> {
    type Item = Request;
    fn next(&mut self) -> Option<Request> {
        self.server.recv().ok()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.close.store(true, Relaxed);
        // tgtrack patch: end idle keep-alive connections now; nobody would answer them.
        self.registry.close_all();
        // Connect briefly to ourselves to unblock the accept thread
        let maybe_stream = match &self.listening_addr {
            ListenAddr::IP(addr) => TcpStream::connect(addr).map(Connection::from),
            #[cfg(unix)]
            ListenAddr::Unix(addr) => {
                // TODO: use connect_addr when its stabilized.
                let path = addr.as_pathname().unwrap();
                std::os::unix::net::UnixStream::connect(path).map(Connection::from)
            }
        };
        if let Ok(stream) = maybe_stream {
            let _ = stream.shutdown(Shutdown::Both);
        }

        #[cfg(unix)]
        if let ListenAddr::Unix(addr) = &self.listening_addr {
            if let Some(path) = addr.as_pathname() {
                let _ = std::fs::remove_file(path);
            }
        }
    }
}
