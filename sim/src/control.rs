//! The JSON control API of `tgsim serve` and the world file.
//!
//! A deliberately small HTTP/1.1 server on loopback (one thread per connection, bodies framed
//! by Content-Length, `Connection: close`): every route maps onto one [`Sim`] method, so the
//! control API drives exactly what the library API drives. Routes are listed in `sim/README.md`.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;

use serde::Deserialize;
use serde_json::{json, Value};

use crate::{AdminRights, ChatSpec, Sim, UserSpec};

/// A world file (TOML or JSON): users and chats that exist when the server starts.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct WorldFile {
    pub users: Vec<WorldUser>,
    pub chats: Vec<WorldChat>,
}

#[derive(Debug, Deserialize)]
pub struct WorldUser {
    /// Name used by `chats[].members` and reported back with the assigned id.
    pub key: String,
    #[serde(flatten)]
    pub spec: UserSpec,
    /// Makes this user an owner account that can log in with this phone.
    #[serde(default)]
    pub phone: Option<String>,
    /// Two-step verification password of an owner account.
    #[serde(default)]
    pub password: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct WorldChat {
    pub key: String,
    /// "channel", "supergroup" or "basic_group".
    pub kind: String,
    #[serde(flatten)]
    pub spec: ChatSpec,
    /// "admin" (with `rights`, default all), "member" or "none".
    #[serde(default)]
    pub bot: Option<String>,
    #[serde(default)]
    pub rights: Option<AdminRights>,
    #[serde(default)]
    pub members: Vec<String>,
    #[serde(default)]
    pub owner: Option<String>,
    /// Key of the discussion group of this channel.
    #[serde(default)]
    pub linked: Option<String>,
}

impl WorldFile {
    pub fn parse(text: &str) -> anyhow::Result<Self> {
        if text.trim_start().starts_with('{') {
            Ok(serde_json::from_str(text)?)
        } else {
            Ok(toml::from_str(text)?)
        }
    }

    /// Creates everything in `sim`; returns key -> id.
    pub fn apply(&self, sim: &Sim) -> anyhow::Result<BTreeMap<String, i64>> {
        let mut ids = BTreeMap::new();
        for u in &self.users {
            let id = match &u.phone {
                Some(p) => sim.add_owner_account(u.spec.clone(), p, u.password.as_deref())?,
                None => sim.add_user(u.spec.clone())?,
            };
            ids.insert(u.key.clone(), id);
        }
        for c in &self.chats {
            let id = match c.kind.as_str() {
                "channel" => sim.add_channel(c.spec.clone())?,
                "supergroup" => sim.add_supergroup(c.spec.clone())?,
                "basic_group" => sim.add_basic_group(c.spec.clone())?,
                other => anyhow::bail!("unknown chat kind {other}"),
            };
            ids.insert(c.key.clone(), id);
        }
        let id_of = |k: &str| {
            ids.get(k)
                .copied()
                .ok_or_else(|| anyhow::anyhow!("unknown key {k}"))
        };
        for c in &self.chats {
            let chat = id_of(&c.key)?;
            match c.bot.as_deref() {
                Some("admin") => {
                    sim.set_bot_admin(chat, c.rights.unwrap_or_else(AdminRights::all))?
                }
                Some("member") => sim.set_bot_member(chat)?,
                None | Some("none") => {}
                Some(other) => anyhow::bail!("bot must be admin, member or none, not {other}"),
            }
            for m in &c.members {
                sim.add_member(chat, id_of(m)?)?;
            }
            if let Some(o) = &c.owner {
                sim.set_chat_owner(chat, id_of(o)?)?;
            }
            if let Some(l) = &c.linked {
                sim.link_discussion(chat, id_of(l)?)?;
            }
        }
        Ok(ids)
    }
}

/// Serves the control API on `listener` until the process exits.
pub fn serve(sim: Arc<Sim>, listener: TcpListener, world: BTreeMap<String, i64>) {
    let world = Arc::new(world);
    for stream in listener.incoming().flatten() {
        let sim = Arc::clone(&sim);
        let world = Arc::clone(&world);
        std::thread::spawn(move || {
            if let Err(e) = handle(&sim, &world, stream) {
                log::debug!("tgsim control: {e}");
            }
        });
    }
}

fn handle(sim: &Sim, world: &BTreeMap<String, i64>, stream: TcpStream) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_string();
    let path = parts.next().unwrap_or_default().to_string();
    let mut len = 0usize;
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h)? == 0 || h.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            if k.eq_ignore_ascii_case("content-length") {
                len = v.trim().parse().unwrap_or(0);
            }
        }
    }
    if len > 1 << 20 {
        return respond(stream, 413, &json!({"error": "body too large"}));
    }
    let mut body = vec![0; len];
    reader.read_exact(&mut body)?;
    let body: Value = if body.is_empty() {
        Value::Null
    } else {
        match serde_json::from_slice(&body) {
            Ok(v) => v,
            Err(e) => return respond(stream, 400, &json!({"error": format!("bad JSON: {e}")})),
        }
    };
    match route(sim, world, &method, &path, body) {
        Ok(v) => respond(stream, 200, &v),
        Err(RouteError::NotFound) => respond(stream, 404, &json!({"error": "no such route"})),
        Err(RouteError::Bad(e)) => respond(stream, 400, &json!({"error": e})),
    }
}

fn respond(mut stream: TcpStream, code: u16, v: &Value) -> std::io::Result<()> {
    let body = v.to_string();
    let reason = match code {
        200 => "OK",
        404 => "Not Found",
        413 => "Payload Too Large",
        _ => "Bad Request",
    };
    write!(
        stream,
        "HTTP/1.1 {code} {reason}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
}

enum RouteError {
    NotFound,
    Bad(String),
}

impl<E: std::fmt::Display> From<E> for RouteError {
    fn from(e: E) -> Self {
        RouteError::Bad(e.to_string())
    }
}

fn arg<T: serde::de::DeserializeOwned>(body: &Value, key: &str) -> Result<T, RouteError> {
    serde_json::from_value(body.get(key).cloned().unwrap_or(Value::Null))
        .map_err(|e| RouteError::Bad(format!("field {key}: {e}")))
}

/// A `wait_ms` value, capped at one minute.
fn wait(ms: i64) -> std::time::Duration {
    std::time::Duration::from_millis(ms.clamp(0, 60_000) as u64)
}

fn press(
    sim: &Sim,
    user: i64,
    chat: Option<i64>,
    msg_id: i32,
    data: &[u8],
) -> Result<i64, RouteError> {
    Ok(match chat {
        Some(c) => sim.user_press_button_in(user, c, msg_id, data)?,
        None => sim.user_press_button(user, msg_id, data)?,
    })
}

/// `rights` of `/bot_admin`: absent or null = all rights; a list of flag names
/// (`["invite_users", "post_messages"]`, `[]` = an admin with no rights); or an object of
/// booleans (`{"invite_users": true}`, missing flags false).
fn rights_arg(b: &Value) -> Result<AdminRights, RouteError> {
    match b.get("rights") {
        None | Some(Value::Null) => Ok(AdminRights::all()),
        Some(Value::Array(_)) => Ok(AdminRights::from_names(&arg::<Vec<String>>(b, "rights")?)?),
        Some(_) => arg(b, "rights"),
    }
}

fn route(
    sim: &Sim,
    world: &BTreeMap<String, i64>,
    method: &str,
    path: &str,
    b: Value,
) -> Result<Value, RouteError> {
    let ok = || Ok(json!({"ok": true}));
    let (path, query) = path.split_once('?').unwrap_or((path, ""));
    let path = path.trim_end_matches('/');
    let query: BTreeMap<&str, &str> = query
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .collect();
    let q_i64 = |k: &str| -> Result<Option<i64>, RouteError> {
        query
            .get(k)
            .map(|v| v.parse::<i64>())
            .transpose()
            .map_err(|e| RouteError::Bad(format!("query {k}: {e}")))
    };
    if method == "GET" {
        return match path {
            "/payments" => {
                let user = q_i64("user")?.ok_or("query user= is required")?;
                Ok(serde_json::to_value(sim.payments_of(user))?)
            }
            p if p.starts_with("/callback_answers/") => {
                let id: i64 = p["/callback_answers/".len()..].parse()?;
                let answer = match q_i64("wait_ms")? {
                    Some(ms) => sim.wait_callback_answer(id, wait(ms)),
                    None => sim.callback_answer(id),
                };
                Ok(json!({"answer": answer}))
            }
            "/info" => Ok(json!({
                "mtproto": sim.addr().to_string(),
                "bot_id": sim.bot_id(),
                "bot_username": sim.bot_username(),
                "world": world,
                "connections": sim.connection_count(),
            })),
            "/observations" => Ok(serde_json::to_value(sim.observations())?),
            p if p.starts_with("/sent/") => {
                let user: i64 = p["/sent/".len()..].parse()?;
                Ok(serde_json::to_value(sim.sent_to(user))?)
            }
            p if p.starts_with("/files/") => {
                let peer: i64 = p["/files/".len()..].parse()?;
                Ok(serde_json::to_value(sim.files_sent_to(peer))?)
            }
            p if p.starts_with("/file/") => {
                let msg_id: i32 = p["/file/".len()..].parse()?;
                let peer = match q_i64("peer")? {
                    Some(p) => p,
                    None => q_i64("user")?.ok_or("query peer= (or user=) is required")?,
                };
                let f = sim
                    .sent_file(peer, msg_id)
                    .ok_or_else(|| format!("no photo or document {msg_id} sent to {peer}"))?;
                let mut v = serde_json::to_value(&f)?;
                v["data_b64"] = Value::String(crate::obs::b64(&f.bytes));
                Ok(v)
            }
            p if p.starts_with("/payments/") => {
                let id: i64 = p["/payments/".len()..].parse()?;
                if let Some(ms) = q_i64("wait_ms")? {
                    sim.wait_payment(id, wait(ms));
                }
                Ok(json!({"outcome": sim.payment_outcome(id), "payment": sim.payment(id)}))
            }
            _ => Err(RouteError::NotFound),
        };
    }
    if method != "POST" {
        return Err(RouteError::NotFound);
    }
    match path {
        "/users" => {
            let spec: UserSpec = serde_json::from_value(b.clone())?;
            let password = b.get("password").and_then(Value::as_str);
            let id = match b.get("phone").and_then(Value::as_str) {
                Some(p) => sim.add_owner_account(spec, p, password)?,
                None => sim.add_user(spec)?,
            };
            Ok(json!({"id": id}))
        }
        "/channels" => Ok(json!({"id": sim.add_channel(serde_json::from_value(b)?)?})),
        "/supergroups" => Ok(json!({"id": sim.add_supergroup(serde_json::from_value(b)?)?})),
        "/basic_groups" => Ok(json!({"id": sim.add_basic_group(serde_json::from_value(b)?)?})),
        "/link_discussion" => {
            sim.link_discussion(arg(&b, "channel")?, arg(&b, "group")?)?;
            ok()
        }
        "/bot_admin" => {
            sim.set_bot_admin(arg(&b, "chat")?, rights_arg(&b)?)?;
            ok()
        }
        "/invite_links" => {
            let link = sim.create_invite_link(serde_json::from_value(b)?)?;
            let hash = crate::world::invite_hash(&link).to_string();
            Ok(json!({"link": link, "hash": hash}))
        }
        "/bot_member" => {
            sim.set_bot_member(arg(&b, "chat")?)?;
            ok()
        }
        "/remove_bot" => {
            sim.remove_bot(arg(&b, "chat")?)?;
            ok()
        }
        "/members" => {
            sim.add_member(arg(&b, "chat")?, arg(&b, "user")?)?;
            ok()
        }
        "/chat_owner" => {
            sim.set_chat_owner(arg(&b, "chat")?, arg(&b, "user")?)?;
            ok()
        }
        "/post" => Ok(
            json!({"msg_id": sim.post_to_channel(arg(&b, "channel")?, &arg::<String>(&b, "text")?)?}),
        ),
        "/group_message" => Ok(
            json!({"msg_id": sim.send_group_message(arg(&b, "chat")?, arg(&b, "user")?, &arg::<String>(&b, "text")?)?}),
        ),
        "/actions/start" => {
            let payload: Option<String> = arg(&b, "payload")?;
            Ok(json!({"msg_id": sim.user_start_bot(arg(&b, "user")?, payload.as_deref())?}))
        }
        "/actions/text" => Ok(
            json!({"msg_id": sim.user_send_text(arg(&b, "user")?, &arg::<String>(&b, "text")?)?}),
        ),
        "/actions/press" => {
            let user: i64 = arg(&b, "user")?;
            let chat: Option<i64> = arg(&b, "chat")?;
            let msg_id: i32 = arg(&b, "msg_id")?;
            let data: Option<String> = arg(&b, "data")?;
            let data_b64: Option<String> = arg(&b, "data_b64")?;
            let label: Option<String> = arg(&b, "label")?;
            let query_id = match (data, data_b64, label) {
                (Some(d), None, None) => press(sim, user, chat, msg_id, d.as_bytes())?,
                (None, Some(d), None) => press(sim, user, chat, msg_id, &crate::obs::unb64(&d)?)?,
                (None, None, Some(l)) => sim.user_press_button_labelled(user, chat, msg_id, &l)?,
                _ => return Err("give exactly one of data, data_b64, label".into()),
            };
            let mut out = json!({"query_id": query_id});
            if let Some(ms) = arg::<Option<i64>>(&b, "wait_ms")? {
                out["answer"] = serde_json::to_value(sim.wait_callback_answer(query_id, wait(ms)))?;
            }
            Ok(out)
        }
        "/actions/join" => {
            sim.user_join(arg(&b, "user")?, arg(&b, "chat")?)?;
            ok()
        }
        "/actions/join_link" => Ok(
            json!({"outcome": sim.user_join_via_link(arg(&b, "user")?, &arg::<String>(&b, "link")?)?}),
        ),
        "/actions/leave" => {
            sim.user_leave(arg(&b, "user")?, arg(&b, "chat")?)?;
            ok()
        }
        "/actions/delete_message" => {
            sim.user_delete_message(arg(&b, "user")?, arg(&b, "chat")?, arg(&b, "msg_id")?)?;
            ok()
        }
        "/actions/react" => {
            sim.user_react(
                arg(&b, "user")?,
                arg(&b, "chat")?,
                arg(&b, "msg_id")?,
                &arg::<String>(&b, "emoji")?,
            )?;
            ok()
        }
        "/actions/unreact" => {
            sim.user_unreact(arg(&b, "user")?, arg(&b, "chat")?, arg(&b, "msg_id")?)?;
            ok()
        }
        "/actions/comment" => Ok(
            json!({"msg_id": sim.user_comment(arg(&b, "user")?, arg(&b, "channel")?, arg(&b, "post_id")?, &arg::<String>(&b, "text")?)?}),
        ),
        "/actions/vote" => {
            let options: Vec<usize> = arg(&b, "options")?;
            sim.user_vote(
                arg(&b, "user")?,
                arg(&b, "chat")?,
                arg(&b, "msg_id")?,
                &options,
            )?;
            ok()
        }
        "/actions/pay" => {
            let id = sim.user_pay_invoice(arg(&b, "user")?, arg(&b, "msg_id")?)?;
            let mut out = json!({"payment_id": id});
            if let Some(ms) = arg::<Option<i64>>(&b, "wait_ms")? {
                out["outcome"] = serde_json::to_value(sim.wait_payment(id, wait(ms)))?;
            }
            Ok(out)
        }
        "/actions/buy_paid_media" => {
            sim.user_buy_paid_media(arg(&b, "user")?, arg(&b, "msg_id")?)?;
            ok()
        }
        "/actions/boost" => {
            sim.user_boost(arg(&b, "user")?, arg(&b, "chat")?)?;
            ok()
        }
        "/actions/block" => {
            sim.user_block_bot(arg(&b, "user")?)?;
            ok()
        }
        "/actions/unblock" => {
            sim.user_unblock_bot(arg(&b, "user")?)?;
            ok()
        }
        "/actions/premium" => {
            sim.set_premium(arg(&b, "user")?, arg(&b, "premium")?)?;
            ok()
        }
        "/short_messages" => {
            sim.set_short_messages(arg(&b, "enabled")?);
            ok()
        }
        "/faults/drop_next_push" => {
            sim.drop_next_push();
            ok()
        }
        "/faults/kick" => {
            sim.kick_connections();
            ok()
        }
        _ => Err(RouteError::NotFound),
    }
}
