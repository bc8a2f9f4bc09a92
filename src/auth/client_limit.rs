//! The per-client limit: how many of the expensive or guessable calls (Login, Register,
//! Refresh, the REST token endpoints, and anything added later that checks a password) one
//! client address may make per minute, on this node.
//!
//! A GCRA limiter from `governor`, keyed by the client's address as [`Context::client`]
//! resolves it (through `--trusted-proxies`): `--ip-limit` calls a minute, with a burst of
//! as many, so a client that was quiet for a minute may spend its whole minute at once.
//! IPv6 clients are keyed by their /64, the block one subscriber is usually given, so
//! rotating addresses within it buys nothing.
//!
//! The limit lives in memory, per node: every node behind a load balancer keeps its own
//! count (the per-account throttle in `throttle` is the one shared through the database).
//! A client whose state has returned to "fresh" holds no memory: a sweep once a minute
//! drops those keys, so the map holds only the clients seen in the last minute or two.
//!
//! Any core method that should be limited starts with `self.limit_client(ctx)?`.

use std::{
    net::{IpAddr, Ipv6Addr},
    num::NonZeroU32,
};

use governor::{
    Quota, RateLimiter,
    clock::{Clock, DefaultClock},
    middleware::NoOpMiddleware,
    state::keyed::DefaultKeyedStateStore,
};

use super::{
    Auth, Context,
    periodic::{Periodic, SampledLine},
};
use crate::error::Error;

/// How often keys whose budget is whole again are dropped.
const SWEEP_INTERVAL: i64 = 60;
/// How often a line about refused clients may be logged.
const REFUSED_LINE_INTERVAL: i64 = 60;

type Limiter<C> =
    RateLimiter<IpAddr, DefaultKeyedStateStore<IpAddr>, C, NoOpMiddleware<<C as Clock>::Instant>>;

/// Calls per minute per client address, with a burst of as many; `None` when turned off.
pub struct ClientLimiter<C: Clock = DefaultClock> {
    limiter: Option<Limiter<C>>,
    sweep: Periodic,
    refused: SampledLine,
}

impl ClientLimiter {
    /// `per_minute` calls a minute for each client; `0` turns the limit off.
    pub fn new(per_minute: u32) -> Self {
        Self::with_clock(per_minute, DefaultClock::default())
    }
}

impl<C: Clock> ClientLimiter<C> {
    fn with_clock(per_minute: u32, clock: C) -> Self {
        let limiter = NonZeroU32::new(per_minute).map(|per_minute| {
            RateLimiter::new(
                Quota::per_minute(per_minute),
                DefaultKeyedStateStore::default(),
                clock,
            )
        });
        Self {
            limiter,
            sweep: Periodic::new(SWEEP_INTERVAL),
            refused: SampledLine::new(REFUSED_LINE_INTERVAL),
        }
    }

    /// Spends one call of `client`'s budget, or says how long it must wait. A request with
    /// no known client (no TCP peer) is not limited. `now` (the core's clock) paces the
    /// sweep and the log line; the budget itself runs on a monotonic clock.
    pub fn check(&self, client: Option<IpAddr>, now: i64) -> Result<(), Error> {
        let (Some(limiter), Some(client)) = (&self.limiter, client) else {
            return Ok(());
        };
        if self.sweep.due(now) {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
        let Err(refusal) = limiter.check_key(&bucket(client)) else {
            return Ok(());
        };
        let wait = refusal.wait_time_from(limiter.clock().now());
        // Whole seconds, rounded up, and never "0": a client told 0 would retry at once.
        let retry_after = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        super::events::throttled("client");
        if let Some(refusals) = self.refused.sample(now) {
            tracing::warn!(
                event = "client.throttled",
                %client,
                refusals,
                "clients over the per-address limit refused"
            );
        }
        Err(Error::Throttled {
            retry_after: retry_after.max(1),
        })
    }

    #[cfg(test)]
    fn tracked(&self) -> usize {
        self.limiter.as_ref().map_or(0, |limiter| limiter.len())
    }
}

/// The key an address is counted under: IPv4 addresses as they are, IPv6 ones by /64.
fn bucket(address: IpAddr) -> IpAddr {
    match address.to_canonical() {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => IpAddr::V6(Ipv6Addr::from(v6.to_bits() & (u128::MAX << 64))),
    }
}

impl Auth {
    /// Spends one call of the client's per-address budget: the first line of every core
    /// method a client could repeat for profit.
    pub(super) fn limit_client(&self, ctx: &Context) -> Result<(), Error> {
        self.clients.check(ctx.client, ctx.now)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use governor::clock::FakeRelativeClock;

    use super::*;

    fn address(text: &str) -> Option<IpAddr> {
        Some(text.parse().unwrap())
    }

    fn retry_after(result: Result<(), Error>) -> u64 {
        match result {
            Err(Error::Throttled { retry_after }) => retry_after,
            other => panic!("expected Throttled, got {other:?}"),
        }
    }

    #[test]
    fn a_burst_of_the_minutes_budget_then_one_call_per_share_of_the_minute() {
        let clock = FakeRelativeClock::default();
        let limits = ClientLimiter::with_clock(3, clock.clone());
        let client = address("192.0.2.1");
        for _ in 0..3 {
            limits.check(client, 0).unwrap();
        }
        assert_eq!(retry_after(limits.check(client, 0)), 20);
        clock.advance(Duration::from_millis(19_500));
        assert_eq!(retry_after(limits.check(client, 0)), 1);
        clock.advance(Duration::from_millis(500));
        limits.check(client, 0).unwrap();
        assert_eq!(retry_after(limits.check(client, 0)), 20);
    }

    #[test]
    fn each_address_has_its_own_budget_and_an_ipv6_subscriber_one_for_its_64() {
        let limits = ClientLimiter::with_clock(1, FakeRelativeClock::default());
        limits.check(address("192.0.2.1"), 0).unwrap();
        limits.check(address("192.0.2.2"), 0).unwrap();
        limits.check(address("2001:db8:0:1::1"), 0).unwrap();
        assert!(limits.check(address("2001:db8:0:1::ffff"), 0).is_err());
        limits.check(address("2001:db8:0:2::1"), 0).unwrap();
        // An IPv4-mapped IPv6 peer is the IPv4 client it maps.
        assert!(limits.check(address("::ffff:192.0.2.1"), 0).is_err());
    }

    #[test]
    fn zero_turns_the_limit_off_and_unknown_clients_are_not_limited() {
        let off = ClientLimiter::with_clock(0, FakeRelativeClock::default());
        for _ in 0..1_000 {
            off.check(address("192.0.2.1"), 0).unwrap();
        }
        let on = ClientLimiter::with_clock(1, FakeRelativeClock::default());
        for _ in 0..10 {
            on.check(None, 0).unwrap();
        }
    }

    #[test]
    fn the_sweep_forgets_clients_whose_budget_is_whole_again() {
        let clock = FakeRelativeClock::default();
        let limits = ClientLimiter::with_clock(60, clock.clone());
        for i in 0..100u32 {
            let client = IpAddr::from(std::net::Ipv4Addr::from(0xc000_0200 + i));
            limits.check(Some(client), 0).unwrap();
        }
        assert_eq!(limits.tracked(), 100);
        // One call a minute's share (1 s) later each budget is whole: the next sweep
        // (a minute of the core's clock after the first) drops them all but the caller.
        clock.advance(Duration::from_secs(2));
        limits.check(address("198.51.100.1"), 30).unwrap();
        assert_eq!(
            limits.tracked(),
            101,
            "not swept before a minute has passed"
        );
        limits.check(address("198.51.100.1"), 60).unwrap();
        assert_eq!(limits.tracked(), 1);
    }
}
