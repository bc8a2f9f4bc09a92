//! The handles of the per-request series, kept by each thread that has recorded them.
//!
//! `counter!` and `histogram!` with labels build their key (owned label strings) and look
//! it up in the recorder's registry on every call: two keys, five allocations and two
//! hashed lookups under the registry's locks for every request. The label values are
//! bounded already (the routes and RPCs the server has, a method label, a status or code),
//! so each thread keeps the handles it has used, found by the borrowed label values, and
//! a request after the first of its kind only records into them. The series and their
//! values are exactly those `counter!` and `histogram!` made: a handle is the registry's
//! own entry.

use std::{cell::RefCell, collections::HashMap, sync::Arc};

use metrics::{Counter, Histogram, counter, histogram};

use super::metrics as series;

/// One timed series and the counters beside it, by their one extra label.
struct Timed<K> {
    duration: Histogram,
    counts: Vec<(K, Counter)>,
}

impl<K: PartialEq + Copy> Timed<K> {
    fn count(&mut self, key: K, make: impl FnOnce() -> Counter) -> &Counter {
        let index = match self.counts.iter().position(|(known, _)| *known == key) {
            Some(index) => index,
            None => {
                self.counts.push((key, make()));
                self.counts.len() - 1
            }
        };
        &self.counts[index].1
    }
}

/// A REST status label: the status code, or none for an answer cancelled before it began.
pub(super) type Status = Option<u16>;

/// One route's series for one method, and the label of each status it has answered.
struct RestMethod {
    method: &'static str,
    timed: Timed<Status>,
    labels: Vec<(Status, Arc<str>)>,
}

thread_local! {
    static GRPC: RefCell<HashMap<Box<str>, Timed<&'static str>>> = RefCell::default();
    static REST: RefCell<HashMap<Box<str>, Vec<RestMethod>>> = RefCell::default();
}

/// Counts and times one gRPC call to `rpc` that ended with `code`.
pub(super) fn record_grpc(rpc: &str, code: &'static str, seconds: f64) {
    GRPC.with_borrow_mut(|known| {
        if !known.contains_key(rpc) {
            let timed = Timed {
                duration: histogram!(series::GRPC_DURATION, "rpc" => rpc.to_owned()),
                counts: Vec::new(),
            };
            known.insert(rpc.into(), timed);
        }
        let Some(timed) = known.get_mut(rpc) else {
            return;
        };
        timed.duration.record(seconds);
        timed
            .count(
                code,
                || counter!(series::GRPC_REQUESTS, "rpc" => rpc.to_owned(), "code" => code),
            )
            .increment(1);
    });
}

/// Counts and times one REST request; returns the status label its log line carries.
pub(super) fn record_rest(
    route: &str,
    method: &'static str,
    status: Status,
    seconds: f64,
) -> Arc<str> {
    REST.with_borrow_mut(|known| {
        if !known.contains_key(route) {
            known.insert(route.into(), Vec::new());
        }
        let Some(methods) = known.get_mut(route) else {
            return status_label(status).into();
        };
        let index = match methods.iter().position(|known| known.method == method) {
            Some(index) => index,
            None => {
                methods.push(RestMethod {
                    method,
                    timed: Timed {
                        duration: histogram!(
                            series::HTTP_DURATION,
                            "route" => route.to_owned(),
                            "method" => method
                        ),
                        counts: Vec::new(),
                    },
                    labels: Vec::new(),
                });
                methods.len() - 1
            }
        };
        let entry = &mut methods[index];
        let label = match entry.labels.iter().find(|(known, _)| *known == status) {
            Some((_, label)) => label.clone(),
            None => {
                let label: Arc<str> = status_label(status).into();
                entry.labels.push((status, label.clone()));
                label
            }
        };
        entry.timed.duration.record(seconds);
        entry
            .timed
            .count(status, || {
                counter!(
                    series::HTTP_REQUESTS,
                    "route" => route.to_owned(),
                    "method" => method,
                    "status" => label.to_string()
                )
            })
            .increment(1);
        label
    })
}

/// The status as its label: the number, or `cancelled`.
fn status_label(status: Status) -> String {
    status.map_or_else(|| "cancelled".to_owned(), |status| status.to_string())
}
