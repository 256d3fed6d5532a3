//! `tgsim serve`: the simulator as a standalone process with a JSON control API.

use std::path::PathBuf;
use std::sync::Arc;

use clap::{Parser, Subcommand};
use tgsim::control::{self, WorldFile};
use tgsim::{Sim, SimConfig};

#[derive(Parser)]
#[command(
    name = "tgsim",
    about = "A fake Telegram datacenter for grammers clients"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Serve MTProto on --listen and the JSON control API on --control.
    Serve {
        #[arg(long, default_value = "127.0.0.1:0")]
        listen: std::net::SocketAddr,
        #[arg(long, default_value = "127.0.0.1:0")]
        control: std::net::SocketAddr,
        #[arg(long)]
        bot_token: String,
        /// Raw 256-byte auth key; created with a random key when the file does not exist.
        #[arg(long)]
        auth_key_file: Option<PathBuf>,
        /// World file (TOML or JSON) with users and chats to create at start.
        #[arg(long)]
        world: Option<PathBuf>,
        /// Pre-checkout deadline in milliseconds.
        #[arg(long, default_value_t = 10_000)]
        precheckout_timeout_ms: u64,
        /// Push private messages from users the bot already knows as updateShortMessage.
        #[arg(long)]
        short_messages: bool,
    },
}

fn main() -> anyhow::Result<()> {
    env_logger::init();
    let Cmd::Serve {
        listen,
        control: control_addr,
        bot_token,
        auth_key_file,
        world,
        precheckout_timeout_ms,
        short_messages,
    } = Cli::parse().cmd;
    let auth_key = match &auth_key_file {
        Some(p) if p.exists() => {
            let bytes = std::fs::read(p)?;
            let key: [u8; 256] = bytes
                .try_into()
                .map_err(|_| anyhow::anyhow!("{} must hold exactly 256 bytes", p.display()))?;
            Some(key)
        }
        _ => None,
    };
    let sim = Sim::start(SimConfig {
        listen,
        bot_token,
        auth_key,
        precheckout_timeout: std::time::Duration::from_millis(precheckout_timeout_ms),
        short_messages_for_known_users: short_messages,
        ..Default::default()
    })?;
    if let Some(p) = &auth_key_file {
        if !p.exists() {
            sim.write_auth_key_file(p)?;
        }
    }
    let ids = match &world {
        Some(p) => WorldFile::parse(&std::fs::read_to_string(p)?)?.apply(&sim)?,
        None => Default::default(),
    };
    let listener = std::net::TcpListener::bind(control_addr)?;
    // One JSON line on stdout so scripts can find the ports.
    println!(
        "{}",
        serde_json::json!({
            "mtproto": sim.addr().to_string(),
            "control": listener.local_addr()?.to_string(),
            "bot_id": sim.bot_id(),
            "world": ids,
        })
    );
    control::serve(Arc::new(sim), listener, ids);
    Ok(())
}
