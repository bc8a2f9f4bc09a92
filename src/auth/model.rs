//! The domain's nouns: users, issued tokens, signing keys, and the outcomes of the store's
//! whole operations.
//!
//! The core and storage both speak these types, so they live here, below both: storage
//! imports this module and nothing else of the core, the core imports storage, and adapters
//! import the core. Nothing here does any work (no I/O, no crypto, no validation) and nothing
//! here imports another module of authd.

use std::fmt;

/// A user as every transport shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: i64,
    pub username: String,
    /// `None` when registered without one (the DRF token API allows that).
    pub email: Option<String>,
    pub created_at: i64,
}

/// A validated user about to be stored; the `_key` fields are the case-folded forms that
/// uniqueness and login compare.
#[derive(Debug)]
pub struct NewUser<'a> {
    pub username: &'a str,
    pub username_key: &'a str,
    pub email: Option<&'a str>,
    pub email_key: Option<&'a str>,
    /// argon2id PHC string; never the password.
    pub password_hash: &'a str,
    pub created_at: i64,
}

/// What login needs to check a password: the user, its hash and whether it may log in.
pub struct PasswordRecord {
    pub user: User,
    pub password_hash: String,
    pub is_active: bool,
}

impl fmt::Debug for PasswordRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PasswordRecord")
            .field("user", &self.user)
            .field("password_hash", &"<redacted>")
            .field("is_active", &self.is_active)
            .finish()
    }
}

/// The unique keys a user's row holds now, next to the values they were made from: what
/// the start-up re-keying reads to bring rows keyed by older rules to the current form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredKeys {
    pub id: i64,
    pub username: String,
    pub username_key: String,
    pub email: Option<String>,
    pub email_key: Option<String>,
}

/// A field that must be unique among users.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UniqueField {
    Username,
    Email,
}

/// The outcome of storing a new user: created, or beaten to a unique value.
#[derive(Debug)]
pub enum Inserted {
    User(User),
    Duplicate(UniqueField),
}

/// The outcome of spending a refresh token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rotation {
    /// The token was of its session's live generation; that generation is now spent and
    /// the new pair is the next one.
    Rotated,
    /// The token was of the generation just spent, within the grace window: the new pair
    /// is a sibling in the current generation, and the session lives on.
    Retried,
    /// The token had already been spent: its session is now revoked.
    Reused { session_id: i64 },
    /// The token had already been spent and its session was already over: nothing changed.
    Replayed,
    /// Unknown token, expired, or its session was already over.
    Rejected,
}

/// The rule a refresh follows; the numbers are the core's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RotationRule {
    /// Seconds after a spending during which a token of the spent generation gets a sibling
    /// instead of revoking the session; `0`: never.
    pub grace: i64,
}

/// The outcome of ending a session with its refresh token (logout).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// The session was live; it is now over.
    Ended,
    /// The token had already been spent: its session is now revoked, as reuse.
    Reused { session_id: i64 },
    /// The token had already been spent and its session was already over: nothing changed.
    Replayed,
    /// Unknown token, expired, or its session was already over.
    Rejected,
}

/// A refresh token whose session is already over, found without writing anything: nothing
/// presented with it can change the database again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndedSessionToken {
    /// Spent before its session ended: presenting it again is a replay.
    Spent,
    /// Never spent (the session was logged out or revoked while it was the newest).
    Unspent,
}

/// A recorded refresh token's session, as read before anything is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefreshSession {
    /// The session is live until `ends_at` at the latest (no refresh moves it).
    Live(LiveSession),
    /// The session is over.
    Over(EndedSessionToken),
}

/// A live session, as a refresh token names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LiveSession {
    /// The session's row; a token never moves to another.
    pub session_id: i64,
    /// When the session ends for good.
    pub ends_at: i64,
}

/// The rule a claim on a username's login attempts follows; the numbers are the core's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttemptRule {
    /// From this many consecutive failures (the claimed attempt included), a claim holds
    /// the username for `hold` seconds, so parallel attempts cannot slip in while the
    /// password is checked.
    pub hold_from: i64,
    /// Seconds a claim holds the username for; the failure, once known, waits longer.
    pub hold: i64,
    /// Failures are forgotten after this many seconds without an attempt.
    pub forget_after: i64,
}

/// The outcome of claiming a login attempt for a username (known or not).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginClaim {
    /// The attempt may be checked; `failures` counts it as failed until it succeeds.
    Claimed { failures: i64 },
    /// No attempt is checked before `not_before` (Unix seconds).
    Refused { not_before: i64 },
}

/// What revoking everything of a user ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Revoked {
    pub sessions: u64,
    pub api_keys: u64,
}

/// How a request proved who it is: an access token of a session, or an API key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    /// An access JWT; `session_id` is its session's key in the database.
    Session { session_id: i64 },
    /// An API key, known by its hash.
    ApiKey { key_hash: String },
}

/// The active user behind a live token, and the session it belongs to.
#[derive(Debug, Clone)]
pub struct SessionUser {
    pub user: User,
    /// The session's database key.
    pub session_id: i64,
    /// The id its user names it by.
    pub public_id: String,
}

/// The active user behind a live API key, and when the key expires (`None`: never).
#[derive(Debug, Clone)]
pub struct KeyUser {
    pub user: User,
    pub expires_at: Option<i64>,
}

/// The user behind a request's credentials, and which credential it was.
#[derive(Debug, Clone)]
pub struct Identity {
    pub user: User,
    pub credential: Credential,
}

/// What a new session records of the login that started it.
#[derive(Debug, Clone)]
pub struct SessionOrigin<'a> {
    /// The id its user names it by: random, not the database key.
    pub public_id: &'a str,
    pub user_agent: Option<&'a str>,
    /// The client's address (behind trusted proxies), as text.
    pub ip: Option<String>,
}

/// A live session as its user sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionInfo {
    /// The public id (32 hex characters).
    pub id: String,
    pub created_at: i64,
    /// When it ends unless refreshed: its newest refresh token's expiry, or its absolute
    /// end if that comes first.
    pub expires_at: i64,
    /// Its login, or its latest refresh.
    pub last_used_at: i64,
    /// Whether the request asking is authenticated by this session.
    pub current: bool,
    pub user_agent: Option<String>,
    pub ip: Option<String>,
}

/// A user as a Django database holds it, read by `authd import-django`.
#[derive(Clone)]
pub struct DjangoUser {
    pub id: i64,
    pub username: String,
    /// `None` when Django's column was empty.
    pub email: Option<String>,
    /// Django's hash string (`pbkdf2_sha256$…`, `argon2$…`); never a password.
    pub password_hash: String,
    pub is_active: bool,
    /// `date_joined`, when the table has it.
    pub date_joined: Option<i64>,
    /// The user's DRF `authtoken_token` key and when it was made, if any.
    pub api_key: Option<(String, i64)>,
}

impl fmt::Debug for DjangoUser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DjangoUser")
            .field("id", &self.id)
            .field("username", &self.username)
            .field("is_active", &self.is_active)
            .finish_non_exhaustive()
    }
}

/// A Django user ready to store: its keys computed by the core, its API key hashed.
#[derive(Debug)]
pub struct ImportedUser<'a> {
    pub source_table: &'a str,
    pub source_id: i64,
    pub new_user: NewUser<'a>,
    pub is_active: bool,
    /// The SHA-256 of the DRF key, and when the key was made.
    pub api_key: Option<(String, i64)>,
}

/// What storing one imported user did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportOutcome {
    /// Stored, as user `id`; `with_key` if its API key came too.
    Imported { id: i64, with_key: bool },
    /// This source row was imported by an earlier run.
    AlreadyImported,
    /// Another user holds this unique value.
    Conflict(UniqueField),
    /// Asked to keep its id, which an authd user has: nothing was stored.
    IdTaken,
}

/// The two kinds of JWT authd issues.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    Access,
    Refresh,
}

impl TokenKind {
    /// simplejwt's `token_type` claim value, also the `kind` column in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            TokenKind::Access => "access",
            TokenKind::Refresh => "refresh",
        }
    }
}

/// A signed token and the facts the database records about it (never the token itself).
#[derive(Clone)]
pub struct IssuedToken {
    pub token: String,
    pub jti: String,
    /// The signing key's `kid`.
    pub kid: String,
    pub kind: TokenKind,
    pub issued_at: i64,
    pub expires_at: i64,
}

impl fmt::Debug for IssuedToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IssuedToken")
            .field("token", &"<redacted>")
            .field("jti", &self.jti)
            .field("kid", &self.kid)
            .field("kind", &self.kind)
            .field("issued_at", &self.issued_at)
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// A session's current access and refresh token, as handed to the client.
#[derive(Debug, Clone)]
pub struct TokenPair {
    pub access: IssuedToken,
    pub refresh: IssuedToken,
}

/// The kind of key pair that signs tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyAlgorithm {
    /// Ed25519 (`alg: EdDSA`): authd's default.
    EdDsa,
    /// ECDSA over P-256 with SHA-256 (`alg: ES256`), for verifiers without EdDSA.
    Es256,
}

impl KeyAlgorithm {
    /// The JWS `alg` name, also the `algorithm` column.
    pub fn as_str(self) -> &'static str {
        match self {
            KeyAlgorithm::EdDsa => "EdDSA",
            KeyAlgorithm::Es256 => "ES256",
        }
    }

    /// The algorithm a stored `alg` name stands for.
    pub fn from_name(name: &str) -> Option<Self> {
        [KeyAlgorithm::EdDsa, KeyAlgorithm::Es256]
            .into_iter()
            .find(|algorithm| algorithm.as_str() == name)
    }
}

/// A signing key in memory: the private key as clear PKCS#8 DER, the public key (raw 32
/// bytes for Ed25519, the uncompressed SEC1 point for P-256), and its `kid` (the RFC 7638
/// thumbprint of the public key). The database
/// holds it as a [`StoredSigningKey`].
#[derive(Clone)]
pub struct KeyPair {
    pub kid: String,
    pub algorithm: KeyAlgorithm,
    pub private_pkcs8: Vec<u8>,
    pub public_key: Vec<u8>,
    pub created_at: i64,
}

impl fmt::Debug for KeyPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyPair")
            .field("kid", &self.kid)
            .field("private_pkcs8", &"<redacted>")
            .field("created_at", &self.created_at)
            .finish()
    }
}

/// A signing key as the database holds it: the private key sealed under the
/// key-encryption key (see `auth::sealing`), in clear if an older version stored it, or
/// empty once the key has been rotated out (it only verifies then).
pub struct StoredSigningKey {
    pub kid: String,
    pub algorithm: KeyAlgorithm,
    pub private_key: Vec<u8>,
    pub public_key: Vec<u8>,
    pub created_at: i64,
    /// Whether every node signs with it (slot 1).
    pub active: bool,
    /// When a newer key replaced it.
    pub rotated_at: Option<i64>,
    /// When it was withdrawn: tokens it signed are refused, and it is not published.
    pub retired_at: Option<i64>,
}

impl fmt::Debug for StoredSigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoredSigningKey")
            .field("kid", &self.kid)
            .field("private_key", &"<redacted>")
            .field("created_at", &self.created_at)
            .finish()
    }
}

/// A key other services verify authd's tokens with, as the core publishes it; the REST
/// adapter writes it out as a JWK.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerificationKey {
    /// The `kid` header of tokens signed with this key.
    pub kid: String,
    pub algorithm: KeyAlgorithm,
    /// The raw Ed25519 public key, or the uncompressed SEC1 point (65 bytes) of a P-256 one.
    pub public_key: Vec<u8>,
    /// When a newer key replaced it as the signing key; `None` for the signing key.
    pub rotated_at: Option<i64>,
}

/// What retiring a signing key did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retirement {
    /// The key is retired now.
    Retired,
    /// It is the key every node signs with: rotate first.
    Active,
    /// It was retired before.
    AlreadyRetired,
    /// No key has that `kid`.
    Unknown,
}

/// A user with what only an operator sees: whether the account may log in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub user: User,
    pub is_active: bool,
}

/// How many records of each kind a purge deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Purged {
    pub sessions: u64,
    pub tokens: u64,
    pub api_keys: u64,
    pub login_attempts: u64,
}
