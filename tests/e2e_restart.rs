//! End to end, resilience: the daemon restarted mid-flow, a dropped
//! connection, and a repeated update. Nothing is lost or counted twice.

mod common;

use common::*;
use tgsim::{AdminRights, ChatSpec, UserSpec};
use tgtrack::domain::offer::{Action, ChatKind, ConversionStatus, Target};

fn count(w: &World, sql: &str) -> i64 {
    w.store()
        .read(|c| Ok::<_, tgtrack::store::StoreError>(c.query_row(sql, [], |r| r.get(0))?))
        .unwrap()
}

#[test]
fn join_while_the_daemon_is_down_arrives_after_restart_once() {
    let mut w = World::new();
    let ch = w
        .sim
        .add_channel(ChatSpec::new("News").username("restartnews"))
        .unwrap();
    w.sim.set_bot_admin(ch, AdminRights::all()).unwrap();
    let target = Target {
        chat_id: Some(ch),
        chat_kind: Some(ChatKind::Channel),
        username: Some("restartnews".into()),
        ..Default::default()
    };
    let offer = w.offer(Action::JoinChannel, target, |_| {});
    let (ua, ub) = (
        w.sim.add_user(UserSpec::new("A")).unwrap(),
        w.sim.add_user(UserSpec::new("B")).unwrap(),
    );
    let ta = w.click(offer, "r-a");
    let tb = w.click(offer, "r-b");
    w.sim.user_start_bot(ua, Some(&ta)).unwrap();
    w.sim.user_start_bot(ub, Some(&tb)).unwrap();
    w.wait_message(ua, "join @restartnews");
    w.wait_message(ub, "join @restartnews");
    w.sim.user_join(ua, ch).unwrap();
    w.wait_status(offer, ua, Action::JoinChannel, ConversionStatus::Hold);

    w.stop_daemon();
    // While nobody listens: B joins, A leaves. Telegram keeps both for getDifference.
    w.sim.user_join(ub, ch).unwrap();
    w.sim.user_leave(ua, ch).unwrap();
    w.start_daemon();

    w.wait_status(offer, ub, Action::JoinChannel, ConversionStatus::Hold);
    w.wait_status(offer, ua, Action::JoinChannel, ConversionStatus::Rejected);
    // A dropped connection: grammers reconnects and catches up; a repeat changes nothing.
    w.sim.kick_connections();
    let uc = w.sim.add_user(UserSpec::new("C")).unwrap();
    let tc = w.click(offer, "r-c");
    w.sim.user_start_bot(uc, Some(&tc)).unwrap();
    w.wait_message(uc, "join @restartnews");
    w.sim.user_join(uc, ch).unwrap();
    w.wait_status(offer, uc, Action::JoinChannel, ConversionStatus::Hold);

    w.stop_daemon();
    w.start_daemon();
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert_eq!(
        count(&w, "SELECT count(*) FROM conversions WHERE status = 'hold'"),
        2
    );
    assert_eq!(
        count(&w, "SELECT count(*) FROM events WHERE kind = 'join'"),
        3,
        "each join recorded once"
    );
    let holds = count(&w, "SELECT count(*) FROM postbacks WHERE status = 'hold'");
    assert_eq!(holds, 3, "one hold postback per conversion, never twice");
    assert!(w
        .receiver
        .wait_for(|h| h.contains("cid=r-a") && h.contains("status=rejected")));
}
