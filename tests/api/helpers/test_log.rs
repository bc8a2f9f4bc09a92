//! The `TEST_LOG` switch. Without it the servers' logs go nowhere; with it, in-process
//! servers log through one global subscriber that writes with libtest's test writer, so
//! `cargo test` shows the logs of failing tests only, and a `Node` prints its stderr when
//! its test fails. The variable holds `1` or a tracing filter (e.g. `authd=debug,info`).

use std::sync::Once;

use tracing_subscriber::EnvFilter;

const VARIABLE: &str = "TEST_LOG";

/// Whether `TEST_LOG` is set.
pub(super) fn enabled() -> bool {
    std::env::var_os(VARIABLE).is_some()
}

/// Installs the subscriber, once for the whole test binary, if `TEST_LOG` is set.
pub(super) fn init() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let Ok(value) = std::env::var(VARIABLE) else {
            return;
        };
        let directives = match value.as_str() {
            "" | "1" | "true" => "info",
            filter => filter,
        };
        let filter = EnvFilter::try_new(directives).unwrap_or_else(|_| EnvFilter::new("info"));
        // Another subscriber may already be installed; then that one logs.
        let _ = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_ansi(false)
            .with_test_writer()
            .try_init();
    });
}
