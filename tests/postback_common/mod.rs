//! A small HTTP/1.1 receiver on 127.0.0.1:0 for postback tests and the drain
//! benchmark: keep-alive, one thread per connection, scripted answers.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// A request as the receiver saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    pub target: String,
    pub content_type: Option<String>,
    pub body: String,
}

impl Seen {
    /// A query parameter of the target (undecoded).
    pub fn param(&self, name: &str) -> Option<String> {
        let q = self.target.split_once('?')?.1;
        q.split('&').find_map(|p| {
            let (k, v) = p.split_once('=')?;
            (k == name).then(|| v.to_string())
        })
    }
}

/// What to do with the n-th request (0-based, counted across connections).
pub enum Reply {
    Status(u16, String),
    /// Wait this long, then answer 200 (a receiver that hangs past our timeout).
    Hang(Duration),
    /// Wait, then answer.
    Slow(Duration, u16, String),
}

type Script = dyn Fn(usize, &Seen) -> Reply + Send + Sync;

pub struct Receiver {
    pub addr: SocketAddr,
    count: Arc<AtomicUsize>,
    seen: Arc<Mutex<Vec<Seen>>>,
    record: bool,
}

impl Receiver {
    /// Starts a receiver answering with `script`.
    pub fn start(script: impl Fn(usize, &Seen) -> Reply + Send + Sync + 'static) -> Receiver {
        Self::start_with(script, true)
    }

    /// `record = false` skips keeping requests (the benchmark).
    pub fn start_with(
        script: impl Fn(usize, &Seen) -> Reply + Send + Sync + 'static,
        record: bool,
    ) -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().unwrap();
        let count = Arc::new(AtomicUsize::new(0));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let script: Arc<Script> = Arc::new(script);
        {
            let (count, seen) = (count.clone(), seen.clone());
            thread::spawn(move || {
                for stream in listener.incoming() {
                    let Ok(stream) = stream else { continue };
                    let (count, seen, script) = (count.clone(), seen.clone(), script.clone());
                    thread::spawn(move || serve(stream, &count, &seen, &*script, record));
                }
            });
        }
        Receiver {
            addr,
            count,
            seen,
            record,
        }
    }

    /// Answers 200 "OK" to everything.
    pub fn ok() -> Receiver {
        Self::start(|_, _| Reply::Status(200, "OK".into()))
    }

    pub fn url(&self, path_and_query: &str) -> String {
        format!("http://{}{}", self.addr, path_and_query)
    }

    pub fn count(&self) -> usize {
        self.count.load(Ordering::SeqCst)
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

fn serve(
    stream: TcpStream,
    count: &AtomicUsize,
    seen: &Mutex<Vec<Seen>>,
    script: &Script,
    record: bool,
) {
    let _ = stream.set_nodelay(true);
    let mut writer = stream.try_clone().unwrap();
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    loop {
        line.clear();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let mut parts = line.split_whitespace();
        let method = parts.next().unwrap_or("").to_string();
        let target = parts.next().unwrap_or("").to_string();
        let mut len = 0usize;
        let mut content_type = None;
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h).unwrap_or(0) == 0 {
                return;
            }
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            if let Some((k, v)) = h.split_once(':') {
                let k = k.trim().to_ascii_lowercase();
                if k == "content-length" {
                    len = v.trim().parse().unwrap_or(0);
                } else if k == "content-type" {
                    content_type = Some(v.trim().to_string());
                }
            }
        }
        let mut body = vec![0; len];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let req = Seen {
            method,
            target,
            content_type,
            body: String::from_utf8_lossy(&body).into_owned(),
        };
        let n = count.fetch_add(1, Ordering::SeqCst);
        let reply = script(n, &req);
        if record {
            seen.lock().unwrap().push(req);
        }
        let (status, text) = match reply {
            Reply::Status(s, t) => (s, t),
            Reply::Hang(d) => {
                thread::sleep(d);
                (200, "late".to_string())
            }
            Reply::Slow(d, s, t) => {
                thread::sleep(d);
                (s, t)
            }
        };
        let resp = format!(
            "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nContent-Type: text/plain\r\n\r\n{text}",
            text.len()
        );
        if writer.write_all(resp.as_bytes()).is_err() {
            return;
        }
    }
}

/// Polls `cond` every 10 ms until it holds or `timeout` passes.
pub fn wait_until(timeout: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + timeout;
    loop {
        if cond() {
            return true;
        }
        if Instant::now() >= end {
            return false;
        }
        thread::sleep(Duration::from_millis(10));
    }
}
