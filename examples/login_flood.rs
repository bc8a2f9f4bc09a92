//! A login flood from many addresses, and what it does to everyone else.
//!
//! Opens `--logins` connections at once, each from its own loopback source address
//! (127.1.0.0/16, all routed to the host on Linux), and sends one Login on each, all
//! together. Meanwhile one separate client calls GetMe back to back. Reports the share of
//! logins answered within `--answer-within`, the latency of the successful ones, the codes,
//! GetMe's latency during the flood, and (with `--server-pid`) the server's peak RSS.
//! Numbers come from one run on one machine; they are for notes, never for test asserts.
//!
//! ```sh
//! ulimit -n 65536
//! cargo run --release -- --ip-limit 0 &           # the server under test
//! cargo run --release --example login_flood -- --logins 1000 --server-pid $!
//! ```

#![allow(clippy::expect_used, clippy::unwrap_used)] // a benchmark tool: fail loudly

use std::{
    collections::BTreeMap,
    net::{IpAddr, Ipv4Addr},
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use authd::pb::{
    GetMeRequest, LoginRequest, RegisterRequest, auth_service_client::AuthServiceClient,
};
use clap::Parser;
use tonic::{Request, transport::Endpoint};

#[derive(Parser, Debug)]
struct Args {
    /// Server to flood.
    #[arg(long, default_value = "http://127.0.0.1:50051")]
    target: String,
    /// Logins sent at once, each on its own connection from its own address.
    #[arg(long, default_value_t = 1000)]
    logins: usize,
    /// Distinct users the logins are spread over (registered first).
    #[arg(long, default_value_t = 20)]
    users: usize,
    /// The time a login must be answered in to count as answered.
    #[arg(long, default_value_t = 2.0)]
    answer_within: f64,
    /// The server's process id, to read its peak resident memory (VmHWM).
    #[arg(long)]
    server_pid: Option<u32>,
}

const PASSWORD: &str = "flood-test-passphrase-1";

fn source_address(index: usize) -> IpAddr {
    let index = index as u32 + 1;
    IpAddr::V4(Ipv4Addr::new(127, 1, (index >> 8) as u8, index as u8))
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[rank]
}

fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|line| line.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    let run = format!("{:06x}", std::process::id());
    let endpoint = Endpoint::from_shared(args.target.clone()).unwrap();
    let mut setup = AuthServiceClient::new(endpoint.connect().await.unwrap());
    for user in 0..args.users {
        setup
            .register(RegisterRequest {
                username: format!("flood{run}u{user}"),
                email: format!("flood{run}u{user}@example.com"),
                password: PASSWORD.into(),
            })
            .await
            .unwrap();
    }
    let login = setup
        .login(LoginRequest {
            username: format!("flood{run}u0"),
            password: PASSWORD.into(),
            email: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    let access = login.tokens.unwrap().access_token;
    if let Some(pid) = args.server_pid {
        println!(
            "server RSS before the flood: {} KiB",
            rss_kib(pid).unwrap_or(0)
        );
    }

    // Connect every flooding client first, so the flood itself is only logins.
    let mut clients = Vec::with_capacity(args.logins);
    for index in 0..args.logins {
        let channel = endpoint
            .clone()
            .local_address(Some(source_address(index)))
            .connect()
            .await
            .unwrap();
        clients.push(AuthServiceClient::new(channel));
    }

    let flooding = Arc::new(AtomicBool::new(true));
    let prober = {
        let flooding = flooding.clone();
        let mut client = AuthServiceClient::new(endpoint.connect().await.unwrap());
        tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut failures = 0usize;
            while flooding.load(Ordering::Relaxed) {
                let mut request = Request::new(GetMeRequest {});
                let value = format!("Bearer {access}").parse().unwrap();
                request.metadata_mut().insert("authorization", value);
                let started = Instant::now();
                match client.get_me(request).await {
                    Ok(_) => latencies.push(started.elapsed()),
                    Err(_) => failures += 1,
                }
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            (latencies, failures)
        })
    };

    let started = Instant::now();
    let users = args.users;
    let logins = clients.into_iter().enumerate().map(|(index, mut client)| {
        let username = format!("flood{run}u{}", index % users);
        tokio::spawn(async move {
            let sent = Instant::now();
            let result = client
                .login(LoginRequest {
                    username,
                    password: PASSWORD.into(),
                    email: String::new(),
                })
                .await;
            (sent.elapsed(), result.map(|_| ()).map_err(|s| s.code()))
        })
    });
    let results: Vec<_> = futures::future::join_all(logins).await;
    let flood_took = started.elapsed();
    flooding.store(false, Ordering::Relaxed);
    let (mut probe_latencies, probe_failures) = prober.await.unwrap();

    let within = Duration::from_secs_f64(args.answer_within);
    let mut answered_in_time = 0usize;
    let mut successes = Vec::new();
    let mut codes: BTreeMap<String, usize> = BTreeMap::new();
    for result in results {
        let (took, outcome) = result.unwrap();
        if took <= within {
            answered_in_time += 1;
        }
        match outcome {
            Ok(()) => {
                successes.push(took);
                *codes.entry("OK".into()).or_default() += 1;
            }
            Err(code) => *codes.entry(format!("{code:?}")).or_default() += 1,
        }
    }
    successes.sort();
    probe_latencies.sort();
    println!(
        "{} logins from {} addresses over {} users, all sent at once; the flood took {:.2} s",
        args.logins,
        args.logins,
        args.users,
        flood_took.as_secs_f64()
    );
    println!(
        "answered within {:.1} s: {} of {} ({:.1} %)",
        args.answer_within,
        answered_in_time,
        args.logins,
        100.0 * answered_in_time as f64 / args.logins as f64
    );
    println!("codes: {codes:?}");
    println!(
        "successful logins: {}, p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms",
        successes.len(),
        percentile(&successes, 0.50).as_secs_f64() * 1e3,
        percentile(&successes, 0.99).as_secs_f64() * 1e3,
        successes.last().copied().unwrap_or_default().as_secs_f64() * 1e3
    );
    println!(
        "GetMe during the flood: {} calls, {} failed, p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        probe_latencies.len(),
        probe_failures,
        percentile(&probe_latencies, 0.50).as_secs_f64() * 1e3,
        percentile(&probe_latencies, 0.99).as_secs_f64() * 1e3,
        probe_latencies
            .last()
            .copied()
            .unwrap_or_default()
            .as_secs_f64()
            * 1e3
    );
    if let Some(pid) = args.server_pid {
        match peak_rss_kib(pid) {
            Some(kib) => println!("server peak RSS (VmHWM): {:.1} MiB", kib as f64 / 1024.0),
            None => println!("server peak RSS: /proc/{pid}/status unreadable"),
        }
    }
}
