//! End to end, advertisers: the /ads wizard, Stars payment, admin review with
//! refunds, and a campaign made in the bot converting a real user, through the
//! real daemon, the real grammers client and tgsim.

mod common;

use std::time::Duration;

use common::*;
use tgsim::{AdminRights, ButtonKind, ChatSpec, ObservedMessage, PaymentOutcome, UserSpec};
use tgtrack::domain::offer::{Action, ConversionStatus, Offer, OfferStatus};
use tgtrack::store;

/// One Telegram user talking to the bot: sends text, presses buttons by label,
/// and waits for the bot's answer.
struct Ui<'a> {
    w: &'a World,
    user: i64,
}

impl<'a> Ui<'a> {
    fn new(w: &'a World, name: &str, lang: &str) -> Ui<'a> {
        let user = w.sim.add_user(UserSpec::new(name).lang(lang)).unwrap();
        Ui { w, user }
    }

    fn messages(&self) -> Vec<ObservedMessage> {
        self.w.sim.sent_to(self.user)
    }

    /// Waits until the bot has sent more than `before` messages, and a moment
    /// more for the rest of the same answer; returns the last text message.
    fn answer_after(&self, before: usize) -> ObservedMessage {
        assert!(
            self.w.sim.wait_for(
                |o| o
                    .messages
                    .iter()
                    .filter(|m| m.peer == tgsim::PeerKey::User(self.user))
                    .count()
                    > before,
                WAIT
            ),
            "no answer to user {}; last: {:?}",
            self.user,
            self.messages().last().map(|m| m.text.clone())
        );
        std::thread::sleep(Duration::from_millis(150));
        self.messages()
            .into_iter()
            .rev()
            .find(|m| m.media.is_none())
            .expect("a text message")
    }

    fn send(&self, text: &str) -> ObservedMessage {
        let before = self.messages().len();
        self.w.sim.user_send_text(self.user, text).unwrap();
        self.answer_after(before)
    }

    /// Presses the button whose label contains `label` on the newest message that has one.
    fn press(&self, label: &str) -> ObservedMessage {
        let before = self.messages().len();
        self.press_only(label);
        self.answer_after(before)
    }

    fn press_only(&self, label: &str) -> i64 {
        let (msg, data) = self
            .messages()
            .into_iter()
            .rev()
            .find_map(|m| {
                m.all_buttons().find_map(|b| match &b.kind {
                    ButtonKind::Callback(d) if b.text.contains(label) => {
                        Some((m.msg_id, d.clone()))
                    }
                    _ => None,
                })
            })
            .unwrap_or_else(|| panic!("no button {label:?} for user {}", self.user));
        self.w.sim.user_press_button(self.user, msg, &data).unwrap()
    }

    /// The newest invoice the bot sent this user.
    fn invoice(&self) -> ObservedMessage {
        assert!(self.w.sim.wait_for(
            |o| o
                .messages
                .iter()
                .any(|m| m.peer == tgsim::PeerKey::User(self.user)
                    && matches!(m.media, Some(tgsim::ObservedMedia::Invoice { .. }))),
            WAIT
        ));
        self.messages()
            .into_iter()
            .rev()
            .find(|m| matches!(m.media, Some(tgsim::ObservedMedia::Invoice { .. })))
            .unwrap()
    }

    fn pay_latest_invoice(&self) -> PaymentOutcome {
        let inv = self.invoice();
        let id = self.w.sim.user_pay_invoice(self.user, inv.msg_id).unwrap();
        outcome(self.w, id)
    }
}

fn outcome(w: &World, payment: i64) -> PaymentOutcome {
    assert!(wait_until(|| w.sim.payment_outcome(payment).is_some()));
    w.sim.payment_outcome(payment).unwrap()
}

fn world_with_admin() -> (World, i64) {
    let mut w = World::new();
    let admin = w.sim.add_user(UserSpec::new("Admin").lang("en")).unwrap();
    w.stop_daemon();
    w.cfg.telegram.as_mut().unwrap().admins = vec![admin];
    w.start_daemon();
    // The admin must have written to the bot once for it to be reachable.
    w.sim.user_start_bot(admin, None).unwrap();
    w.wait_message(admin, "Hi");
    (w, admin)
}

fn offers_of(w: &World, advertiser: i64) -> Vec<Offer> {
    w.store()
        .read(|c| store::offers::offers_of_advertiser(c, advertiser))
        .unwrap()
}

fn channel(w: &World, title: &str, username: &str) -> i64 {
    let ch = w
        .sim
        .add_channel(ChatSpec::new(title).username(username))
        .unwrap();
    w.sim.set_bot_admin(ch, AdminRights::all()).unwrap();
    ch
}

/// Runs the wizard from /ads to the review card for a join campaign on `link`.
fn join_campaign_to_review(ui: &Ui, link: &str, name: &str) -> ObservedMessage {
    ui.send("/ads");
    let actions = ui.send(link);
    assert!(
        actions.text.contains("What should the user do?"),
        "{}",
        actions.text
    );
    let price = ui.press("Join");
    assert!(price.text.contains("Price for"), "{}", price.text);
    ui.send("6 12");
    ui.send("10");
    ui.press("No hourly");
    ui.press("24/7");
    ui.press("Europe/Moscow");
    ui.press("Default");
    let slug = ui.send(name);
    assert!(slug.text.contains("slug"), "{}", slug.text);
    ui.press("Use ")
}

#[test]
fn join_campaign_paid_approved_and_converting_a_user_with_its_postback() {
    let (w, admin) = world_with_admin();
    let ch = channel(&w, "Daily News", "dailynews");
    let adv = Ui::new(&w, "Adv", "en");
    let review = join_campaign_to_review(&adv, "https://t.me/dailynews", "Daily news join");
    // 10 actions at up to 12 Stars: 120 reserved at the Premium price.
    assert!(review.text.contains("120"), "{}", review.text);
    adv.press("Pay");
    let invoice = adv.invoice();
    match &invoice.media {
        Some(tgsim::ObservedMedia::Invoice {
            amount, currency, ..
        }) => {
            assert_eq!((*amount, currency.as_str()), (120, "XTR"))
        }
        other => panic!("{other:?}"),
    }
    let o = &offers_of(&w, adv.user)[0];
    assert_eq!(o.status, OfferStatus::AwaitingPayment);
    assert_eq!(o.slug.as_deref(), Some("daily-news-join"));
    assert!(matches!(
        adv.pay_latest_invoice(),
        PaymentOutcome::Paid { .. }
    ));
    w.wait_message(adv.user, "sent for review");
    assert!(wait_until(
        || offers_of(&w, adv.user)[0].status == OfferStatus::PendingReview
    ));
    let ledger = w
        .store()
        .read(|c| {
            store::payments::paid_for(
                c,
                store::OfferId(o.id),
                tgtrack::domain::payment::PaymentKind::CampaignBudget,
            )
        })
        .unwrap();
    assert_eq!(ledger, 120);

    // The admin gets the card; a non-admin pressing its Approve button is refused.
    let card = w.wait_message(admin, "Campaign to review");
    assert!(
        card.text.contains("Daily news join") && card.text.contains("/click/"),
        "{}",
        card.text
    );
    let approve = card
        .all_buttons()
        .find_map(|b| match &b.kind {
            ButtonKind::Callback(d) if b.text.contains("Approve") => Some(d.clone()),
            _ => None,
        })
        .unwrap();
    // The card's recipient is the admin; a modified client can still send its
    // data from a message in its own chat. Refused, and nothing changes.
    let own_msg = adv.messages().last().unwrap().msg_id;
    let q = w
        .sim
        .user_press_forged(adv.user, own_msg, &approve)
        .unwrap();
    let refused = w.sim.wait_callback_answer(q, WAIT).expect("an answer");
    assert!(
        refused
            .message
            .as_deref()
            .unwrap_or("")
            .contains("administrators only"),
        "{refused:?}"
    );
    assert_eq!(
        offers_of(&w, adv.user)[0].status,
        OfferStatus::PendingReview
    );
    let admin_ui = Ui { w: &w, user: admin };
    let q = admin_ui.press_only("Approve");
    let answer = w.sim.wait_callback_answer(q, WAIT).expect("an answer");
    assert_eq!(answer.message.as_deref(), Some("Done."));
    assert!(wait_until(
        || offers_of(&w, adv.user)[0].status == OfferStatus::Active
    ));
    w.wait_message(adv.user, "approved and running");
    // The card now says who decided and has no buttons left.
    assert!(w.sim.wait_for(
        |o| o
            .messages
            .iter()
            .any(|m| m.msg_id == card.msg_id && m.edited && m.text.contains("approved by admin")),
        WAIT
    ));

    // The admin wires the postback from the campaign's card.
    let id = offers_of(&w, adv.user)[0].id;
    admin_ui.send("/campaigns");
    admin_ui.press(&format!("#{id} "));
    admin_ui.press("Postback");
    let set = admin_ui.send(&format!(
        "{} generic lead,hold,approved,rejected",
        w.receiver.url()
    ));
    assert!(set.text.contains("Postback of campaign"), "{}", set.text);
    let link = admin_ui.press("Link");
    assert!(
        link.text.contains(&format!("/click/{id}?uid={{click_id}}")),
        "{}",
        link.text
    );

    // A real user converts through the campaign's link.
    let bob = w.sim.add_user(UserSpec::new("Bob").lang("en")).unwrap();
    let token = w.click(store::OfferId(id), "cpa-777");
    w.sim.user_start_bot(bob, Some(&token)).unwrap();
    w.wait_message(bob, "join");
    w.sim.user_join(bob, ch).unwrap();
    let c = w.wait_status(
        store::OfferId(id),
        bob,
        Action::JoinChannel,
        ConversionStatus::Hold,
    );
    assert_eq!(c.price, 6);
    assert!(w
        .receiver
        .wait_for(|h| h.contains("cpa-777") && h.contains("status=hold")));
}

#[test]
fn validation_errors_reprompt_with_the_reason() {
    let (w, _) = world_with_admin();
    channel(&w, "Public", "publicchan");
    let ch = w
        .sim
        .add_channel(ChatSpec::new("Guarded").username("guarded"))
        .unwrap();
    let adv = Ui::new(&w, "Adv", "en");
    adv.send("/ads");
    assert!(
        adv.send("hello there").text.contains("t.me"),
        "bad URL re-prompts"
    );
    assert!(adv
        .send("https://t.me/nosuchchannel")
        .text
        .contains("No such channel"));
    // The bot is not an admin: it says which rights to give, then "Check again" passes once fixed.
    adv.send("https://t.me/guarded");
    let rights = adv.press("Join");
    assert!(rights.text.contains("administrator"), "{}", rights.text);
    assert!(adv.press("Check again").text.contains("still lacks"));
    w.sim.set_bot_admin(ch, AdminRights::all()).unwrap();
    std::thread::sleep(Duration::from_millis(200));
    assert!(adv.press("Check again").text.contains("Price for"));
    // Price below the minimum names it (join: 5 / 10).
    assert!(adv.send("1 10").text.contains("at least 5"));
    assert!(adv.send("5 3").text.contains("at least 10"));
    adv.send("5 10");
    assert!(adv.send("-3").text.contains("above zero"));
    adv.send("20");
    assert!(adv.send("day 50").text.contains("above the total"));
    adv.press("No hourly");
    // An empty custom grid is refused.
    adv.press("Custom grid");
    assert!(adv.press("Done").text.contains("no hours"));
    adv.press("Back");
    adv.send("mon-fri 9-18");
    assert!(adv.send("Mars/Olympus").text.contains("Unknown time zone"));
    adv.send("Asia/Yekaterinburg");
    assert!(adv.send("100d").text.contains("at most 90 days"));
    adv.send("3d");
    adv.send("First");
    adv.press("Use ");
    adv.press("Pay");
    adv.invoice();
    // A second campaign may not take the same slug.
    let other = Ui::new(&w, "Other", "en");
    other.send("/ads");
    other.send("https://t.me/publicchan");
    other.press("Join");
    other.send("5 10");
    other.send("10");
    other.press("No hourly");
    other.press("24/7");
    other.press("UTC");
    other.press("Default");
    other.send("Second");
    assert!(other.send("first").text.contains("taken"));
}

#[test]
fn back_cancel_restart_and_two_advertisers_at_once() {
    let (mut w, _) = world_with_admin();
    channel(&w, "One", "chanone");
    channel(&w, "Two", "chantwo");
    let a_id = w.sim.add_user(UserSpec::new("A").lang("en")).unwrap();
    let b_id = w.sim.add_user(UserSpec::new("B").lang("ru")).unwrap();
    let a = Ui { w: &w, user: a_id };
    let b = Ui { w: &w, user: b_id };
    a.send("/ads");
    b.send("/ads");
    a.send("https://t.me/chanone");
    b.send("https://t.me/chantwo");
    a.press("Join");
    assert!(b.press("Подписка").text.contains("Цена"));
    // Back returns to the action choice; the price screen comes again after.
    assert!(a.press("Back").text.contains("What should the user do?"));
    a.press("Join");
    a.send("5 10");
    // /cancel in the middle ends only A's wizard.
    assert!(a.send("/cancel").text.contains("cancelled"));
    // After /cancel a number is no answer to anything: the general fallback.
    assert!(a.send("7").text.contains("I only understand"));
    b.send("5 10");
    // A restart of the daemon in the middle of B's wizard: it goes on where it was.
    w.stop_daemon();
    w.start_daemon();
    let b = Ui { w: &w, user: b_id };
    assert!(
        b.send("10").text.contains("час"),
        "B resumes at the window caps"
    );
    // A row that no longer decodes restarts with an apology.
    w.store()
        .write(|tx| -> Result<(), store::StoreError> {
            tx.execute(
                "UPDATE wizard_state SET state = '{\"broken\":1}' WHERE chat_id = ?1",
                [b.user],
            )?;
            Ok(())
        })
        .unwrap();
    let before = b.messages().len();
    w.sim.user_send_text(b.user, "hi").unwrap();
    b.answer_after(before);
    let texts: Vec<String> = b.messages()[before..]
        .iter()
        .map(|m| m.text.clone())
        .collect();
    assert!(texts.iter().any(|t| t.contains("Простите")), "{texts:?}");
}

#[test]
fn stars_payment_campaign_with_precheckout_decline_abandoned_invoice_and_rejection_refund() {
    let (w, admin) = world_with_admin();
    let adv = Ui::new(&w, "Adv", "en");
    adv.send("/ads");
    adv.press("Pay an invoice in Stars");
    adv.send("25");
    // The minimum of a Stars-payment action is 0, but a campaign pays at least 1 Star.
    assert!(adv.send("0 0").text.contains("at least 1"));
    adv.send("2 3");
    adv.send("5");
    adv.press("No hourly");
    adv.press("24/7");
    adv.press("UTC");
    adv.press("Default");
    adv.send("Stars promo");
    adv.press("Use ");
    adv.press("Pay");
    let first = adv.invoice();
    // The advertiser edits the draft after the invoice: the old invoice is declined.
    // Edit on the waiting card goes back to the review; Edit there opens the sections.
    assert!(adv.press("Edit").text.contains("Stars promo"));
    adv.press("Edit");
    adv.press("Name");
    adv.send("Stars promo 2");
    adv.press("Use ");
    let review = adv.messages().last().unwrap().clone();
    assert!(review.text.contains("Stars promo 2"), "{}", review.text);
    let pay_old = w.sim.user_pay_invoice(adv.user, first.msg_id).unwrap();
    match Some(outcome(&w, pay_old)) {
        Some(PaymentOutcome::Declined { error }) => assert!(error.contains("edited"), "{error}"),
        other => panic!("{other:?}"),
    }
    // The new invoice is abandoned: the draft stays editable and waiting.
    adv.press("Pay");
    let second = adv.invoice();
    assert_ne!(second.msg_id, first.msg_id);
    assert_eq!(
        offers_of(&w, adv.user)[0].status,
        OfferStatus::AwaitingPayment
    );
    // Then paid, and rejected by the admin with a reason: refunded in full.
    assert!(matches!(
        adv.pay_latest_invoice(),
        PaymentOutcome::Paid { .. }
    ));
    let admin_ui = Ui { w: &w, user: admin };
    w.wait_message(admin, "Campaign to review");
    admin_ui.press("Reject");
    admin_ui.send("The landing is not allowed");
    w.wait_message(adv.user, "The landing is not allowed");
    assert!(wait_until(
        || offers_of(&w, adv.user)[0].status == OfferStatus::Rejected
    ));
    let refunded = w
        .sim
        .payments_of(adv.user)
        .iter()
        .filter(|p| p.refunded)
        .count();
    assert_eq!(refunded, 1);
}

/// Pays, approves and wires a campaign the advertiser `adv` just reviewed.
fn pay_and_approve(w: &World, adv: &Ui, admin: i64) -> i64 {
    adv.press("💳");
    assert!(matches!(
        adv.pay_latest_invoice(),
        PaymentOutcome::Paid { .. }
    ));
    let admin_ui = Ui { w, user: admin };
    w.wait_message(admin, "Campaign to review");
    let q = admin_ui.press_only("Approve");
    assert!(w.sim.wait_callback_answer(q, WAIT).is_some());
    assert!(wait_until(|| offers_of(w, adv.user)
        .iter()
        .any(|o| o.status == OfferStatus::Active)));
    let id = offers_of(w, adv.user)
        .iter()
        .find(|o| o.status == OfferStatus::Active)
        .unwrap()
        .id;
    let spec = tgtrack::postback::spec::build(
        Some(&w.receiver.url()),
        "get",
        "generic",
        "lead,hold,approved,rejected",
        false,
    )
    .unwrap();
    tgtrack::service::offers::set_postback(
        &w.store(),
        store::OfferId(id),
        &spec,
        tgtrack::service::offers::Actor::Cli,
        0,
    )
    .unwrap();
    id
}

#[test]
fn comment_campaign_on_a_post_with_its_discussion_group() {
    let (w, admin) = world_with_admin();
    let ch = w
        .sim
        .add_channel(ChatSpec::new("Blog").username("myblog"))
        .unwrap();
    let group = w.sim.add_supergroup(ChatSpec::new("Blog chat")).unwrap();
    w.sim.link_discussion(ch, group).unwrap();
    w.sim.set_bot_admin(ch, AdminRights::all()).unwrap();
    let post = w.sim.post_to_channel(ch, "Big news").unwrap();
    let adv = Ui::new(&w, "Adv", "ru");
    adv.send("/ads");
    // A post that does not exist is refused.
    assert!(adv
        .send("https://t.me/myblog/9999")
        .text
        .contains("Такого поста нет"));
    let actions = adv.send(&format!("t.me/myblog/{post}"));
    // Reactions on a channel post are anonymous: explained, with the alternative.
    assert!(
        actions.text.contains("Комментарий")
            || actions
                .all_buttons()
                .any(|b| b.text.contains("Комментарий")),
        "{}",
        actions.text
    );
    // The bot is not in the discussion group yet: it says so, then passes once added.
    let rights = adv.press("Комментарий");
    assert!(rights.text.contains("Blog chat"), "{}", rights.text);
    w.sim.set_bot_admin(group, AdminRights::all()).unwrap();
    std::thread::sleep(Duration::from_millis(200));
    assert!(adv.press("Проверить снова").text.contains("Цена"));
    adv.send("3 10");
    adv.send("5");
    adv.press("Без лимитов");
    adv.press("Круглосуточно");
    adv.press("Europe/Moscow");
    adv.press("По умолчанию");
    adv.send("Комментарии к посту");
    let review = adv.press("Оставить");
    assert!(
        review.text.contains("kommentarii-k-postu"),
        "{}",
        review.text
    );
    let id = pay_and_approve(&w, &adv, admin);
    let o = offers_of(&w, adv.user)
        .into_iter()
        .find(|o| o.id == id)
        .unwrap();
    assert_eq!(
        (o.action, o.target.discussion_chat_id, o.target.msg_id),
        (Action::Comment, Some(group), Some(post))
    );

    let ivy = w.sim.add_user(UserSpec::new("Ivy")).unwrap();
    let token = w.click(store::OfferId(id), "cpa-c1");
    w.sim.user_start_bot(ivy, Some(&token)).unwrap();
    w.wait_message(ivy, "comment");
    w.sim.user_comment(ivy, ch, post, "nice").unwrap();
    w.wait_status(
        store::OfferId(id),
        ivy,
        Action::Comment,
        ConversionStatus::Hold,
    );
    assert!(w
        .receiver
        .wait_for(|h| h.contains("cpa-c1") && h.contains("status=hold")));
}

#[test]
fn an_invite_link_names_the_chat_the_advertiser_made_the_bot_admin_of() {
    let (w, _) = world_with_admin();
    let adv = Ui::new(&w, "Adv", "en");
    let private = w.sim.add_channel(ChatSpec::new("Secret club")).unwrap();
    let link = w
        .sim
        .create_invite_link(tgsim::InviteSpec {
            chat: private,
            ..Default::default()
        })
        .unwrap();
    adv.send("/ads");
    // The bot is not in the chat: it cannot open invite links, and says what to do.
    assert!(adv
        .send(&link)
        .text
        .contains("Add the bot as an administrator"));
    // The advertiser makes the bot an admin (tgsim's owner acts; the update names the advertiser).
    w.sim.set_chat_owner(private, adv.user).unwrap();
    w.sim.set_bot_admin(private, AdminRights::all()).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let actions = adv.send(&link);
    assert!(actions.text.contains("Secret club"), "{}", actions.text);
}

#[test]
fn unspent_budget_of_a_finished_campaign_is_credit_for_the_next() {
    let (w, admin) = world_with_admin();
    channel(&w, "Credit", "creditchan");
    let adv = Ui::new(&w, "Adv", "en");
    join_campaign_to_review(&adv, "https://t.me/creditchan", "First run");
    let first = pay_and_approve(&w, &adv, admin);
    // The admin finishes it from its card with nothing spent: 120 Stars become credit.
    let admin_ui = Ui { w: &w, user: admin };
    admin_ui.send("/campaigns");
    admin_ui.press(&format!("#{first} "));
    let q = admin_ui.press_only("Finish");
    assert!(w.sim.wait_callback_answer(q, WAIT).is_some());
    assert!(wait_until(
        || offers_of(&w, adv.user)[0].status == OfferStatus::Finished
    ));
    let credit = |w: &World| {
        w.store()
            .read(|c| store::payments::credit_of(c, adv.user))
            .unwrap()
    };
    assert_eq!(credit(&w), 120);

    // A second campaign of 60 Stars is paid from the credit: no invoice at all.
    adv.send("/ads");
    adv.send("https://t.me/creditchan");
    adv.press("Join");
    adv.send("6 10");
    adv.send("6");
    adv.press("No hourly");
    adv.press("24/7");
    adv.press("UTC");
    adv.press("Default");
    adv.send("Second run");
    adv.press("Use ");
    let invoices_before = w.sim.payments_of(adv.user).len();
    let text = adv.press("💳").text;
    assert!(text.contains("sent for review"), "{text}");
    assert!(wait_until(|| credit(&w) == 60));
    assert!(wait_until(|| offers_of(&w, adv.user)
        .iter()
        .any(
            |o| o.name == "Second run" && o.status == OfferStatus::PendingReview
        )));
    // A third of 120 Stars: 60 from the credit, an invoice for the other 60.
    join_campaign_to_review(&adv, "https://t.me/creditchan", "Third run");
    adv.press("💳");
    let inv = adv.invoice();
    assert!(
        matches!(
            inv.media,
            Some(tgsim::ObservedMedia::Invoice { amount: 60, .. })
        ),
        "{inv:?}"
    );
    w.wait_message(adv.user, "from your balance");
    assert!(matches!(
        adv.pay_latest_invoice(),
        PaymentOutcome::Paid { .. }
    ));
    assert!(wait_until(|| credit(&w) == 0));
    assert_eq!(w.sim.payments_of(adv.user).len(), invoices_before + 1);
}

#[test]
fn admin_settings_and_wiring_with_a_test_postback() {
    let (w, admin) = world_with_admin();
    channel(&w, "Set", "setchan");
    let admin_ui = Ui { w: &w, user: admin };
    // /settings: raise the minimum of joins; the wizard then names the new minimum.
    let settings = admin_ui.send("/settings");
    assert!(settings.text.contains("Settings"), "{}", settings.text);
    admin_ui.press("Price: join a channel");
    let updated = admin_ui.send("7 14");
    assert!(updated.text.contains("7 / 14"), "{}", updated.text);
    admin_ui.press("Price: join a channel");
    assert!(admin_ui.send("14 7").text.contains("cannot be below"));
    admin_ui.send("7 14");
    admin_ui.send("/settings");
    admin_ui.press("Hold");
    admin_ui.send("2d");
    let adv = Ui::new(&w, "Adv", "en");
    adv.send("/ads");
    adv.send("https://t.me/setchan");
    let price = adv.press("Join");
    assert!(price.text.contains("Minimum: 7 / 14"), "{}", price.text);
    assert!(adv.send("6 14").text.contains("at least 7"));
    adv.send("7 14");
    adv.send("3");
    adv.press("No hourly");
    adv.press("24/7");
    adv.press("UTC");
    assert!(adv
        .messages()
        .last()
        .unwrap()
        .text
        .contains("Default 2 days"));
    // Non-admins get no settings, and /paysupport explains refunds.
    assert!(adv.send("/settings").text.contains("administrators only"));
    assert!(adv.send("/paysupport").text.contains("refunded"));

    // The admin wires a campaign's postback and fires a test one at the receiver.
    adv.send("/cancel");
    tgtrack::service::settings::set_min_price(
        &w.store(),
        Action::JoinChannel,
        tgtrack::domain::offer::PricePair {
            regular: 5,
            premium: 10,
        },
        tgtrack::service::offers::Actor::Cli,
        0,
    )
    .unwrap();
    let id = {
        join_campaign_to_review(&adv, "https://t.me/setchan", "Wired");
        pay_and_approve(&w, &adv, admin)
    };
    admin_ui.send("/campaigns");
    admin_ui.press(&format!("#{id} "));
    let report = admin_ui.press("Test postback");
    assert!(
        report.text.contains("HTTP 200") && report.text.contains("delivered"),
        "{}",
        report.text
    );
    assert!(w.receiver.wait_for(|h| h.contains("TEST-")));
}
