//! The operator's shell commands, run as the real binary against a real file.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_tgtrack");

fn setup() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("config.toml");
    std::fs::write(
        &cfg,
        format!(
            "[database]\npath = \"{}\"\n[http]\npublic_base_url = \"https://track.example\"\n",
            dir.path().join("t.db").display()
        ),
    )
    .unwrap();
    (dir, cfg)
}

fn run(cfg: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .arg("--config")
        .arg(cfg)
        .args(args)
        .output()
        .unwrap()
}

fn ok(cfg: &Path, args: &[&str]) -> String {
    let out = run(cfg, args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn usage_error(cfg: &Path, args: &[&str]) -> String {
    let out = run(cfg, args);
    assert_eq!(
        out.status.code(),
        Some(2),
        "{args:?} should be a usage error: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8(out.stderr).unwrap()
}

#[test]
fn example_config_is_valid_and_check_config_redacts() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(BIN).arg("example-config").output().unwrap();
    assert!(out.status.success());
    let path = dir.path().join("c.toml");
    std::fs::write(&path, &out.stdout).unwrap();
    let shown = Command::new(BIN)
        .arg("--config")
        .arg(&path)
        .arg("check-config")
        .env("TGTRACK_CONFIG", "/nonexistent")
        .output()
        .unwrap();
    assert!(
        shown.status.success(),
        "{}",
        String::from_utf8_lossy(&shown.stderr)
    );
    // TGTRACK_CONFIG is the fallback when --config is absent.
    let via_env = Command::new(BIN)
        .arg("check-config")
        .env("TGTRACK_CONFIG", &path)
        .output()
        .unwrap();
    assert!(via_env.status.success());
    // Secrets from the environment never print.
    std::fs::write(
        &path,
        "[telegram]\napi_id = 5\nbot_username = \"cli_test_bot\"\n",
    )
    .unwrap();
    let out = Command::new(BIN)
        .arg("--config")
        .arg(&path)
        .arg("check-config")
        .env("TGTRACK_BOT_TOKEN", "777:SECRETSECRETSECRET")
        .env("TGTRACK_API_HASH", "abcdefabcdefabcdefabcdefabcdefab")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success()
            && text.contains("****")
            && !text.contains("SECRETSECRET")
            && !text.contains("abcdefabcdef"),
        "{text}"
    );
}

#[test]
fn offer_lifecycle_from_the_shell() {
    let (dir, cfg) = setup();
    let out = ok(
        &cfg,
        &[
            "offer",
            "create",
            "--name",
            "Join news",
            "--action",
            "join_channel",
            "--username",
            "@news",
            "--payout",
            "0.5",
            "--postback-url",
            "https://tracker.example/pb?subid={click_id}&status={status}",
            "--preset",
            "keitaro",
            "--statuses",
            "hold,approved,rejected",
        ],
    );
    assert!(
        out.contains("created offer 1 (active)")
            && out.contains("https://track.example/click/1?uid={click_id}"),
        "{out}"
    );
    assert!(ok(&cfg, &["offer", "list"]).contains("Join news"));
    let shown = ok(&cfg, &["offer", "show", "1"]);
    assert!(
        shown.contains("\"username\": \"news\"") && !shown.contains("relay_secret\": \"")
            || shown.contains("****"),
        "{shown}"
    );
    let secret = ok(&cfg, &["offer", "show", "1", "--secret"]);
    assert!(secret.contains("relay secret:"), "{secret}");
    assert!(ok(&cfg, &["offer", "pause", "1"]).contains("paused"));
    assert!(ok(&cfg, &["offer", "resume", "1"]).contains("active"));
    assert!(ok(
        &cfg,
        &[
            "offer",
            "set-postback",
            "1",
            "--postback-url",
            "https://t.example/?cid={click_id}",
            "--postback-method",
            "post_json"
        ]
    )
    .contains("post_json"));

    // Minimum prices: shown with their source, raised at run time, enforced on new offers.
    assert!(ok(&cfg, &["price", "show"]).contains("join_channel"));
    assert!(ok(
        &cfg,
        &[
            "price",
            "set",
            "--action",
            "join_channel",
            "--regular",
            "8",
            "--premium",
            "12"
        ]
    )
    .contains("8 / 12"));
    assert!(ok(&cfg, &["price", "show"]).contains("override"));
    assert!(usage_error(
        &cfg,
        &[
            "offer",
            "create",
            "--name",
            "y",
            "--action",
            "join_channel",
            "--username",
            "b",
            "--price",
            "5",
            "--price-premium",
            "12"
        ]
    )
    .contains("minimum 8"));
    assert!(usage_error(
        &cfg,
        &[
            "price",
            "set",
            "--action",
            "forward",
            "--regular",
            "1",
            "--premium",
            "1"
        ]
    )
    .contains("share"));

    // Refusals name the problem.
    assert!(usage_error(
        &cfg,
        &["offer", "create", "--name", "x", "--action", "forward"]
    )
    .contains("share"));
    assert!(usage_error(
        &cfg,
        &[
            "offer",
            "create",
            "--name",
            "x",
            "--action",
            "join_channel",
            "--username",
            "a",
            "--price",
            "1"
        ]
    )
    .contains("minimum"));
    assert!(usage_error(
        &cfg,
        &[
            "offer",
            "create",
            "--name",
            "x",
            "--action",
            "reaction",
            "--chat-kind",
            "channel",
            "--chat-id",
            "5",
            "--msg-id",
            "3"
        ]
    )
    .contains("anonymous"));
    assert!(usage_error(
        &cfg,
        &[
            "offer",
            "set-postback",
            "1",
            "--postback-url",
            "https://t.example/?x={nope}"
        ]
    )
    .contains("nope"));
    assert!(usage_error(&cfg, &["offer", "pause", "42"]).contains("no offer 42"));

    // Stats, CSV, backup.
    assert!(ok(&cfg, &["stats"]).contains("no activity"));
    let csv = ok(
        &cfg,
        &[
            "stats",
            "--csv",
            "--from",
            "2026-01-01",
            "--to",
            "2026-12-31",
        ],
    );
    assert!(csv.starts_with("day,offer_id,clicks"), "{csv}");
    assert!(usage_error(&cfg, &["stats", "--from", "yesterday"]).contains("--from"));
    let backup = dir.path().join("backup.db");
    assert!(ok(&cfg, &["backup", backup.to_str().unwrap()]).contains("backed up"));
    let restored = tgtrack::store::Store::open(&backup, 1).unwrap();
    let offers = restored.read(tgtrack::store::offers::list_offers).unwrap();
    assert_eq!(offers.len(), 1);
    assert!(usage_error(&cfg, &["backup", backup.to_str().unwrap()]).contains("already exists"));
    let version = format!(
        "schema version {}",
        tgtrack::store::migrations::MIGRATIONS.len()
    );
    assert!(ok(&cfg, &["migrate"]).contains(&version));
    assert!(ok(&cfg, &["postback", "list"]).contains("no postbacks"));
    assert!(usage_error(&cfg, &["postback", "list", "--state", "lost"]).contains("--state"));
}

/// Issue 11, defect 6: `migrate` on somebody else's SQLite file (user_version
/// 0 with tables of its own) refuses and leaves it alone; an empty file is fine.
#[test]
fn migrate_refuses_a_foreign_database() {
    let (dir, cfg) = setup();
    let db = dir.path().join("t.db");
    {
        let c = rusqlite::Connection::open(&db).unwrap();
        c.execute_batch("CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL); INSERT INTO invoices VALUES (1, 9.5);")
            .unwrap();
    }
    let out = run(&cfg, &["migrate"]);
    assert!(!out.status.success(), "migrate must refuse");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("not a tgtrack database") && err.contains("invoices"),
        "{err}"
    );
    let c = rusqlite::Connection::open(&db).unwrap();
    let tables: Vec<String> = c
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(tables, vec!["invoices".to_string()], "nothing was added");
    drop(c);

    // An empty file (zero bytes, or SQLite with no tables) is ours to fill.
    std::fs::write(&db, b"").unwrap();
    ok(&cfg, &["migrate"]);
    ok(&cfg, &["migrate"]);
}

/// Issue 11, defect 6: `--statuses ""` made an offer that never posts back,
/// `--schedule ""` meant "always".
#[test]
fn empty_statuses_and_schedule_are_refused() {
    let (_dir, cfg) = setup();
    let base = [
        "offer",
        "create",
        "--name",
        "N",
        "--action",
        "join_channel",
        "--username",
        "@news",
    ];
    let mut args = base.to_vec();
    args.extend(["--statuses", ""]);
    assert!(usage_error(&cfg, &args).contains("--statuses"));
    let mut args = base.to_vec();
    args.extend(["--statuses", " , "]);
    assert!(usage_error(&cfg, &args).contains("--statuses"));
    let mut args = base.to_vec();
    args.extend(["--schedule", ""]);
    assert!(usage_error(&cfg, &args).contains("--schedule"));
    assert!(!ok(&cfg, &["offer", "list"]).contains(" N "));
    ok(&cfg, &base);
    assert!(
        usage_error(&cfg, &["offer", "set-postback", "1", "--statuses", ""]).contains("--statuses")
    );
}

/// Issue 11, defect 6: config errors that used to pass silently or surface
/// late: a catch-all trusted proxy, a missing test-DC key file.
#[test]
fn catch_all_proxies_and_a_missing_key_file_are_config_errors() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("c.toml");
    std::fs::write(&cfg, "[http]\ntrusted_proxies = [\"0.0.0.0/0\"]\n").unwrap();
    let err = usage_error(&cfg, &["check-config"]);
    assert!(err.contains("http.trusted_proxies"), "{err}");

    let missing = dir.path().join("no-such.key");
    std::fs::write(
        &cfg,
        format!(
            "[telegram]\napi_id = 1\napi_hash = \"0123456789abcdef0123456789abcdef\"\nbot_token = \"123456:ABC-DEF1234ghIkl-zyx57W2v1u123ew11\"\nbot_username = \"b_bot\"\n\
             [telegram.test_dc]\naddress = \"127.0.0.1:1\"\nauth_key_file = \"{}\"\n",
            missing.display()
        ),
    )
    .unwrap();
    let err = usage_error(&cfg, &["check-config"]);
    assert!(
        err.contains("telegram.test_dc.auth_key_file") && err.contains("no-such.key"),
        "{err}"
    );
    let err = usage_error(&cfg, &["run"]);
    assert!(err.contains("no-such.key"), "{err}");
}

/// Default hold windows are run-time settings too, shared with /settings in the bot.
#[test]
fn default_holds_are_set_and_shown() {
    let (_dir, cfg) = setup();
    assert!(ok(&cfg, &["price", "show"]).contains("3days"));
    ok(
        &cfg,
        &[
            "price",
            "set-hold",
            "--action",
            "join_channel",
            "--hold",
            "12h",
        ],
    );
    let shown = ok(&cfg, &["price", "show"]);
    let join = shown
        .lines()
        .find(|l| l.starts_with("join_channel"))
        .unwrap();
    assert!(join.ends_with("12h"), "{join}");
    assert!(usage_error(
        &cfg,
        &[
            "price",
            "set-hold",
            "--action",
            "join_channel",
            "--hold",
            "soon"
        ]
    )
    .contains("--hold"));
    assert!(usage_error(
        &cfg,
        &[
            "price",
            "set-hold",
            "--action",
            "join_channel",
            "--hold",
            "100d"
        ]
    )
    .contains("90 days"));
    assert!(usage_error(
        &cfg,
        &["price", "set-hold", "--action", "fly", "--hold", "1h"]
    )
    .contains("--action"));
}
