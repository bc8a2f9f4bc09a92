//! authd's load generator: drives one RPC against a running server and reports throughput
//! and latency percentiles. Numbers for notes and the README come from here, measured in
//! one run, never from timed assertions in tests.
//!
//! ```sh
//! cargo run --release -- --ip-limit 0 &                    # the server under test
//! cargo run --release --example loadgen -- --rpc get-me --concurrency 64 --seconds 10
//! ```
//!
//! Every run first registers and logs in its own users (names prefixed by a random run id),
//! so it can be pointed at any authd without setup. All of it comes from one address, so
//! start the server with `--ip-limit 0` unless the per-address limit is what is measured.
//! Answers are tallied by gRPC code: a throttled call is an answer, not an error. The clock
//! starts once every worker has set up its user, and a run with any unexpected answer exits
//! non-zero: it is not a figure.
//!
//! The login throttle, as an attacker meets it: 200 wrong passwords for one account, 50 at
//! a time:
//!
//! ```sh
//! cargo run --release --example loadgen -- --rpc login-wrong-password --one-user \
//!     --concurrency 50 --requests 200
//! ```

#![allow(clippy::expect_used, clippy::unwrap_used)] // a benchmark tool: fail loudly

use std::{
    collections::BTreeMap,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use authd::pb::{
    GetMeRequest, LoginRequest, RefreshRequest, RegisterRequest,
    auth_service_client::AuthServiceClient,
};
use clap::{Parser, ValueEnum};
use tokio::sync::Barrier;
use tonic::{Code, Request, Status, transport::Channel};

#[derive(Parser, Debug)]
struct Args {
    /// Server to load.
    #[arg(long, default_value = "http://127.0.0.1:50051")]
    target: String,
    /// The RPC to repeat.
    #[arg(long, value_enum, default_value = "get-me")]
    rpc: Rpc,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
    /// HTTP/2 connections the requests are spread over.
    #[arg(long, default_value_t = 4)]
    connections: usize,
    /// How long to run, in seconds.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Stop after this many requests in all (or when the time is up, if sooner).
    #[arg(long)]
    requests: Option<usize>,
    /// Every worker logs in as one user (login RPCs only), as a guesser aiming at one
    /// account would.
    #[arg(long)]
    one_user: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Rpc {
    /// GetMe with a valid access token (JWT verify + one indexed read).
    GetMe,
    /// Login with the right password (one argon2 verify + one write).
    Login,
    /// Login with a wrong password for an existing user.
    LoginWrongPassword,
    /// Login for a username that does not exist (verifies against the dummy hash).
    LoginUnknownUser,
    /// Register a new user each time (one argon2 hash + one write).
    Register,
    /// Refresh, each worker following its own rotation chain (one write).
    Refresh,
}

const PASSWORD: &str = "load-test-passphrase-1";

#[tokio::main]
async fn main() {
    let args = Args::parse();
    // A worker that fails to set up ends the run at once, rather than leaving the others
    // waiting for it to be ready.
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        default_hook(info);
        std::process::exit(2);
    }));
    let run_id = format!(
        "{:08x}",
        std::process::id() ^ Instant::now().elapsed().subsec_nanos()
    );
    let mut channels = Vec::new();
    for _ in 0..args.connections.max(1) {
        channels.push(
            Channel::from_shared(args.target.clone())
                .unwrap()
                .connect()
                .await
                .unwrap(),
        );
    }
    let shared_user = args.one_user.then(|| format!("load{run_id}"));
    if let Some(name) = &shared_user {
        assert!(
            matches!(args.rpc, Rpc::Login | Rpc::LoginWrongPassword),
            "--one-user is for the login RPCs"
        );
        register(&mut AuthServiceClient::new(channels[0].clone()), name).await;
    }
    let tickets = Arc::new(AtomicUsize::new(args.requests.unwrap_or(usize::MAX)));
    // Every worker sets up its user first; the clock starts when the last one is ready, so
    // the argon2 work of setting up is not counted against the RPC under load.
    let ready = Arc::new(Barrier::new(args.concurrency + 1));
    let mut workers = Vec::new();
    for worker in 0..args.concurrency {
        let client = AuthServiceClient::new(channels[worker % channels.len()].clone());
        let (name, setup) = match &shared_user {
            Some(name) => (name.clone(), false),
            None => (format!("load{run_id}w{worker}"), true),
        };
        let run = Run {
            rpc: args.rpc,
            setup,
            ready: ready.clone(),
            seconds: args.seconds,
            tickets: tickets.clone(),
        };
        workers.push(tokio::spawn(run_worker(client, run, name)));
    }
    ready.wait().await;
    let started = Instant::now();
    let mut latencies = Vec::new();
    let mut errors = 0usize;
    let mut codes = BTreeMap::new();
    for worker in workers {
        let outcome = worker.await.unwrap();
        latencies.extend(outcome.latencies);
        errors += outcome.unexpected;
        for (code, n) in outcome.codes {
            *codes.entry(code).or_insert(0) += n;
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    report(&args, &mut latencies, errors, &codes, elapsed);
    if let Some(name) = &shared_user {
        // What the account's owner meets right after: the right password, once.
        let mut client = AuthServiceClient::new(channels[0].clone());
        match client.login(login(name, PASSWORD)).await {
            Ok(_) => println!("then the right password: Ok"),
            Err(status) => {
                let wait = status.metadata().get("retry-after");
                println!(
                    "then the right password: {:?} (retry-after {wait:?})",
                    status.code()
                );
            }
        }
    }
    if errors > 0 {
        eprintln!("{errors} unexpected answers (see codes): this run is not a figure");
        std::process::exit(1);
    }
}

/// What one worker does: which RPC, whether it sets up its own user, and for how long
/// once every worker is ready.
struct Run {
    rpc: Rpc,
    setup: bool,
    ready: Arc<Barrier>,
    seconds: u64,
    /// Requests left for all workers together.
    tickets: Arc<AtomicUsize>,
}

impl Run {
    fn another(&self, deadline: Instant) -> bool {
        Instant::now() < deadline
            && self
                .tickets
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1))
                .is_ok()
    }
}

/// What a worker saw: latencies (µs), answers that were not the RPC's expected one, and
/// every answer by gRPC code.
struct Outcome {
    latencies: Vec<u32>,
    unexpected: usize,
    codes: BTreeMap<String, usize>,
}

async fn register(client: &mut AuthServiceClient<Channel>, name: &str) {
    let register = RegisterRequest {
        username: name.to_string(),
        email: format!("{name}@example.com"),
        password: PASSWORD.into(),
    };
    client.register(register).await.expect("setup: register");
}

fn code_of<T>(result: &Result<T, Status>) -> Code {
    match result {
        Ok(_) => Code::Ok,
        Err(status) => status.code(),
    }
}

/// Sets up this worker's user (unless it shares one), then repeats the RPC until the
/// deadline or the last request.
async fn run_worker(mut client: AuthServiceClient<Channel>, run: Run, name: String) -> Outcome {
    let rpc = run.rpc;
    let setup_needed = run.setup && !matches!(rpc, Rpc::Register | Rpc::LoginUnknownUser);
    let mut access = String::new();
    let mut refresh = String::new();
    if setup_needed {
        register(&mut client, &name).await;
        let tokens = client
            .login(login(&name, PASSWORD))
            .await
            .expect("setup: login")
            .into_inner()
            .tokens
            .unwrap();
        access = format!("Bearer {}", tokens.access_token);
        refresh = tokens.refresh_token;
    }
    let mut outcome = Outcome {
        latencies: Vec::new(),
        unexpected: 0,
        codes: BTreeMap::new(),
    };
    let mut sequence = 0u64;
    run.ready.wait().await;
    let deadline = Instant::now() + Duration::from_secs(run.seconds);
    while run.another(deadline) {
        sequence += 1;
        let start = Instant::now();
        let (code, expected) = match rpc {
            Rpc::GetMe => {
                let mut request = Request::new(GetMeRequest {});
                request
                    .metadata_mut()
                    .insert("authorization", access.parse().unwrap());
                let code = code_of(&client.get_me(request).await);
                (code, code == Code::Ok)
            }
            Rpc::Login => {
                let code = code_of(&client.login(login(&name, PASSWORD)).await);
                (code, code == Code::Ok)
            }
            Rpc::LoginWrongPassword => {
                let code = code_of(&client.login(login(&name, "wrong-passphrase")).await);
                (code, code != Code::Ok)
            }
            Rpc::LoginUnknownUser => {
                let code = code_of(&client.login(login(&format!("{name}x"), PASSWORD)).await);
                (code, code != Code::Ok)
            }
            Rpc::Register => {
                let username = format!("{name}n{sequence}");
                let request = RegisterRequest {
                    email: format!("{username}@example.com"),
                    username,
                    password: PASSWORD.into(),
                };
                let code = code_of(&client.register(request).await);
                (code, code == Code::Ok)
            }
            Rpc::Refresh => {
                let request = RefreshRequest {
                    refresh_token: refresh.clone(),
                };
                let result = client.refresh(request).await;
                let code = code_of(&result);
                if let Ok(response) = result {
                    refresh = response.into_inner().tokens.unwrap().refresh_token;
                }
                (code, code == Code::Ok)
            }
        };
        outcome
            .latencies
            .push(start.elapsed().as_micros().min(u32::MAX as u128) as u32);
        *outcome.codes.entry(format!("{code:?}")).or_insert(0) += 1;
        if !expected {
            outcome.unexpected += 1;
        }
    }
    outcome
}

fn login(username: &str, password: &str) -> LoginRequest {
    LoginRequest {
        username: username.into(),
        password: password.into(),
        email: String::new(),
    }
}

fn report(
    args: &Args,
    latencies: &mut [u32],
    errors: usize,
    codes: &BTreeMap<String, usize>,
    elapsed: f64,
) {
    latencies.sort_unstable();
    let percentile = |p: f64| -> f64 {
        if latencies.is_empty() {
            return 0.0;
        }
        let index = ((latencies.len() as f64 - 1.0) * p).round() as usize;
        latencies[index] as f64 / 1000.0
    };
    println!(
        "rpc={:?} concurrency={} connections={} seconds={:.3} requests={} unexpected={} rate={:.1}/s \
         p50={:.2}ms p90={:.2}ms p99={:.2}ms max={:.2}ms codes={}",
        args.rpc,
        args.concurrency,
        args.connections,
        elapsed,
        latencies.len(),
        errors,
        latencies.len() as f64 / elapsed,
        percentile(0.50),
        percentile(0.90),
        percentile(0.99),
        percentile(1.0),
        codes
            .iter()
            .map(|(code, n)| format!("{code}:{n}"))
            .collect::<Vec<_>>()
            .join(","),
    );
    if codes.contains_key("ResourceExhausted") {
        println!(
            "note: ResourceExhausted answers are authd's limits: per address (--ip-limit 0 \
             turns it off) and per username (five wrong passwords in a row)"
        );
    }
}
