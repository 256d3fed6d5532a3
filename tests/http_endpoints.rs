//! Every sidecar endpoint with good and bad input, against a real server and
//! a real SQLite file.

mod http_common;

use http_common::{start_token, Conn, Opts, TestServer};
use tgtrack::domain::offer::OfferStatus;
use tgtrack::store::shares::{insert_share, NewShare};
use tgtrack::store::{unix_now, OfferId, ShareId};

/// A share link on `offer` with `token`, leading to `target`.
fn share_link(srv: &TestServer, offer: OfferId, token: &str, target: &str) -> ShareId {
    let share = NewShare {
        token,
        offer,
        lead_id: None,
        tg_user_id: Some(7),
        target_url: target,
    };
    srv.store
        .write(|tx| insert_share(tx, &share, unix_now()))
        .unwrap()
}

fn assert_private(r: &http_common::Response) {
    assert_eq!(r.header("Cache-Control"), Some("no-store"), "{r:?}");
    assert_eq!(r.header("Referrer-Policy"), Some("no-referrer"), "{r:?}");
}

#[test]
fn click_row_is_committed_before_the_redirect() {
    let srv = TestServer::start(Opts::default());
    let offer = srv.offer(OfferStatus::Active);
    let r = Conn::open(srv.addr).get(
        &format!("/click/{offer}?uid=net-42&sub1=camp%201&sub3=x+y&other=ignored"),
        &[("User-Agent", "Mozilla/5.0 test")],
    );
    assert_eq!(r.status, 302, "{}", r.text());
    assert_private(&r);
    let token = start_token(&r);
    assert!(token.len() >= 16 && token.len() <= 64, "{token}");
    assert!(
        token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-'),
        "{token}"
    );

    // Read through a separate connection the moment the 302 arrived: the row must be there.
    let db = srv.open_db();
    let click = tgtrack::store::clicks::click_by_token(&db, &token)
        .unwrap()
        .expect("click row committed before the 302");
    assert_eq!(click.offer, offer);
    assert_eq!(click.uid, "net-42");
    assert_eq!(click.subs[0].as_deref(), Some("camp 1"));
    assert_eq!(click.subs[1], None);
    assert_eq!(click.subs[2].as_deref(), Some("x y"));
    assert_eq!(click.ip.as_deref(), Some("127.0.0.1"));
    assert_eq!(click.user_agent.as_deref(), Some("Mozilla/5.0 test"));
    assert_eq!(click.hits, 1);
    assert!(click.consumed_at.is_none());
}

#[test]
fn every_click_answered_is_in_the_database() {
    let srv = TestServer::start(Opts::default());
    let offer = srv.offer(OfferStatus::Active);
    let mut conn = Conn::open(srv.addr);
    let db = srv.open_db();
    for i in 0..200 {
        let r = conn.get(&format!("/click/{offer}?uid=u{i}"), &[]);
        assert_eq!(r.status, 302);
        let n: i64 = db
            .query_row(
                "SELECT count(*) FROM clicks WHERE token = ?1",
                [start_token(&r)],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(n, 1, "click {i} answered before it was committed");
    }
}

#[test]
fn repeat_click_gets_the_same_token() {
    let srv = TestServer::start(Opts::default());
    let offer = srv.offer(OfferStatus::Active);
    let mut c = Conn::open(srv.addr);
    let a = start_token(&c.get(&format!("/click/{offer}?uid=same"), &[]));
    let b = start_token(&c.get(&format!("/click/{offer}?uid=same&sub1=later"), &[]));
    let other = start_token(&c.get(&format!("/click/{offer}?uid=different"), &[]));
    assert_eq!(a, b);
    assert_ne!(a, other);
    let hits: i64 = srv
        .open_db()
        .query_row("SELECT hits FROM clicks WHERE token = ?1", [&a], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(hits, 2);
    // Another offer is another click.
    let offer2 = srv.offer(OfferStatus::Active);
    assert_ne!(
        start_token(&c.get(&format!("/click/{offer2}?uid=same"), &[])),
        a
    );
}

#[test]
fn click_refusals() {
    let srv = TestServer::start(Opts::default());
    let active = srv.offer(OfferStatus::Active);
    let paused = srv.offer(OfferStatus::Paused);
    let finished = srv.offer(OfferStatus::Finished);
    let draft = srv.offer(OfferStatus::Draft);
    let mut c = Conn::open(srv.addr);

    for (target, status, needle) in [
        ("/click/999999?uid=x".to_string(), 404, "unknown offer"),
        ("/click/abc?uid=x".to_string(), 404, "unknown offer"),
        ("/click/?uid=x".to_string(), 404, "unknown offer"),
        (format!("/click/{paused}?uid=x"), 410, "paused"),
        (format!("/click/{finished}?uid=x"), 410, "ended"),
        (format!("/click/{draft}?uid=x"), 410, "not available"),
        (format!("/click/{active}"), 400, "uid is missing"),
        (format!("/click/{active}?uid="), 400, "uid is empty"),
        (
            format!("/click/{active}?uid={}", "a".repeat(257)),
            400,
            "longer than 256",
        ),
        (
            format!("/click/{active}?uid=a%00b"),
            400,
            "control characters",
        ),
        (
            format!("/click/{active}?uid=a%1Bb"),
            400,
            "control characters",
        ),
        (
            format!("/click/{active}?uid=ok&sub2=%0D%0A"),
            400,
            "sub2 contains control",
        ),
        (
            format!("/click/{active}?uid=%C3%28"),
            400,
            "not valid UTF-8",
        ),
        ("/nope".to_string(), 404, "no such page"),
        // Issue 11: one canonical offer id; broken encodings and invisible
        // characters are refused, not stored literally.
        (format!("/click/0{active}?uid=x"), 404, "unknown offer"),
        (
            format!("/click/{active}?uid=abc%2"),
            400,
            "broken percent-encoding",
        ),
        (
            format!("/click/{active}?uid=abc%ZZ"),
            400,
            "broken percent-encoding",
        ),
        (
            format!("/click/{active}?uid=ab%E2%80%8Bc"),
            400,
            "invisible",
        ),
        (
            format!("/click/{active}?uid=ab%E2%80%AEc"),
            400,
            "invisible",
        ),
    ] {
        let r = c.get(&target, &[]);
        assert_eq!(r.status, status, "{target}: {}", r.text());
        assert!(r.text().contains(needle), "{target}: {}", r.text());
        assert_private(&r);
    }
    let gone = c.get(&format!("/click/{paused}?uid=x"), &[]);
    assert!(gone
        .header("Content-Type")
        .unwrap()
        .starts_with("text/html"));
    assert!(gone.text().contains("<html"));

    // Nothing refused was recorded.
    let n: i64 = srv
        .open_db()
        .query_row("SELECT count(*) FROM clicks", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 0);

    // Methods: HEAD answers like GET without a body and without storing a
    // click (issue 11: link checkers must not create clicks); others get 405.
    let head = c.request("HEAD", &format!("/click/{active}?uid=h"), &[]);
    assert_eq!(head.status, 302);
    assert_eq!(head.header("Location"), Some("https://t.me/demo_bot"));
    let head = c.request("HEAD", &format!("/click/{paused}?uid=h"), &[]);
    assert_eq!(head.status, 410);
    let n: i64 = srv
        .open_db()
        .query_row("SELECT count(*) FROM clicks", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 0, "HEAD stores no click");
    let post = c.request(
        "POST",
        &format!("/click/{active}?uid=p"),
        &[("Content-Length", "0")],
    );
    assert_eq!(post.status, 405);
    assert_eq!(post.header("Allow"), Some("GET, HEAD"));
}

#[test]
fn click_without_bot_is_503() {
    let srv = TestServer::start(Opts {
        bot: None,
        ..Opts::default()
    });
    let offer = srv.offer(OfferStatus::Active);
    let r = srv.get(&format!("/click/{offer}?uid=x"));
    assert_eq!(r.status, 503);
    assert!(r.text().contains("bot not configured"));
    // The rest of the sidecar still works.
    assert_eq!(srv.get("/healthz").status, 200);
}

#[test]
fn forwarded_for_is_believed_only_from_trusted_proxies() {
    let xff = [
        ("X-Forwarded-For", "6.6.6.6, 203.0.113.7"),
        ("X-Forwarded-For", "127.0.0.9"),
    ];
    let ip_of = |srv: &TestServer, token: &str| -> String {
        srv.open_db()
            .query_row("SELECT ip FROM clicks WHERE token = ?1", [token], |r| {
                r.get(0)
            })
            .unwrap()
    };

    let untrusting = TestServer::start(Opts::default());
    let offer = untrusting.offer(OfferStatus::Active);
    let t = start_token(&Conn::open(untrusting.addr).get(&format!("/click/{offer}?uid=a"), &xff));
    assert_eq!(
        ip_of(&untrusting, &t),
        "127.0.0.1",
        "header from an untrusted peer must be ignored"
    );

    let trusting = TestServer::start(Opts {
        trusted_proxies: vec!["127.0.0.0/8"],
        ..Opts::default()
    });
    let offer = trusting.offer(OfferStatus::Active);
    let t = start_token(&Conn::open(trusting.addr).get(&format!("/click/{offer}?uid=a"), &xff));
    assert_eq!(
        ip_of(&trusting, &t),
        "203.0.113.7",
        "rightmost untrusted hop"
    );
    let t = start_token(&Conn::open(trusting.addr).get(&format!("/click/{offer}?uid=b"), &[]));
    assert_eq!(ip_of(&trusting, &t), "127.0.0.1");
}

#[test]
fn share_links_count_unique_visitors_and_redirect() {
    let srv = TestServer::start(Opts::default());
    let offer = srv.offer(OfferStatus::Active);
    let target = "https://t.me/news/42";
    let share = share_link(&srv, offer, "Sh4re_tok-1", target);
    let mut c = Conn::open(srv.addr);
    for ua in ["ua-one", "ua-one", "ua-two"] {
        let r = c.get("/s/Sh4re_tok-1", &[("User-Agent", ua)]);
        assert_eq!(r.status, 302);
        assert_eq!(r.header("Location"), Some(target));
        assert_private(&r);
    }
    let db = srv.open_db();
    let (visits, unique): (i64, i64) = db
        .query_row(
            "SELECT visits, (SELECT count(*) FROM share_visits WHERE share_id = ?1) FROM share_links WHERE id = ?1",
            [share.0],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!((visits, unique), (3, 2));
    // No raw IP anywhere in the visitor rows.
    let hashes: Vec<String> = db
        .prepare("SELECT visitor_hash FROM share_visits")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert!(
        hashes
            .iter()
            .all(|h| !h.contains("127.0.0.1") && h.len() >= 20),
        "{hashes:?}"
    );

    for bad in ["/s/unknown", "/s/", "/s/a%2Fb", "/s/..%2F..%2Fetc"] {
        assert_eq!(c.get(bad, &[]).status, 404, "{bad}");
    }
    // A link preview and a HEAD (link checkers) are redirected but not counted.
    let preview = c.get(
        "/s/Sh4re_tok-1",
        &[("User-Agent", "TelegramBot (like TwitterBot)")],
    );
    let head = c.request("HEAD", "/s/Sh4re_tok-1", &[("User-Agent", "ua-three")]);
    for r in [preview, head] {
        assert_eq!(r.status, 302);
        assert_eq!(r.header("Location"), Some(target));
    }
    let visits: i64 = db
        .query_row(
            "SELECT visits FROM share_links WHERE id = ?1",
            [share.0],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(visits, 3);
    let m = c.get("/metrics", &[]).text();
    assert!(m.contains("tgtrack_share_visits_total 3"), "{m}");
    assert!(m.contains("tgtrack_share_unique_visitors_total 2"), "{m}");
}

/// Pipelined requests reach the intake together, so their clicks and visits
/// share one commit; a refusal among them and a request for a helper are
/// still answered in order, and every answered redirect has its row.
#[test]
fn pipelined_clicks_and_visits_are_answered_in_order() {
    let srv = TestServer::start(Opts::default());
    let offer = srv.offer(OfferStatus::Active);
    share_link(&srv, offer, "pipe", "https://t.me/news/7");
    let targets = [
        "/s/pipe".to_string(),
        format!("/click/{offer}?uid=p1"),
        "/s/nosuchlink".to_string(),
        "/healthz".to_string(),
        format!("/click/{offer}?uid=p2"),
        "/click/999999?uid=p3".to_string(),
        "/s/pipe".to_string(),
        format!("/click/{offer}?uid=p1"),
    ];
    let raw: String = targets
        .iter()
        .map(|t| format!("GET {t} HTTP/1.1\r\nHost: x\r\nUser-Agent: pipe\r\n\r\n"))
        .collect();
    let mut c = Conn::open(srv.addr);
    c.send(raw.as_bytes());
    let answers: Vec<_> = targets
        .iter()
        .map(|t| {
            c.read_response(false)
                .unwrap_or_else(|| panic!("no answer to {t}"))
        })
        .collect();
    let statuses: Vec<u16> = answers.iter().map(|r| r.status).collect();
    assert_eq!(statuses, [302, 302, 404, 200, 302, 404, 302, 302]);
    assert_eq!(answers[0].header("Location"), Some("https://t.me/news/7"));
    assert_eq!(start_token(&answers[1]), start_token(&answers[7]));
    assert_ne!(start_token(&answers[1]), start_token(&answers[4]));

    let db = srv.open_db();
    let (clicks, hits): (i64, i64) = db
        .query_row("SELECT count(*), sum(hits) FROM clicks", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap();
    assert_eq!((clicks, hits), (2, 3));
    let (visits, unique): (i64, i64) = db
        .query_row(
            "SELECT visits, (SELECT count(*) FROM share_visits) FROM share_links WHERE token = 'pipe'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!((visits, unique), (2, 1));
}

#[test]
fn share_with_unsafe_stored_target_is_not_followed() {
    let srv = TestServer::start(Opts::default());
    let offer = srv.offer(OfferStatus::Active);
    share_link(&srv, offer, "bad", "javascript:alert(1)");
    let r = srv.get("/s/bad");
    assert_eq!(r.status, 404);
    assert!(r.header("Location").is_none());
}

#[test]
fn healthz_and_metrics() {
    let srv = TestServer::start(Opts::default());
    let r = srv.get("/healthz");
    assert_eq!(r.status, 200);
    assert_eq!(r.text(), r#"{"status":"ok","database":"ok"}"#);
    assert_eq!(r.header("Content-Type"), Some("application/json"));

    let offer = srv.offer(OfferStatus::Active);
    let paused = srv.offer(OfferStatus::Paused);
    let mut c = Conn::open(srv.addr);
    c.get(&format!("/click/{offer}?uid=a"), &[]);
    c.get(&format!("/click/{offer}?uid=a"), &[]);
    c.get(&format!("/click/{paused}?uid=a"), &[]);
    c.get(&format!("/click/{offer}"), &[]);
    let m = c.get("/metrics", &[]);
    assert_eq!(m.status, 200);
    let m = m.text();
    for line in [
        "tgtrack_clicks_total{token=\"new\"} 1",
        "tgtrack_clicks_total{token=\"repeat\"} 1",
        "tgtrack_http_responses_total{route=\"click\",status=\"302\"} 2",
        "tgtrack_http_responses_total{route=\"click\",status=\"410\"} 1",
        "tgtrack_http_responses_total{route=\"click\",status=\"400\"} 1",
        "tgtrack_postbacks{state=\"pending\"} 0",
        "tgtrack_postbacks{state=\"dead\"} 0",
        "tgtrack_postback_outbox_depth 0",
        "tgtrack_database_up 1",
        "tgtrack_http_request_duration_seconds_bucket{le=\"0.00025\"}",
        "tgtrack_http_request_duration_seconds_bucket{le=\"1\"}",
        "tgtrack_http_request_duration_seconds_count",
    ] {
        assert!(m.contains(line), "missing {line:?} in\n{m}");
    }
    assert_eq!(c.request("DELETE", "/metrics", &[]).status, 405);
}

#[test]
fn relay_route_exists_and_refuses_other_methods() {
    let srv = TestServer::start(Opts::default());
    let mut c = Conn::open(srv.addr);
    assert_eq!(c.get("/postbacks/relay", &[]).status, 405);
    c.send(b"POST /postbacks/relay HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\n{}");
    assert_eq!(c.read_response(false).unwrap().status, 501);
}

#[test]
fn concurrent_clicks_on_one_uid_share_one_token() {
    // Clicks arriving together are committed together (group commit); the same
    // (offer, uid) in one batch must still end up as one row.
    let srv = TestServer::start(Opts {
        threads: 8,
        ..Opts::default()
    });
    let offer = srv.offer(OfferStatus::Active);
    let addr = srv.addr;
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(16));
    let tokens: Vec<String> = (0..16)
        .map(|_| {
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                let mut c = Conn::open(addr);
                barrier.wait();
                start_token(&c.get(&format!("/click/{offer}?uid=together"), &[]))
            })
        })
        .collect::<Vec<_>>()
        .into_iter()
        .map(|h| h.join().unwrap())
        .collect();
    assert!(tokens.iter().all(|t| *t == tokens[0]), "{tokens:?}");
    let (rows, hits): (i64, i64) = srv
        .open_db()
        .query_row("SELECT count(*), sum(hits) FROM clicks", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap();
    assert_eq!((rows, hits), (1, 16));
}

/// Issue 11, defect 6 (relay): a missing timestamp is 401 as docs/RELAY.md
/// says; an unknown offer answers exactly like an existing one with a bad
/// signature (no probing of offer ids); a paused offer answers JSON.
#[test]
fn relay_refusals_are_uniform_and_json() {
    use tgtrack::domain::relay;
    let srv = TestServer::start(Opts {
        relay: true,
        ..Opts::default()
    });
    let active = srv.offer(OfferStatus::Active);
    let paused = srv.offer(OfferStatus::Paused);
    for id in [active, paused] {
        srv.store
            .write(|tx| {
                tx.execute(
                    "UPDATE offers SET relay_secret = 'sekret', action = 'third_party_bot' WHERE id = ?1",
                    [id.0],
                )?;
                Ok::<_, tgtrack::store::StoreError>(())
            })
            .unwrap();
    }
    let now = tgtrack::store::unix_now();
    let post = |offer: i64, headers: &[(&str, String)]| {
        let body = format!(r#"{{"offer_id":{offer},"event_id":"e1","tg_user_id":42}}"#);
        let mut c = Conn::open(srv.addr);
        let mut raw = format!(
            "POST /postbacks/relay HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: {}\r\n",
            body.len()
        );
        for (n, v) in headers {
            raw.push_str(&format!("{n}: {v}\r\n"));
        }
        raw.push_str("\r\n");
        raw.push_str(&body);
        c.send(raw.as_bytes());
        (c.read_response(false).unwrap(), body)
    };
    let signed = |offer: i64, secret: &str| {
        let body = format!(r#"{{"offer_id":{offer},"event_id":"e1","tg_user_id":42}}"#);
        vec![
            ("X-Tgtrack-Timestamp", now.to_string()),
            (
                "X-Tgtrack-Signature",
                relay::sign(secret, now, body.as_bytes()),
            ),
        ]
    };

    // No timestamp: 401, not 400.
    let (r, _) = post(active.0, &[]);
    assert_eq!(r.status, 401, "{}", r.text());
    assert_eq!(r.header("Content-Type"), Some("application/json"));
    assert!(r.text().contains("\"status\":\"refused\""), "{}", r.text());

    // Unknown offer and existing offer with a wrong secret: the same answer.
    let (unknown, _) = post(999_999, &signed(999_999, "guess"));
    let (wrong, _) = post(active.0, &signed(active.0, "guess"));
    assert_eq!(unknown.status, 401);
    assert_eq!(
        (unknown.status, unknown.text()),
        (wrong.status, wrong.text()),
        "offer ids cannot be probed"
    );
    // Also without any signature.
    let (unknown_bare, _) = post(999_999, &[]);
    let (active_bare, _) = post(active.0, &[]);
    assert_eq!(
        (unknown_bare.status, unknown_bare.text()),
        (active_bare.status, active_bare.text())
    );

    // A correctly signed event for nobody we know: refused in JSON too (the
    // 410 of a paused offer is covered by the relay module's unit test).
    let (r, _) = post(paused.0, &signed(paused.0, "sekret"));
    assert_eq!(r.header("Content-Type"), Some("application/json"));
    let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(v["status"], "refused", "{}", r.text());
}

/// Issue 11, defect 6: `promtool check metrics` wants a HELP and a TYPE line
/// for every family, before its samples, each family in one block. The same
/// rules, checked here on a live scrape (with traffic on every route, a
/// refusal from the connection layer, and the database's figures).
#[test]
fn metrics_have_help_and_type_for_every_family() {
    use std::collections::{HashMap, HashSet};
    let srv = TestServer::start(Opts::default());
    let offer = srv.offer(OfferStatus::Active);
    let mut c = Conn::open(srv.addr);
    c.get(&format!("/click/{offer}?uid=m"), &[]);
    c.get("/s/nothing", &[]);
    c.get("/healthz", &[]);
    c.get("/nope", &[]);
    let mut bad = Conn::open(srv.addr);
    bad.send(b"NONSENSE\r\n\r\n");
    let _ = bad.read_response(false);
    let text = c.get("/metrics", &[]).text();

    let mut help: HashSet<String> = HashSet::new();
    let mut kind: HashMap<String, String> = HashMap::new();
    let mut done: HashSet<String> = HashSet::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let (name, doc) = rest.split_once(' ').unwrap_or((rest, ""));
            assert!(!doc.trim().is_empty(), "empty HELP: {line}");
            assert!(help.insert(name.to_string()), "HELP twice for {name}");
            continue;
        }
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, k) = rest.split_once(' ').unwrap();
            assert!(
                ["counter", "gauge", "histogram", "summary", "untyped"].contains(&k),
                "{line}"
            );
            assert!(
                kind.insert(name.to_string(), k.to_string()).is_none(),
                "TYPE twice for {name}"
            );
            continue;
        }
        assert!(!line.starts_with('#'), "unexpected comment {line}");
        let name = line.split(['{', ' ']).next().unwrap();
        let family = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|s| {
                name.strip_suffix(s)
                    .filter(|f| kind.get(*f).is_some_and(|k| k == "histogram"))
            })
            .unwrap_or(name)
            .to_string();
        assert!(kind.contains_key(&family), "no TYPE before {line}");
        assert!(help.contains(&family), "no HELP for {family}");
        if current.as_deref() != Some(family.as_str()) {
            assert!(
                done.insert(family.clone()),
                "{family} is split in two blocks"
            );
            current = Some(family);
        }
        let value = line.rsplit(' ').next().unwrap();
        assert!(value.parse::<f64>().is_ok() || value == "+Inf", "{line}");
    }
    for family in kind.keys() {
        assert!(help.contains(family), "no HELP for {family}");
    }
    assert!(
        text.contains("tgtrack_http_responses_total{route=\"server\",status=\"400\"} 1"),
        "{text}"
    );
}
