//! Graceful shutdown: a request in flight when shutdown is triggered is
//! answered (and its click committed), `run` returns, and new connections are
//! refused afterwards.

mod http_common;

use std::net::TcpStream;
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use http_common::{start_token, Conn, Opts, TestServer};
use tgtrack::domain::offer::OfferStatus;

#[test]
fn in_flight_request_completes_then_run_returns() {
    let mut srv = TestServer::start(Opts::default());
    let offer = srv.offer(OfferStatus::Active);

    // Hold the store's writer so the click below is stuck mid-handler.
    let (locked_tx, locked_rx) = mpsc::channel();
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let store = srv.store.clone();
    let holder = thread::spawn(move || {
        store
            .write(|_tx| {
                locked_tx.send(()).unwrap();
                release_rx.recv().unwrap();
                Ok::<_, tgtrack::store::StoreError>(())
            })
            .unwrap();
    });
    locked_rx.recv().unwrap();

    let addr = srv.addr;
    let client =
        thread::spawn(move || Conn::open(addr).get(&format!("/click/{offer}?uid=inflight"), &[]));
    // Let the request reach its worker and block on the writer.
    thread::sleep(Duration::from_millis(300));

    let stopper = {
        let shutdown = srv.shutdown.clone();
        thread::spawn(move || shutdown.trigger())
    };
    stopper.join().unwrap();
    thread::sleep(Duration::from_millis(100));
    release_tx.send(()).unwrap();
    holder.join().unwrap();

    let r = client.join().unwrap();
    assert_eq!(r.status, 302, "the in-flight click must be answered");
    let token = start_token(&r);
    srv.stop().expect("run returns cleanly");
    let n: i64 = srv
        .open_db()
        .query_row(
            "SELECT count(*) FROM clicks WHERE token = ?1",
            [token],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(n, 1);

    // The listener is closed: new connections are refused.
    // (tiny_http's accept thread closes it as it wakes, a moment after `run` returns.)
    let refused = (0..40).any(|_| {
        let r = TcpStream::connect_timeout(&addr, Duration::from_secs(1)).is_err();
        thread::sleep(Duration::from_millis(50));
        r
    });
    assert!(refused, "listener still open after run returned");
}

#[test]
fn idle_server_stops_promptly() {
    let mut srv = TestServer::start(Opts::default());
    assert_eq!(srv.get("/healthz").status, 200);
    let t = std::time::Instant::now();
    srv.stop().unwrap();
    assert!(
        t.elapsed() < Duration::from_secs(2),
        "stop took {:?}",
        t.elapsed()
    );
}
