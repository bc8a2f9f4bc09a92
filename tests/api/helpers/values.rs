//! Values several tests expect: the standard password, Django's field messages, and
//! checks of a value's shape (a hex key, a UTC timestamp, a JWT's parts).

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

/// Lowercase hex SHA-256 of `text`, as `api_keys.key_hash` stores a key.
pub fn sha256_hex(text: &str) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Unix seconds as `YYYY-MM-DDTHH:MM:SSZ` (Howard Hinnant's civil-from-days).
pub fn utc(seconds: i64) -> String {
    let (days, second) = (seconds.div_euclid(86_400), seconds.rem_euclid(86_400));
    let z = days + 719_468;
    let (era, day_of_era) = (z.div_euclid(146_097), z.rem_euclid(146_097));
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let m = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * m + 2) / 5 + 1;
    let month = if m < 10 { m + 3 } else { m - 9 };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    let (h, min, s) = (second / 3600, second % 3600 / 60, second % 60);
    format!("{year:04}-{month:02}-{day:02}T{h:02}:{min:02}:{s:02}Z")
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
