//! Values several tests expect, written out: the standard password, Django's field
//! messages, and checks of a value's shape (a hex key, a UTC timestamp) where its content
//! is random. Never a copy of production code: an oracle that re-implements what it checks
//! agrees with it when both are wrong.

pub const PASSWORD: &str = "correct-horse-battery";

pub const REQUIRED: &str = "This field is required.";
pub const BLANK: &str = "This field may not be blank.";
pub const INVALID_USERNAME: &str = concat!(
    "Enter a valid username. This value may contain only letters, numbers, ",
    "and @/./+/-/_ characters."
);

/// Whether `text` is `len` lowercase hex digits.
pub fn is_lower_hex(text: &str, len: usize) -> bool {
    text.len() == len
        && text
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Whether `text` has the shape `dddd-dd-ddTdd:dd:ddZ` (`d` a digit).
pub fn is_utc_timestamp(text: &str) -> bool {
    let shape = "dddd-dd-ddTdd:dd:ddZ";
    text.len() == shape.len()
        && text.bytes().zip(shape.bytes()).all(|(c, s)| match s {
            b'd' => c.is_ascii_digit(),
            _ => c == s,
        })
}

/// The decoded JSON header and payload of a JWT (no verification: for assertions only).
pub fn jwt_parts(token: &str) -> (serde_json::Value, serde_json::Value) {
    use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
    let mut parts = token.split('.');
    let mut decode = || {
        let part = parts.next().expect("jwt part");
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).expect("base64url")).expect("json")
    };
    (decode(), decode())
}
