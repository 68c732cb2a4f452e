//! The `studio` binary explains itself: `--help` on the command and on every verb prints its
//! usage and exits 0; a mistake on the command line exits 2 with clap's readable error; a
//! failing verb prints one `Error:` line. No stack is needed.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::{Command, Output};

fn studio(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_studio"))
        .args(args)
        .env_remove("STUDIO_STATE_DIR")
        .env_remove("STUDIO_USER")
        .output()
        .expect("run studio")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Every verb (as typed) and the flags its usage must name.
const VERBS: &[(&[&str], &[&str])] = &[
    (
        &["up"],
        &[
            "--state-dir",
            "--pg-port",
            "--data-api-port",
            "--moto-port",
            "--front-door-port",
            "--bedrock-port",
            "--embeddings-port",
            "--no-moto",
            "--no-functions",
            "--no-seed",
            "--ready-file",
            "--template",
            "--parameter",
            "STUDIO_EMBEDDINGS_PORT",
        ],
    ),
    (&["token"], &["<EMAIL>", "--state-dir"]),
    (&["ingest"], &["<PATH>...", "--repo", "--as", "--state-dir"]),
    (
        &["search"],
        &["<QUERY>...", "--repo", "--as", "--state-dir"],
    ),
    (&["items"], &["--repo", "--as", "--state-dir"]),
    (
        &["chat"],
        &["<QUESTION>...", "--repo", "--model", "--as", "--state-dir"],
    ),
    (&["assistants"], &["--as", "--state-dir", "STUDIO_USER"]),
    (
        &["run"],
        &["<ASSISTANT>...", "--input", "--as", "--state-dir"],
    ),
    (&["schedules"], &["--as", "--state-dir"]),
    (&["schedule"], &["create"]),
    (
        &["schedule", "create"],
        &[
            "<ASSISTANT>",
            "--name",
            "--daily",
            "--weekly",
            "--monthly",
            "--cron",
            "--tz",
            "--input",
            "--as",
            "--state-dir",
        ],
    ),
    (
        &["chunk"],
        &["<FILE>", "--json", "--max-tokens", "--overlap"],
    ),
    (&["mock-providers"], &["--port"]),
    (&["mailbox"], &["--show", "--state-dir"]),
];

#[test]
fn studio_help_lists_every_verb_and_exits_0() {
    let out = studio(&["--help"]);
    let help = text(&out.stdout);
    assert!(out.status.success(), "{help}{}", text(&out.stderr));
    assert!(help.contains("Usage: studio"), "{help}");
    for (verb, _) in VERBS.iter().filter(|(verb, _)| verb.len() == 1) {
        assert!(
            help.lines().any(|l| l.trim_start().starts_with(verb[0])),
            "{} is not listed in\n{help}",
            verb[0]
        );
    }
}

#[test]
fn every_verb_has_help_that_names_its_flags() {
    for (verb, flags) in VERBS {
        let mut args = verb.to_vec();
        args.push("--help");
        let out = studio(&args);
        let help = text(&out.stdout);
        assert!(
            out.status.success(),
            "studio {}: {help}{}",
            args.join(" "),
            text(&out.stderr)
        );
        let usage = format!("Usage: studio {}", verb.join(" "));
        assert!(help.contains(&usage), "{usage:?} not in\n{help}");
        for flag in *flags {
            assert!(
                help.contains(flag),
                "studio {} --help does not name {flag}:\n{help}",
                verb.join(" ")
            );
        }
    }
}

#[test]
fn token_help_is_help_not_an_email() {
    let out = studio(&["token", "--help"]);
    assert!(out.status.success());
    assert!(text(&out.stdout).contains("Usage: studio token"));
}

#[test]
fn an_unknown_flag_exits_2_with_a_readable_error() {
    let out = studio(&["search", "barn owl", "--no-such-flag"]);
    let error = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{error}");
    assert!(
        error.contains("unexpected argument '--no-such-flag'"),
        "{error}"
    );
    assert!(error.contains("Usage: studio search"), "{error}");
}

#[test]
fn an_unknown_verb_and_no_verb_exit_2() {
    assert_eq!(studio(&["serve"]).status.code(), Some(2));
    assert_eq!(studio(&[]).status.code(), Some(2));
}

#[test]
fn a_schedule_with_two_recurrences_is_refused() {
    let out = studio(&[
        "schedule",
        "create",
        "Digest",
        "--daily",
        "09:00",
        "--weekly",
        "MON@09:00",
    ]);
    let error = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{error}");
    assert!(error.contains("cannot be used with"), "{error}");
}

#[test]
fn a_port_that_is_not_a_number_is_refused_by_name() {
    let out = studio(&["mock-providers", "--port", "eighty"]);
    let error = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{error}");
    assert!(error.contains("--port"), "{error}");
}

#[test]
fn a_verb_that_fails_says_why_in_one_line() {
    let missing = std::env::temp_dir().join("studio-cli-help-no-stack");
    let out = studio(&["items", "--state-dir", missing.to_str().unwrap()]);
    let error = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{error}");
    assert_eq!(error.lines().count(), 1, "{error}");
    assert!(error.starts_with("Error: no dev key at"), "{error}");
    assert!(error.contains("start the stack first"), "{error}");
}

#[test]
fn a_user_who_is_not_seeded_is_named_in_the_error() {
    let out = studio(&["token", "nobody@example.com"]);
    let error = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{error}");
    assert!(
        error.starts_with("Error: nobody@example.com is not a seeded user"),
        "{error}"
    );
}
