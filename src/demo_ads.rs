//! The demo's second story: an advertiser creates and pays for a campaign in
//! the bot (`/ads`), an admin approves it, and it is ready for traffic. Each
//! message and button press is printed: the transcript in the README comes
//! from here.

use std::time::{Duration, Instant};

use anyhow::Context as _;

use crate::app::Daemon;
use crate::domain::offer::OfferStatus;
use crate::store;

fn say(text: &str) {
    println!("   {text}");
}

/// What the bot said, indented under the speaker.
fn show(text: &str) {
    for (i, line) in text.lines().enumerate() {
        if i == 0 {
            println!("   bot › {line}");
        } else {
            println!("         {line}");
        }
    }
}

/// One advertiser talking to the bot through the simulator.
struct Chat<'a> {
    sim: &'a tgsim::Sim,
    user: i64,
    name: &'a str,
}

impl Chat<'_> {
    fn count(&self) -> usize {
        self.sim.sent_to(self.user).len()
    }

    /// Waits for the bot's answer after `before` messages; prints and returns the last text.
    fn answer(&self, before: usize) -> anyhow::Result<String> {
        let deadline = Instant::now() + Duration::from_secs(15);
        while self.count() <= before {
            if Instant::now() > deadline {
                anyhow::bail!("the bot did not answer {}", self.name);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        // The rest of the same answer (an invoice comes with its note).
        std::thread::sleep(Duration::from_millis(150));
        let msgs = self.sim.sent_to(self.user);
        let mut last = String::new();
        for m in &msgs[before..] {
            if m.media.is_some() {
                say("bot › [invoice in Telegram Stars]");
                continue;
            }
            show(&m.text);
            let labels: Vec<&str> = m.all_buttons().map(|b| b.text.as_str()).collect();
            if !labels.is_empty() {
                println!("         [{}]", labels.join("] ["));
            }
            last = m.text.clone();
        }
        Ok(last)
    }

    fn send(&self, text: &str) -> anyhow::Result<String> {
        println!("   {} › {text}", self.name);
        let before = self.count();
        self.sim.user_send_text(self.user, text)?;
        self.answer(before)
    }

    fn press(&self, label: &str) -> anyhow::Result<String> {
        let (msg, text, data) = self
            .sim
            .sent_to(self.user)
            .into_iter()
            .rev()
            .find_map(|m| {
                m.all_buttons().find_map(|b| match &b.kind {
                    tgsim::ButtonKind::Callback(d) if b.text.contains(label) => {
                        Some((m.msg_id, b.text.clone(), d.clone()))
                    }
                    _ => None,
                })
            })
            .with_context(|| format!("no button {label:?} for {}", self.name))?;
        println!("   {} presses [{text}]", self.name);
        let before = self.count();
        self.sim.user_press_button(self.user, msg, &data)?;
        self.answer(before)
    }
}

/// Runs the advertiser's story. `lang` is the advertiser's Telegram language.
pub fn run(sim: &tgsim::Sim, daemon: &Daemon, admin: i64, lang: &str) -> anyhow::Result<()> {
    let ru = lang.starts_with("ru");
    let dave = sim.add_user(tgsim::UserSpec::new("Dave").lang(lang))?;
    let shop = sim.add_channel(tgsim::ChatSpec::new("Dave's Shop").username("daves_shop"))?;
    sim.set_bot_admin(shop, tgsim::AdminRights::all())?;
    let adv = Chat {
        sim,
        user: dave,
        name: "Dave",
    };
    let t = |r: &'static str, e: &'static str| if ru { r } else { e };
    adv.send("/ads")?;
    adv.send("https://t.me/daves_shop")?;
    adv.press(t("Подписка", "Join"))?;
    adv.send("6 12")?;
    adv.send("10")?;
    adv.send(t("день 5", "day 5"))?;
    adv.press(t("Рабочее время", "Working hours"))?;
    adv.press("Europe/Moscow")?;
    adv.press(t("По умолчанию", "Default"))?;
    adv.send(t("Подписчики для магазина", "Shop subscribers"))?;
    adv.press(t("Оставить", "Use "))?;
    adv.press("💳")?;
    let invoice = sim
        .sent_to(dave)
        .into_iter()
        .rev()
        .find(|m| m.media.is_some())
        .context("the invoice")?;
    say("Dave pays the invoice in Stars.");
    let before = adv.count();
    let payment = sim.user_pay_invoice(dave, invoice.msg_id)?;
    sim.wait_payment(payment, Duration::from_secs(10));
    adv.answer(before)?;

    let offer = wait_offer(daemon, dave, OfferStatus::PendingReview)?;
    let admin_chat = Chat {
        sim,
        user: admin,
        name: "Olga (admin)",
    };
    say("The admin, Olga, gets the review card:");
    let card = sim
        .sent_to(admin)
        .into_iter()
        .rev()
        .find(|m| m.all_buttons().count() > 0)
        .context("the review card")?;
    show(&card.text);
    println!("   Olga (admin) presses [✅ Approve]");
    let approve = card
        .all_buttons()
        .find_map(|b| match &b.kind {
            tgsim::ButtonKind::Callback(d)
                if b.text.contains("Approve") || b.text.contains("Одобрить") =>
            {
                Some(d.clone())
            }
            _ => None,
        })
        .context("the Approve button")?;
    let before = adv.count();
    sim.user_press_button(admin, card.msg_id, &approve)?;
    adv.answer(before)?;
    wait_offer(daemon, dave, OfferStatus::Active)?;
    let _ = admin_chat;
    say(&format!(
        "Campaign #{offer} is active. The admin wires its postback from its card (/campaigns) and hands the network {}/click/{offer}?uid={{click_id}}.",
        daemon_base(daemon)
    ));
    Ok(())
}

fn daemon_base(d: &Daemon) -> String {
    format!("http://{}", d.addr)
}

fn wait_offer(daemon: &Daemon, advertiser: i64, status: OfferStatus) -> anyhow::Result<i64> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let offers = daemon
            .store
            .read(|c| store::offers::offers_of_advertiser(c, advertiser))?;
        if let Some(o) = offers.iter().find(|o| o.status == status) {
            return Ok(o.id);
        }
        if Instant::now() > deadline {
            anyhow::bail!("the campaign never became {status}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}
