//! Helpers the daemon benches share: reading a child's memory and CPU from
//! /proc, the machine's description, and a child that dies with the bench.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::Child;
use std::time::Duration;

/// Kills the child on every exit path, a panic included.
pub struct Daemon(pub Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub fn http_status(addr: SocketAddr, path: &str) -> Option<u16> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_millis(200)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut line = String::new();
    BufReader::new(s).read_line(&mut line).ok()?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// The first process named `name` among the descendants of `root`.
pub fn descendant_named(root: u32, name: &str) -> Option<u32> {
    let mut procs = Vec::new();
    for e in std::fs::read_dir("/proc").ok()?.flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
            continue;
        };
        let comm = stat[open + 1..close].to_string();
        let ppid = stat[close + 1..]
            .split_whitespace()
            .nth(1)
            .and_then(|v| v.parse::<u32>().ok())
            .unwrap_or(0);
        procs.push((pid, ppid, comm));
    }
    let mut frontier = vec![root];
    while let Some(p) = frontier.pop() {
        for (pid, ppid, comm) in &procs {
            if *ppid == p {
                if comm == name {
                    return Some(*pid);
                }
                frontier.push(*pid);
            }
        }
    }
    None
}

pub fn rss_kib(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// utime + stime of the process from /proc/PID/stat, in seconds.
pub fn cpu_times(pid: u32) -> String {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    let tick = 100.0; // CLK_TCK on Linux
    let ut = f.get(11).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0) / tick;
    let st = f.get(12).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0) / tick;
    format!("user {ut:.2} s, system {st:.2} s")
}

pub fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into())
}

pub fn mem_total_mib() -> u64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find(|l| l.starts_with("MemTotal:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<u64>().ok())
        })
        .map_or(0, |k| k / 1024)
}

/// Writes the daemon's config for a bench into `dir`: the database `db`, an
/// HTTP port free at the time of the call, and the bot on `sim` with the auth
/// key in `key`. Returns the config's path and the HTTP address.
pub fn daemon_config(
    dir: &std::path::Path,
    db: &std::path::Path,
    key: &std::path::Path,
    sim: &tgsim::Sim,
) -> (std::path::PathBuf, SocketAddr) {
    let http = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
        l.local_addr().expect("its address")
    };
    let cfg = dir.join("config.toml");
    std::fs::write(
        &cfg,
        format!(
            "[database]\npath = {db:?}\n[http]\nlisten = \"{http}\"\npublic_base_url = \"http://{http}\"\nthreads = 2\n\
             [telegram]\napi_id = 1\napi_hash = \"0123456789abcdef0123456789abcdef\"\nbot_token = {token:?}\nbot_username = {name:?}\n\
             [telegram.test_dc]\naddress = \"{addr}\"\nauth_key_file = {key:?}\n",
            db = db.display().to_string(),
            token = sim.bot_token(),
            name = sim.bot_username(),
            addr = sim.addr(),
            key = key.display().to_string(),
        ),
    )
    .expect("write the bench config");
    (cfg, http)
}
