//! Just enough HTTP/2 to misbehave: raw frames over a socket, for the tests a real client
//! would never send (more streams than advertised, floods of resets, silence after the
//! preface). Header blocks use HPACK literals without indexing or Huffman coding, which
//! every decoder accepts; the server's header blocks are never decoded, only counted.

use std::time::Duration;

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

pub const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

pub const DATA: u8 = 0x0;
pub const HEADERS: u8 = 0x1;
pub const RST_STREAM: u8 = 0x3;
pub const SETTINGS: u8 = 0x4;
pub const PING: u8 = 0x6;
pub const GOAWAY: u8 = 0x7;

pub const END_STREAM: u8 = 0x1;
pub const ACK: u8 = 0x1;
const END_HEADERS: u8 = 0x4;

pub const SETTINGS_MAX_CONCURRENT_STREAMS: u16 = 0x3;
pub const SETTINGS_MAX_HEADER_LIST_SIZE: u16 = 0x6;

pub const NO_ERROR: u32 = 0x0;
pub const REFUSED_STREAM: u32 = 0x7;
pub const CANCEL: u32 = 0x8;
pub const ENHANCE_YOUR_CALM: u32 = 0xb;

/// An empty `grpc.health.v1.HealthCheckRequest`, framed as gRPC frames a message.
pub const EMPTY_GRPC_MESSAGE: &[u8] = &[0, 0, 0, 0, 0];

#[derive(Debug)]
pub struct Frame {
    pub kind: u8,
    pub flags: u8,
    pub stream: u32,
    pub payload: Vec<u8>,
}

impl Frame {
    /// The 32-bit word at `at` in the payload (error codes, stream ids).
    pub fn word(&self, at: usize) -> u32 {
        let bytes: [u8; 4] = self.payload[at..at + 4].try_into().unwrap();
        u32::from_be_bytes(bytes) & 0x7fff_ffff
    }

    /// The error code of a RST_STREAM or GOAWAY.
    pub fn error_code(&self) -> u32 {
        match self.kind {
            RST_STREAM => self.word(0),
            GOAWAY => self.word(4),
            other => panic!("frame type {other} has no error code"),
        }
    }

    /// The (identifier, value) pairs of a SETTINGS frame.
    pub fn settings(&self) -> Vec<(u16, u32)> {
        self.payload
            .chunks_exact(6)
            .map(|entry| {
                let id = u16::from_be_bytes([entry[0], entry[1]]);
                let value = u32::from_be_bytes([entry[2], entry[3], entry[4], entry[5]]);
                (id, value)
            })
            .collect()
    }
}

pub fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let length = u32::try_from(payload.len()).unwrap().to_be_bytes();
    let mut bytes = vec![length[1], length[2], length[3], kind, flags];
    bytes.extend_from_slice(&stream.to_be_bytes());
    bytes.extend_from_slice(payload);
    bytes
}

/// A HEADERS frame carrying `fields` whole.
pub fn headers(stream: u32, end_stream: bool, fields: &[(&str, &str)]) -> Vec<u8> {
    let mut block = Vec::new();
    for (name, value) in fields {
        block.push(0); // literal without indexing, new name
        for text in [name, value] {
            assert!(text.len() < 127, "one-byte lengths only");
            block.push(u8::try_from(text.len()).unwrap());
            block.extend_from_slice(text.as_bytes());
        }
    }
    let flags = END_HEADERS | if end_stream { END_STREAM } else { 0 };
    frame(HEADERS, flags, stream, &block)
}

/// The headers of a gRPC call to `path`; with `end_stream` it has no message at all.
pub fn grpc_call(stream: u32, path: &str, end_stream: bool) -> Vec<u8> {
    let fields = [
        (":method", "POST"),
        (":scheme", "http"),
        (":path", path),
        (":authority", "authd"),
        ("content-type", "application/grpc"),
        ("te", "trailers"),
    ];
    headers(stream, end_stream, &fields)
}

pub fn data(stream: u32, end_stream: bool, payload: &[u8]) -> Vec<u8> {
    frame(
        DATA,
        if end_stream { END_STREAM } else { 0 },
        stream,
        payload,
    )
}

pub fn rst_stream(stream: u32, code: u32) -> Vec<u8> {
    frame(RST_STREAM, 0, stream, &code.to_be_bytes())
}

/// A client connection that has sent the preface and an empty SETTINGS frame.
pub struct H2 {
    socket: TcpStream,
}

impl H2 {
    pub async fn open(address: impl tokio::net::ToSocketAddrs) -> H2 {
        let mut socket = TcpStream::connect(address).await.unwrap();
        socket.set_nodelay(true).unwrap();
        socket
            .write_all(&[PREFACE, &frame(SETTINGS, 0, 0, &[])].concat())
            .await
            .unwrap();
        H2 { socket }
    }

    pub async fn send(&mut self, bytes: &[u8]) {
        self.socket.write_all(bytes).await.unwrap();
    }

    /// The next frame, or `None` once the server has closed the connection.
    pub async fn next(&mut self) -> Option<Frame> {
        let mut head = [0; 9];
        self.socket.read_exact(&mut head).await.ok()?;
        let length = u32::from_be_bytes([0, head[0], head[1], head[2]]);
        let mut payload = vec![0; usize::try_from(length).unwrap()];
        self.socket.read_exact(&mut payload).await.ok()?;
        let stream = u32::from_be_bytes([head[5], head[6], head[7], head[8]]) & 0x7fff_ffff;
        Some(Frame {
            kind: head[3],
            flags: head[4],
            stream,
            payload,
        })
    }

    /// The next frame `wanted` picks, skipping others; `None` if the server closes first.
    /// Fails the test if neither happens within `within`.
    pub async fn next_where(
        &mut self,
        within: Duration,
        wanted: impl Fn(&Frame) -> bool,
    ) -> Option<Frame> {
        let search = async {
            while let Some(frame) = self.next().await {
                if wanted(&frame) {
                    return Some(frame);
                }
            }
            None
        };
        tokio::time::timeout(within, search)
            .await
            .expect("the server neither sent the frame nor closed the connection in time")
    }

    /// Reads frames until the server closes the connection, and returns them all.
    pub async fn until_closed(&mut self, within: Duration) -> Vec<Frame> {
        let all = async {
            let mut frames = Vec::new();
            while let Some(frame) = self.next().await {
                frames.push(frame);
            }
            frames
        };
        tokio::time::timeout(within, all)
            .await
            .expect("the server did not close the connection in time")
    }

    /// Waits for the server's SETTINGS and acknowledges them.
    pub async fn server_settings(&mut self, within: Duration) -> Frame {
        let settings = self
            .next_where(within, |f| f.kind == SETTINGS && f.flags & ACK == 0)
            .await
            .expect("the server's SETTINGS");
        self.send(&frame(SETTINGS, ACK, 0, &[])).await;
        settings
    }
}
