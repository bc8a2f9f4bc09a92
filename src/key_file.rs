//! Where the key-encryption key (KEK) comes from, in this order: `AUTHD_KEY_ENCRYPTION_KEY`
//! (or its flag), the file `--key-encryption-key-file` names (which must exist), or the
//! default file — `DATABASE.kek` beside a SQLite database, `./authd.kek` for PostgreSQL —
//! read if it exists and generated on first start if not.
//!
//! Generating is only for a new database: if the stored signing keys are already sealed,
//! a node without the KEK that sealed them (a second PostgreSQL node started in another
//! directory, say) refuses to start and writes nothing, rather than make a KEK that opens
//! nothing. A generated file is written whole (a temporary file, then a hard link, which
//! never replaces) and owner-only, so nodes starting together in one directory agree on
//! the first one's key. A KEK file readable by other users is used, with a warning: it
//! may be a mounted secret authd cannot change.

use std::{
    io::Write,
    os::unix::fs::{OpenOptionsExt, PermissionsExt},
    path::{Path, PathBuf},
    str::FromStr,
};

use zeroize::Zeroizing;

use crate::{
    auth::sealing::{self, KeyEncryptionKey},
    config::Config,
    error::Error,
    store::Store,
};

/// The default file for PostgreSQL, in the working directory.
const POSTGRES_DEFAULT: &str = "authd.kek";

/// The KEK this node seals and opens signing keys with.
pub async fn key_encryption_key(config: &Config, store: &Store) -> Result<KeyEncryptionKey, Error> {
    if let Some(kek) = &config.key_encryption_key {
        return Ok(kek.clone());
    }
    if let Some(file) = &config.key_encryption_key_file {
        return read(file);
    }
    let Some(file) = default_file(config.database_url.expose())? else {
        // An in-memory SQLite database lives as long as the process: so may its KEK.
        return KeyEncryptionKey::generate();
    };
    if file.exists() {
        return read(&file);
    }
    let stored = store.signing_keys().await?;
    if stored
        .iter()
        .any(|key| sealing::is_sealed(&key.private_key))
    {
        // A node that started beside this one writes its file before it stores its key,
        // so if that is whose key the database holds, the file is there by now.
        if file.exists() {
            return read(&file);
        }
        return Err(Error::Internal(format!(
            "the signing keys in the database are sealed, and this node has no \
             key-encryption key ({} does not exist): give it the one the first node made or \
             was given, as AUTHD_KEY_ENCRYPTION_KEY or --key-encryption-key-file",
            file.display()
        )));
    }
    generate(&file)
}

/// `DATABASE.kek` for a SQLite file, `./authd.kek` for PostgreSQL; `None` for an
/// in-memory database.
fn default_file(database_url: &str) -> Result<Option<PathBuf>, Error> {
    if !database_url.starts_with("sqlite:") {
        return Ok(Some(PathBuf::from(POSTGRES_DEFAULT)));
    }
    let options = sqlx::sqlite::SqliteConnectOptions::from_str(database_url)
        .map_err(|e| Error::Internal(format!("database URL: {e}")))?;
    let database = options.get_filename();
    if database.as_os_str() == ":memory:" {
        return Ok(None);
    }
    let mut file = database.as_os_str().to_owned();
    file.push(".kek");
    Ok(Some(PathBuf::from(file)))
}

fn read(file: &Path) -> Result<KeyEncryptionKey, Error> {
    let text = std::fs::read_to_string(file)
        .map(Zeroizing::new)
        .map_err(|e| {
            Error::Internal(format!(
                "cannot read the key-encryption key file {}: {e}",
                file.display()
            ))
        })?;
    let kek = KeyEncryptionKey::parse_hex(&text).map_err(|problem| {
        Error::Internal(format!(
            "the key-encryption key file {}: {problem}",
            file.display()
        ))
    })?;
    if let Ok(metadata) = std::fs::metadata(file)
        && metadata.permissions().mode() & 0o077 != 0
    {
        tracing::warn!(
            file = %file.display(),
            "the key-encryption key file is readable by other users: make it owner-only (chmod 600)"
        );
    }
    Ok(kek)
}

/// Makes a KEK and writes it to `file`, unless a node starting beside this one did first:
/// then that one's is the key.
fn generate(file: &Path) -> Result<KeyEncryptionKey, Error> {
    let kek = KeyEncryptionKey::generate()?;
    let mut partial = file.as_os_str().to_owned();
    partial.push(format!(".{}.tmp", std::process::id()));
    let partial = PathBuf::from(partial);
    let written =
        write_owner_only(&partial, &kek).and_then(|()| std::fs::hard_link(&partial, file));
    let _ = std::fs::remove_file(&partial);
    match written {
        Ok(()) => {
            tracing::info!(
                file = %file.display(),
                "generated the key-encryption key that seals the signing keys: back it up, apart from the database"
            );
            Ok(kek)
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => read(file),
        Err(e) => Err(Error::Internal(format!(
            "cannot write the key-encryption key file {}: {e}",
            file.display()
        ))),
    }
}

fn write_owner_only(file: &Path, kek: &KeyEncryptionKey) -> std::io::Result<()> {
    let mut out = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(file)?;
    let mut text = kek.to_hex();
    text.push('\n');
    out.write_all(text.as_bytes())?;
    out.sync_all()
}
