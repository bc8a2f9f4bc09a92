//! HTTP/2's limits, set explicitly: the SETTINGS advertised, streams past the limit
//! refused, and floods of resets ("Rapid Reset", "MadeYouReset") met with GOAWAY.

use super::{
    HEALTH_CHECK, WITHIN,
    frames::{
        self, CANCEL, EMPTY_GRPC_MESSAGE, ENHANCE_YOUR_CALM, GOAWAY, H2, HEADERS, REFUSED_STREAM,
        RST_STREAM, SETTINGS_MAX_CONCURRENT_STREAMS, SETTINGS_MAX_HEADER_LIST_SIZE,
    },
};
use crate::helpers::TestApp;

#[tokio::test]
async fn http2_settings_advertise_the_stream_and_header_limits() {
    for (flags, streams) in [
        (&[][..], 200),
        (&["--http2-max-concurrent-streams", "7"][..], 7),
    ] {
        let app = TestApp::spawn_with(flags).await;
        let mut h2 = H2::open(app.address).await;
        let settings = h2.server_settings(WITHIN).await.settings();
        assert!(
            settings.contains(&(SETTINGS_MAX_CONCURRENT_STREAMS, streams)),
            "{settings:?}"
        );
        assert!(
            settings.contains(&(SETTINGS_MAX_HEADER_LIST_SIZE, 16 * 1024)),
            "{settings:?}"
        );
    }
}

#[tokio::test]
async fn streams_past_the_limit_are_refused_and_the_connection_stays_usable() {
    let app = TestApp::spawn_with(&["--http2-max-concurrent-streams", "3"]).await;
    let mut h2 = H2::open(app.address).await;
    h2.server_settings(WITHIN).await;
    // Three calls whose messages have not been sent hold the three streams.
    for stream in [1, 3, 5] {
        h2.send(&frames::grpc_call(stream, HEALTH_CHECK, false))
            .await;
    }
    h2.send(&frames::grpc_call(7, HEALTH_CHECK, false)).await;
    let refused = h2
        .next_where(WITHIN, |frame| frame.kind == RST_STREAM)
        .await
        .expect("stream 7 refused");
    assert_eq!((refused.stream, refused.error_code()), (7, REFUSED_STREAM));

    // The held calls still complete, and a new stream is taken once one has.
    h2.send(&frames::data(1, true, EMPTY_GRPC_MESSAGE)).await;
    let answered = h2
        .next_where(WITHIN, |frame| frame.kind == HEADERS && frame.stream == 1)
        .await;
    assert!(answered.is_some(), "stream 1 answered");
    h2.send(&frames::grpc_call(9, HEALTH_CHECK, false)).await;
    h2.send(&frames::data(9, true, EMPTY_GRPC_MESSAGE)).await;
    let answered = h2
        .next_where(WITHIN, |frame| {
            frame.kind == HEADERS && frame.stream == 9 || frame.kind == RST_STREAM
        })
        .await
        .expect("stream 9 answered");
    assert_eq!((answered.kind, answered.stream), (HEADERS, 9));
}

#[tokio::test]
async fn a_flood_of_streams_reset_by_the_client_is_met_with_goaway() {
    let app = TestApp::spawn().await;
    let mut h2 = H2::open(app.address).await;
    h2.server_settings(WITHIN).await;
    // "Rapid Reset": open and cancel at once, far more than --http2-max-pending-resets (20).
    let flood: Vec<u8> = (0..1_000u32)
        .flat_map(|n| {
            let stream = 2 * n + 1;
            [
                frames::grpc_call(stream, HEALTH_CHECK, false),
                frames::rst_stream(stream, CANCEL),
            ]
            .concat()
        })
        .collect();
    h2.send(&flood).await;
    let goaway = h2
        .next_where(WITHIN, |frame| frame.kind == GOAWAY)
        .await
        .expect("a GOAWAY");
    assert_eq!(goaway.error_code(), ENHANCE_YOUR_CALM);
    h2.until_closed(WITHIN).await;
}

#[tokio::test]
async fn streams_the_client_makes_the_server_reset_are_capped_by_goaway() {
    let app = TestApp::spawn_with(&["--http2-max-local-resets", "10"]).await;
    let mut h2 = H2::open(app.address).await;
    h2.server_settings(WITHIN).await;
    // "MadeYouReset": each request is malformed (a body announced, the stream ended), so
    // the server must reset it itself.
    for n in 0..50u32 {
        let fields = [
            (":method", "POST"),
            (":scheme", "http"),
            (":path", HEALTH_CHECK),
            (":authority", "authd"),
            ("content-type", "application/grpc"),
            ("content-length", "5"),
        ];
        h2.send(&frames::headers(2 * n + 1, true, &fields)).await;
    }
    let frames = h2.until_closed(WITHIN).await;
    let resets = frames
        .iter()
        .filter(|frame| frame.kind == RST_STREAM)
        .count();
    let goaway = frames.iter().find(|frame| frame.kind == GOAWAY);
    let goaway = goaway.unwrap_or_else(|| panic!("no GOAWAY in {frames:?}"));
    assert_eq!(goaway.error_code(), ENHANCE_YOUR_CALM);
    assert!(resets <= 10, "{resets} resets before the GOAWAY");
}
