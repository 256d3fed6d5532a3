//! Offers created while the daemon runs, known only by @username: their chat
//! is resolved before the first task is shown, so the very first action
//! counts; and a task that could not count is refused at /start, at once.

mod common;

use common::*;
use tgsim::{AdminRights, ChatSpec, UserSpec};
use tgtrack::domain::offer::{Action, Caps, ChatKind, ConversionStatus, Target};

fn start(w: &World, offer: tgtrack::store::OfferId, user: i64, uid: &str) {
    let token = w.click(offer, uid);
    w.sim.user_start_bot(user, Some(&token)).unwrap();
}

fn by_username(name: &str, kind: ChatKind, msg: Option<i32>) -> Target {
    Target {
        username: Some(name.into()),
        chat_kind: Some(kind),
        msg_id: msg,
        ..Default::default()
    }
}

#[test]
fn offers_by_username_created_at_run_time_convert_at_once() {
    // A long tick: the scheduler's own sweep must not be what resolves the names.
    let w = World::with_tick(std::time::Duration::from_secs(3600));
    let group = w
        .sim
        .add_supergroup(ChatSpec::new("Chat").username("rtgroup"))
        .unwrap();
    w.sim.set_bot_admin(group, AdminRights::all()).unwrap();
    let ch = w
        .sim
        .add_channel(ChatSpec::new("Chan").username("rtchan"))
        .unwrap();
    w.sim.set_bot_admin(ch, AdminRights::all()).unwrap();
    let author = w.sim.add_user(UserSpec::new("Author")).unwrap();
    w.sim.add_member(group, author).ok();
    let msg = w
        .sim
        .send_group_message(group, author, "react here")
        .unwrap();

    let reaction = w.offer(
        Action::Reaction,
        by_username("rtgroup", ChatKind::Supergroup, Some(msg)),
        |_| {},
    );
    let join = w.offer(
        Action::JoinChannel,
        by_username("rtchan", ChatKind::Channel, None),
        |_| {},
    );
    let boost = w.offer(
        Action::Boost,
        by_username("rtchan", ChatKind::Channel, None),
        |_| {},
    );

    let ann = w.sim.add_user(UserSpec::new("Ann")).unwrap();
    w.sim.add_member(group, ann).unwrap();
    start(&w, reaction, ann, "r-1");
    w.wait_message(ann, "react");
    w.sim.user_react(ann, group, msg, "👍").unwrap();
    w.wait_status(reaction, ann, Action::Reaction, ConversionStatus::Hold);

    let ben = w.sim.add_user(UserSpec::new("Ben")).unwrap();
    start(&w, join, ben, "j-1");
    w.wait_message(ben, "join");
    w.sim.user_join(ben, ch).unwrap();
    w.wait_status(join, ben, Action::JoinChannel, ConversionStatus::Hold);

    let cid = w.sim.add_user(UserSpec::new("Cid").premium(true)).unwrap();
    start(&w, boost, cid, "b-1");
    w.wait_message(cid, "boost");
    w.sim.user_boost(cid, ch).unwrap();
    w.wait_status(boost, cid, Action::Boost, ConversionStatus::Hold);
}

#[test]
fn an_unresolvable_target_is_said_to_the_user_and_the_operator() {
    let mut w = World::new();
    let admin = w.sim.add_user(UserSpec::new("Admin")).unwrap();
    w.stop_daemon();
    w.cfg.telegram.as_mut().unwrap().admins = vec![admin];
    w.start_daemon();
    w.sim.user_start_bot(admin, None).unwrap();
    w.wait_message(admin, "Hi");
    let offer = w.offer(
        Action::Reaction,
        by_username("nosuchgroup", ChatKind::Supergroup, Some(1)),
        |_| {},
    );
    let dan = w.sim.add_user(UserSpec::new("Dan")).unwrap();
    start(&w, offer, dan, "u-1");
    w.wait_message(dan, "temporarily unavailable");
    // Whichever notices first (the /start or the scheduler) tells the admin, once an hour.
    w.wait_message(admin, "make the bot an administrator");
}

#[test]
fn a_task_that_cannot_count_is_refused_at_start_not_after_the_work() {
    let w = World::new();
    let ch = w
        .sim
        .add_channel(ChatSpec::new("Full").username("fullchan"))
        .unwrap();
    w.sim.set_bot_admin(ch, AdminRights::all()).unwrap();
    let target = Target {
        chat_id: Some(ch),
        chat_kind: Some(ChatKind::Channel),
        username: Some("fullchan".into()),
        ..Default::default()
    };
    let offer = w.offer(Action::JoinChannel, target, |o| {
        o.caps = Caps {
            total: Some(1),
            ..Default::default()
        }
    });
    let eve = w.sim.add_user(UserSpec::new("Eve")).unwrap();
    start(&w, offer, eve, "c-1");
    w.wait_message(eve, "join");
    w.sim.user_join(eve, ch).unwrap();
    w.wait_status(offer, eve, Action::JoinChannel, ConversionStatus::Hold);

    // The only place is taken: the next user is told at once, and shown no task.
    let fay = w.sim.add_user(UserSpec::new("Fay").lang("ru")).unwrap();
    start(&w, offer, fay, "c-2");
    w.wait_message(fay, "все места в задании уже заняты");
    assert!(w.sim.sent_to(fay).iter().all(|m| m.buttons.is_empty()));
    // The click and the lead are still recorded, with the reason in the audit trail.
    let c = w
        .conversion(offer, fay, Action::JoinChannel)
        .expect("a lead");
    assert_eq!(c.status, ConversionStatus::Lead);
    let trail = w
        .store()
        .read(|s| tgtrack::store::audit::trail_for_conversion(s, c.id))
        .unwrap();
    assert!(
        trail
            .iter()
            .any(|e| e.kind == "task not shown" && e.detail.contains("cap_total")),
        "{trail:?}"
    );
}

#[test]
fn the_task_card_says_the_hold_as_people_say_it() {
    let w = World::new();
    let ch = w
        .sim
        .add_channel(ChatSpec::new("Short").username("shorthold"))
        .unwrap();
    w.sim.set_bot_admin(ch, AdminRights::all()).unwrap();
    let target = Target {
        chat_id: Some(ch),
        chat_kind: Some(ChatKind::Channel),
        username: Some("shorthold".into()),
        ..Default::default()
    };
    let offer = w.offer(Action::JoinChannel, target, |o| o.hold_seconds = 10);
    let gus = w.sim.add_user(UserSpec::new("Gus").lang("ru")).unwrap();
    start(&w, offer, gus, "h-1");
    w.wait_message(gus, "в течение 10 секунд");
}
