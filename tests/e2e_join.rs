//! End to end, joins: click -> /start -> join -> hold -> approved postback,
//! through the real daemon, the real grammers client and tgsim.

mod common;

use common::*;
use tgsim::{AdminRights, ButtonKind, ChatSpec, UserSpec};
use tgtrack::domain::offer::{Action, ChatKind, ConversionStatus, Target};

fn channel(w: &World, name: &str) -> (i64, Target) {
    let ch = w
        .sim
        .add_channel(ChatSpec::new("News").username(name))
        .unwrap();
    w.sim.set_bot_admin(ch, AdminRights::all()).unwrap();
    (
        ch,
        Target {
            chat_id: Some(ch),
            chat_kind: Some(ChatKind::Channel),
            username: Some(name.into()),
            ..Default::default()
        },
    )
}

fn check_button(m: &tgsim::ObservedMessage) -> Vec<u8> {
    m.buttons
        .iter()
        .flatten()
        .find_map(|b| match &b.kind {
            ButtonKind::Callback(d) => Some(d.clone()),
            _ => None,
        })
        .expect("a Check button")
}

#[test]
fn join_happy_path_then_approved_postback() {
    let w = World::new();
    let (ch, target) = channel(&w, "news");
    let offer = w.offer(Action::JoinChannel, target, |_| {});
    let alice = w.sim.add_user(UserSpec::new("Alice").lang("ru")).unwrap();

    let token = w.click(offer, "net-click-1");
    w.sim.user_start_bot(alice, Some(&token)).unwrap();
    let card = w.wait_message(alice, "подпишитесь");
    assert!(
        card.buttons
            .iter()
            .flatten()
            .any(|b| matches!(&b.kind, ButtonKind::Url(u) if u == "https://t.me/news")),
        "{card:?}"
    );
    assert!(w
        .receiver
        .wait_for(|h| h.contains("cid=net-click-1") && h.contains("status=lead")));

    w.sim.user_join(alice, ch).unwrap();
    let c = w.wait_status(offer, alice, Action::JoinChannel, ConversionStatus::Hold);
    assert_eq!(c.price, 5);
    assert!(w
        .receiver
        .wait_for(|h| h.contains("cid=net-click-1") && h.contains("status=hold")));
    w.wait_message(alice, "засчитано");

    // "Check" again after the decision: a polite "already checked".
    w.sim
        .user_press_button(alice, card.msg_id, &check_button(&card))
        .unwrap();
    assert!(w.sim.wait_for(
        |o| o.callback_answers.iter().any(|a| a.user_id == alice
            && a.message
                .as_deref()
                .is_some_and(|t| t.contains("уже проверено"))),
        WAIT
    ));

    w.pass_hold(3601);
    w.wait_status(
        offer,
        alice,
        Action::JoinChannel,
        ConversionStatus::Approved,
    );
    assert!(w.receiver.wait_for(|h| h.contains("cid=net-click-1")
        && h.contains("status=approved")
        && h.contains("payout=0.5")));
}

#[test]
fn leaving_inside_the_hold_rejects_and_refunds() {
    let w = World::new();
    let (ch, target) = channel(&w, "news2");
    let offer = w.offer(Action::JoinChannel, target, |o| o.budget_total = Some(20));
    let bob = w.sim.add_user(UserSpec::new("Bob")).unwrap();
    let token = w.click(offer, "c-bob");
    w.sim.user_start_bot(bob, Some(&token)).unwrap();
    w.wait_message(bob, "join @news2");
    w.sim.user_join(bob, ch).unwrap();
    w.wait_status(offer, bob, Action::JoinChannel, ConversionStatus::Hold);
    let spent = |w: &World| {
        w.store()
            .read(|c| tgtrack::store::offers::get_offer(c, offer))
            .unwrap()
            .unwrap()
            .budget_spent
    };
    assert_eq!(spent(&w), 5);

    w.sim.user_leave(bob, ch).unwrap();
    let c = w.wait_status(offer, bob, Action::JoinChannel, ConversionStatus::Rejected);
    assert_eq!(c.reason.map(|r| r.as_str()), Some("undone"));
    assert_eq!(spent(&w), 0, "the Stars go back to the budget");
    assert!(w
        .receiver
        .wait_for(|h| h.contains("cid=c-bob") && h.contains("status=rejected")));

    // The hold end changes nothing for a rejected conversion.
    w.pass_hold(7200);
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert_eq!(
        w.conversion(offer, bob, Action::JoinChannel)
            .unwrap()
            .status,
        ConversionStatus::Rejected
    );
}

#[test]
fn an_existing_member_does_not_count() {
    let w = World::new();
    let (ch, target) = channel(&w, "news3");
    let offer = w.offer(Action::JoinChannel, target, |_| {});
    let carol = w.sim.add_user(UserSpec::new("Carol")).unwrap();
    w.sim.add_member(ch, carol).unwrap();
    let token = w.click(offer, "c-carol");
    w.sim.user_start_bot(carol, Some(&token)).unwrap();
    w.wait_message(carol, "already a member");
    let c = w.wait_status(
        offer,
        carol,
        Action::JoinChannel,
        ConversionStatus::Rejected,
    );
    assert_eq!(c.reason.map(|r| r.as_str()), Some("already_done"));
}

#[test]
fn one_click_goes_to_one_user() {
    let w = World::new();
    let (_ch, target) = channel(&w, "news4");
    let offer = w.offer(Action::JoinChannel, target, |_| {});
    let dave = w.sim.add_user(UserSpec::new("Dave")).unwrap();
    let eve = w.sim.add_user(UserSpec::new("Eve")).unwrap();
    let token = w.click(offer, "c-dave");
    w.sim.user_start_bot(dave, Some(&token)).unwrap();
    w.wait_message(dave, "join @news4");
    w.sim.user_start_bot(eve, Some(&token)).unwrap();
    w.wait_message(eve, "already been used");
    assert!(w.conversion(offer, eve, Action::JoinChannel).is_none());
    // The same user starting again is fine: the task card again.
    w.sim.user_start_bot(dave, Some(&token)).unwrap();
    assert!(w.sim.wait_for(
        |o| o
            .messages
            .iter()
            .filter(|m| m.peer == tgsim::PeerKey::User(dave) && m.text.contains("join @news4"))
            .count()
            == 2,
        WAIT
    ));
}

#[test]
fn start_without_or_with_a_bad_token_gets_help() {
    let w = World::new();
    let frank = w.sim.add_user(UserSpec::new("Frank")).unwrap();
    w.sim.user_start_bot(frank, None).unwrap();
    w.wait_message(frank, "link from an ad");
    w.sim.user_start_bot(frank, Some("no-such-token")).unwrap();
    w.wait_message(frank, "expired or invalid");
    w.sim.user_send_text(frank, "hello?").unwrap();
    w.wait_message(frank, "only understand");
    let organic = w
        .store()
        .read(|c| tgtrack::store::events::organic_count(c, "organic_start"))
        .unwrap();
    assert_eq!(organic, 2);
}

#[test]
fn a_click_older_than_30_days_has_expired() {
    let w = World::new();
    let offer = w.offer(Action::StartBot, Target::default(), |_| {});
    let gus = w.sim.add_user(UserSpec::new("Gus")).unwrap();
    let token = w.click(offer, "old-click");
    w.clock.advance(31 * 86400);
    w.sim.user_start_bot(gus, Some(&token)).unwrap();
    w.wait_message(gus, "expired or invalid");
    assert!(w.conversion(offer, gus, Action::StartBot).is_none());
}

#[test]
fn check_button_before_and_after_joining() {
    let w = World::new();
    let (ch, target) = channel(&w, "news5");
    let offer = w.offer(Action::JoinChannel, target, |_| {});
    let gina = w.sim.add_user(UserSpec::new("Gina")).unwrap();
    let token = w.click(offer, "c-gina");
    w.sim.user_start_bot(gina, Some(&token)).unwrap();
    let card = w.wait_message(gina, "join @news5");
    let data = check_button(&card);
    w.sim.user_press_button(gina, card.msg_id, &data).unwrap();
    assert!(w.sim.wait_for(
        |o| o.callback_answers.iter().any(|a| a
            .message
            .as_deref()
            .is_some_and(|t| t.contains("don't see you"))),
        WAIT
    ));
    // Joined while the bot was not told (e.g. the update was lost): "Check" finds it.
    w.sim.drop_next_push();
    w.sim.user_join(gina, ch).unwrap();
    w.sim.user_press_button(gina, card.msg_id, &data).unwrap();
    w.wait_status(offer, gina, Action::JoinChannel, ConversionStatus::Hold);
}

#[test]
fn bot_not_admin_is_a_clear_operator_error() {
    let w = World::new();
    let ch = w
        .sim
        .add_channel(ChatSpec::new("Closed").username("closed"))
        .unwrap();
    w.sim.set_bot_member(ch).unwrap();
    let target = Target {
        chat_id: Some(ch),
        chat_kind: Some(ChatKind::Channel),
        username: Some("closed".into()),
        ..Default::default()
    };
    let offer = w.offer(Action::JoinChannel, target, |_| {});
    let hank = w.sim.add_user(UserSpec::new("Hank")).unwrap();
    let token = w.click(offer, "c-hank");
    w.sim.user_start_bot(hank, Some(&token)).unwrap();
    let found = wait_until(|| {
        w.store()
            .read(|c| Ok::<_, tgtrack::store::StoreError>(c.query_row("SELECT count(*) FROM audit WHERE kind = 'operator error' AND detail LIKE '%administrator%'", [], |r| r.get::<_, i64>(0))?))
            .unwrap()
            > 0
    });
    assert!(found, "the operator error is recorded in the audit trail");
    w.wait_message(hank, "temporarily unavailable");
}

#[test]
fn an_offer_known_only_by_username_matches_join_updates() {
    let w = World::new();
    let ch = w
        .sim
        .add_channel(ChatSpec::new("By name").username("byname"))
        .unwrap();
    w.sim.set_bot_admin(ch, AdminRights::all()).unwrap();
    // As `tgtrack offer create --action join_channel --username byname` makes it: no chat id.
    let target = Target {
        chat_kind: Some(ChatKind::Channel),
        username: Some("byname".into()),
        ..Default::default()
    };
    let offer = w.offer(Action::JoinChannel, target, |_| {});
    let ida = w.sim.add_user(UserSpec::new("Ida")).unwrap();
    let token = w.click(offer, "c-ida");
    w.sim.user_start_bot(ida, Some(&token)).unwrap();
    w.wait_message(ida, "join @byname");
    w.sim.user_join(ida, ch).unwrap();
    w.wait_status(offer, ida, Action::JoinChannel, ConversionStatus::Hold);
    let stored = w
        .store()
        .read(|c| tgtrack::store::offers::get_offer(c, offer))
        .unwrap()
        .unwrap();
    assert_eq!(
        stored.target.chat_id,
        Some(ch),
        "the resolved id is remembered"
    );
}

#[test]
fn premium_flag_at_decision_time_sets_the_price() {
    let w = World::new();
    let (ch, target) = channel(&w, "prem");
    let offer = w.offer(Action::JoinChannel, target, |_| {});
    let jo = w.sim.add_user(UserSpec::new("Jo")).unwrap();
    let token = w.click(offer, "c-jo");
    w.sim.user_start_bot(jo, Some(&token)).unwrap();
    w.wait_message(jo, "join @prem");
    // Jo buys Premium between the start and the join: the join is priced as Premium.
    w.sim.set_premium(jo, true).unwrap();
    w.sim.user_join(jo, ch).unwrap();
    let c = w.wait_status(offer, jo, Action::JoinChannel, ConversionStatus::Hold);
    assert!(c.is_premium);
    assert_eq!(c.price, 10);
}

#[test]
fn a_wrong_bot_token_is_refused_at_start_naming_the_key() {
    let sim = tgsim::Sim::start(tgsim::SimConfig::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path(), &sim);
    cfg.telegram.as_mut().unwrap().bot_token =
        tgtrack::config::Secret::new("123456:WRONG-TOKEN-VALUE");
    let opts = tgtrack::app::StartOptions {
        listener: Some(std::net::TcpListener::bind("127.0.0.1:0").unwrap()),
        ..Default::default()
    };
    let err = tgtrack::app::start(cfg, opts)
        .err()
        .expect("a wrong token must not start");
    assert!(format!("{err:#}").contains("telegram.bot_token"), "{err:#}");
}

#[test]
fn short_messages_from_known_users_keep_their_premium_flag() {
    // Telegram sends a known user's private message as updateShortMessage, with
    // no user object: the bot must still answer, and must not reset the stored
    // Premium flag or language from the missing object.
    let w = World::new();
    w.sim.set_short_messages(true);
    let (ch, target) = channel(&w, "shortnews");
    let offer = w.offer(Action::JoinChannel, target, |_| {});
    let second = w.offer(Action::StartBot, Target::default(), |_| {});
    let kay = w
        .sim
        .add_user(UserSpec::new("Kay").lang("ru").premium(true))
        .unwrap();
    let first_token = w.click(offer, "s-1");
    w.sim.user_start_bot(kay, Some(&first_token)).unwrap();
    w.wait_message(kay, "подпишитесь");
    // Now Kay is known: this start arrives without the user object.
    let token = w.click(second, "s-2");
    w.sim.user_start_bot(kay, Some(&token)).unwrap();
    let c = w.wait_status(second, kay, Action::StartBot, ConversionStatus::Hold);
    assert!(c.is_premium, "the stored Premium flag is kept");
    assert_eq!(c.price, 10);
    w.wait_message(kay, "Готово");
    w.sim.user_join(kay, ch).unwrap();
    w.wait_status(offer, kay, Action::JoinChannel, ConversionStatus::Hold);
}

#[test]
fn flood_wait_is_slept_through_not_fatal() {
    let w = World::new();
    let (_ch, target) = channel(&w, "floodnews");
    let offer = w.offer(Action::JoinChannel, target, |_| {});
    let lou = w.sim.add_user(UserSpec::new("Lou")).unwrap();
    let token = w.click(offer, "c-lou");
    // Telegram says "too often" twice: grammers sleeps through the first, the
    // bot through the second, and the task card still arrives.
    w.sim
        .inject_error("channels.getParticipant", 420, "FLOOD_WAIT_1", 2);
    w.sim.user_start_bot(lou, Some(&token)).unwrap();
    w.wait_message(lou, "join @floodnews");
}
