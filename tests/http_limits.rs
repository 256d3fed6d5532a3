//! Request caps, slow clients and the keep-alive burst regression (the patched
//! tiny_http in vendor/tiny_http, see PATCHES.md).

mod http_common;

use std::io::Write;
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

use http_common::{start_token, Conn, Opts, TestServer};
use tgtrack::domain::offer::OfferStatus;

fn refused(srv: &TestServer, raw: &[u8]) -> http_common::Response {
    let mut c = Conn::open(srv.addr);
    // The server may refuse before reading everything; a failed write is fine.
    let _ = c.stream.write_all(raw);
    let r = c.read_response(false).expect("an answer before the close");
    assert!(
        c.closed_by_server(),
        "a refused request must close the connection"
    );
    r
}

#[test]
fn oversized_heads_and_bodies_get_clear_answers() {
    let srv = TestServer::start(Opts::default());

    let long_target = format!(
        "GET /click/1?uid={} HTTP/1.1\r\nHost: t\r\n\r\n",
        "a".repeat(9000)
    );
    let r = refused(&srv, long_target.as_bytes());
    assert_eq!(r.status, 414);
    assert!(r.text().contains("request line too long"), "{}", r.text());

    let big_header = format!(
        "GET /healthz HTTP/1.1\r\nHost: t\r\nX-Big: {}\r\n\r\n",
        "b".repeat(17 * 1024)
    );
    let r = refused(&srv, big_header.as_bytes());
    assert_eq!(r.status, 431);
    assert!(r.text().contains("headers too large"));

    let mut many = String::from("GET /healthz HTTP/1.1\r\nHost: t\r\n");
    for i in 0..70 {
        many.push_str(&format!("X-H{i}: v\r\n"));
    }
    many.push_str("\r\n");
    let r = refused(&srv, many.as_bytes());
    assert_eq!(r.status, 431);
    assert!(r.text().contains("too many request headers"));

    let r = refused(
        &srv,
        b"POST /postbacks/relay HTTP/1.1\r\nHost: t\r\nContent-Length: 65537\r\n\r\n",
    );
    assert_eq!(r.status, 413);

    let r = refused(
        &srv,
        b"POST /postbacks/relay HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    );
    assert_eq!(r.status, 411);

    let r = refused(
        &srv,
        b"POST /postbacks/relay HTTP/1.1\r\nHost: t\r\nContent-Length: 1x\r\n\r\n",
    );
    assert_eq!(r.status, 400);

    let r = refused(&srv, b"NONSENSE\r\n\r\n");
    assert_eq!(r.status, 400);

    let r = refused(&srv, b"GET /healthz HTTP/1.1\r\nno colon here\r\n\r\n");
    assert_eq!(r.status, 400);

    // Just under the caps is fine.
    let ok = format!(
        "GET /healthz HTTP/1.1\r\nHost: t\r\nX-Big: {}\r\n\r\n",
        "b".repeat(15 * 1024)
    );
    let mut c = Conn::open(srv.addr);
    c.send(ok.as_bytes());
    assert_eq!(c.read_response(false).unwrap().status, 200);

    // A body at the cap is read in full and the connection stays usable.
    let body = vec![b'x'; 64 * 1024];
    c.send(
        format!(
            "POST /postbacks/relay HTTP/1.1\r\nHost: t\r\nContent-Length: {}\r\n\r\n",
            body.len()
        )
        .as_bytes(),
    );
    c.send(&body);
    assert_eq!(c.read_response(false).unwrap().status, 501);
    assert_eq!(c.get("/healthz", &[]).status, 200);

    // Expect: 100-continue is answered, then the body is read like any other.
    c.send(b"POST /postbacks/relay HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n");
    assert_eq!(c.read_response(true).unwrap().status, 100);
    c.send(b"abcd");
    assert_eq!(c.read_response(false).unwrap().status, 501);
}

#[test]
fn slow_clients_time_out_and_pin_no_worker() {
    // One worker: if a slow client could hold it, nobody else would be served.
    let srv = TestServer::start(Opts {
        threads: 1,
        read_timeout: Duration::from_secs(1),
        ..Opts::default()
    });
    let offer = srv.offer(OfferStatus::Active);

    // A slowloris head: one byte every 200 ms, never finishing.
    let addr = srv.addr;
    let slow = thread::spawn(move || {
        use std::io::BufRead;
        let mut c = Conn::open(addr);
        // Short reads between bytes, to notice the answer as soon as it comes.
        c.stream
            .set_read_timeout(Some(Duration::from_millis(10)))
            .unwrap();
        let started = Instant::now();
        for b in b"GET /click/1?uid=slow HTTP/1.1\r\nHost: t\r\nX-Slow: "
            .iter()
            .cycle()
            .take(200)
        {
            if c.stream.write_all(&[*b]).is_err() || started.elapsed() > Duration::from_secs(6) {
                break;
            }
            thread::sleep(Duration::from_millis(200));
            if c.reader.fill_buf().is_ok_and(|b| !b.is_empty()) {
                break;
            }
        }
        let took = started.elapsed();
        c.stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        (c.read_response(false).map(|r| r.status), took)
    });
    // A slow body, declared but never sent.
    let slow_body = thread::spawn(move || {
        let mut c = Conn::open(addr);
        c.send(b"POST /postbacks/relay HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\nabc");
        let started = Instant::now();
        (c.read_response(false).map(|r| r.status), started.elapsed())
    });

    // Meanwhile everyone else is served promptly by the single worker.
    thread::sleep(Duration::from_millis(300));
    for i in 0..20 {
        let t = Instant::now();
        let r = srv.get(&format!("/click/{offer}?uid=fast{i}"));
        assert_eq!(r.status, 302);
        assert!(
            t.elapsed() < Duration::from_millis(500),
            "a fast client waited {:?}",
            t.elapsed()
        );
    }

    let (status, took) = slow.join().unwrap();
    assert_eq!(status, Some(408), "slowloris head");
    assert!(
        took < Duration::from_millis(2600),
        "head deadline took {took:?}"
    );
    let (status, took) = slow_body.join().unwrap();
    assert_eq!(status, Some(408), "slow body");
    assert!(
        took < Duration::from_millis(2600),
        "body deadline took {took:?}"
    );
}

#[test]
fn idle_keep_alive_connections_are_closed() {
    let srv = TestServer::start(Opts {
        read_timeout: Duration::from_millis(500),
        ..Opts::default()
    });
    let mut c = Conn::open(srv.addr);
    assert_eq!(c.get("/healthz", &[]).status, 200);
    let t = Instant::now();
    assert!(c.closed_by_server());
    assert!(
        t.elapsed() < Duration::from_secs(2),
        "idle close took {:?}",
        t.elapsed()
    );
}

/// The tiny_http 0.12 task pool queued new connections behind busy keep-alive
/// ones (24-28 of 32 starved for a whole load run). Every one of 64 concurrent
/// keep-alive connections, all kept busy, must get its first answer within 1 s.
#[test]
fn sixty_four_busy_keep_alive_connections_are_all_served() {
    const CONNS: usize = 64;
    let srv = TestServer::start(Opts::default());
    let offer = srv.offer(OfferStatus::Active);
    let addr = srv.addr;
    let start = Arc::new(Barrier::new(CONNS));
    let handles: Vec<_> = (0..CONNS)
        .map(|i| {
            let start = start.clone();
            thread::spawn(move || {
                let mut c = Conn::open(addr);
                start.wait();
                let t = Instant::now();
                let r = c.get(&format!("/click/{offer}?uid=k{i}"), &[]);
                let first = t.elapsed();
                assert_eq!(r.status, 302);
                start_token(&r);
                // Stay busy, so a starved connection would stay starved.
                let until = Instant::now() + Duration::from_millis(1500);
                let mut n = 1;
                while Instant::now() < until {
                    assert_eq!(
                        c.get(&format!("/click/{offer}?uid=k{i}-{n}"), &[]).status,
                        302
                    );
                    n += 1;
                }
                (first, n)
            })
        })
        .collect();
    let results: Vec<(Duration, usize)> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let slowest = results.iter().map(|r| r.0).max().unwrap();
    assert!(
        slowest < Duration::from_secs(1),
        "slowest first answer took {slowest:?}"
    );
    assert!(
        results.iter().all(|r| r.1 > 1),
        "every connection kept being served"
    );
}
