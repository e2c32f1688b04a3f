//! The `kizuna` command as a user runs it.

// Test helpers may panic: a failed setup is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

fn kizuna() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_kizuna"));
    c.env_remove("KIZUNA_DATABASE_URL")
        .env_remove("KIZUNA_LISTEN")
        .env("KIZUNA_LOG", "warn");
    c
}

#[test]
fn help_explains_the_commands_and_options() {
    let out = kizuna().arg("--help").output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    for word in ["serve", "demo", "token", "--database-url", "--config"] {
        assert!(text.contains(word), "--help mentions {word}:\n{text}");
    }
    let out = kizuna().args(["serve", "--help"]).output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("--listen") && text.contains("--demo"),
        "{text}"
    );
    let out = kizuna()
        .args(["token", "create", "--scope", "superuser"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("read"));
}

#[test]
fn token_create_prints_the_token_alone_and_config_layers_apply() {
    let dir = tempfile::tempdir().unwrap();
    let env_db = dir.path().join("from-env.db");
    let flag_db = dir.path().join("from-flag.db");
    let file_db = dir.path().join("from-file.db");

    // The environment applies when no flag is given.
    let out = kizuna()
        .current_dir(dir.path())
        .env(
            "KIZUNA_DATABASE_URL",
            format!("sqlite://{}", env_db.display()),
        )
        .args(["token", "create", "--scope", "write"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 1, "the token alone on stdout: {stdout:?}");
    assert!(lines[0].starts_with("kz_") && lines[0].len() > 40);
    assert!(env_db.exists());

    // A flag beats the environment.
    let out = kizuna()
        .current_dir(dir.path())
        .env(
            "KIZUNA_DATABASE_URL",
            format!("sqlite://{}", env_db.display()),
        )
        .args(["token", "create", "--scope", "read", "--database-url"])
        .arg(format!("sqlite://{}", flag_db.display()))
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(flag_db.exists());

    // The file applies when neither is given; the environment beats the file.
    let config = dir.path().join("kizuna.toml");
    std::fs::write(
        &config,
        format!("database_url = \"sqlite://{}\"\n", file_db.display()),
    )
    .unwrap();
    let out = kizuna()
        .current_dir(dir.path())
        .args(["token", "create", "--scope", "admin"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(file_db.exists());
    std::fs::remove_file(&env_db).unwrap();
    let out = kizuna()
        .current_dir(dir.path())
        .env(
            "KIZUNA_DATABASE_URL",
            format!("sqlite://{}", env_db.display()),
        )
        .args(["token", "create", "--scope", "admin"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(env_db.exists(), "the environment beats the file");

    std::fs::write(&config, "database_url = 5\n").unwrap();
    let out = kizuna()
        .current_dir(dir.path())
        .args(["token", "create", "--scope", "admin"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("database_url"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let out = kizuna()
        .args([
            "token",
            "create",
            "--scope",
            "read",
            "--database-url",
            "mysql://x",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("sqlite://"));
}

#[test]
fn demo_then_serve_answers_http() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("kizuna.db").display());
    let out = kizuna()
        .args([
            "demo",
            "--accounts",
            "12",
            "--days",
            "40",
            "--seed",
            "7",
            "--today",
            "2026-11-24",
            "--database-url",
            &url,
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("Demo data loaded: 12 accounts"), "{stderr}");
    // A second load into the same database is refused, nothing is doubled.
    let again = kizuna()
        .args(["demo", "--accounts", "12", "--database-url", &url])
        .output()
        .unwrap();
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("empty database"));

    let token = kizuna()
        .args(["token", "create", "--scope", "read", "--database-url", &url])
        .output()
        .unwrap();
    let token = String::from_utf8(token.stdout).unwrap().trim().to_string();

    let mut server = kizuna()
        .args(["serve", "--listen", "127.0.0.1:0", "--database-url", &url])
        .env("KIZUNA_ADMIN_PASSWORD", "a long enough password")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = server.stderr.take().unwrap();
    let mut lines = BufReader::new(stderr).lines();
    let addr = loop {
        let line = lines
            .next()
            .expect("server exited before listening")
            .unwrap();
        if let Some(rest) = line.split("listening on http://").nth(1) {
            break rest.trim().to_string();
        }
    };
    let body = reqwest::blocking::Client::new()
        .get(format!("http://{addr}/api/v1/accounts?limit=5"))
        .bearer_auth(&token)
        .send()
        .unwrap()
        .text()
        .unwrap();
    let _ = server.kill();
    let _ = server.wait();
    let page: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(page["total"], 12, "{body}");
}
