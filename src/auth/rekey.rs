//! Bringing the unique keys of existing users to the current rules at start.
//!
//! Keys used to be plain lower-casing; they are now NFKC plus full case folding for
//! usernames and the IDNA ASCII domain for emails (`fields`). SQL cannot compute those, so
//! the server reads every user once at start, in batches, and rewrites the keys that differ
//! (on a database already in the current form that is reads only). Two old rows that are now
//! one name (`strasse` and `straße` registered before) cannot both hold the key: the row whose
//! key would change keeps its old one and is reported by id for an operator to rename,
//! instead of failing the start. Re-keying is idempotent, so nodes that start together on one database
//! only repeat each other's work. A pass that finds no collision is recorded (`upkeep`), so
//! the scan is paid once per database, not at every start.

use super::fields::{email_key, username_key};
use crate::{
    auth::model::{StoredKeys, UniqueField},
    error::Error,
    store::Store,
};

/// Rows read per batch.
const BATCH: i64 = 500;

/// What a start-up re-keying did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Rekeyed {
    /// Keys rewritten to the current form.
    pub updated: u64,
    /// Keys left in their old form because another user holds the new one.
    pub collisions: u64,
}

/// The upkeep record of a complete pass: once it is there, starts skip the scan.
const UPKEEP: &str = "user_keys_v2";

/// Rewrites every user's keys that are not in the current form, unless a complete pass is
/// recorded. A pass that left collisions is not recorded, so each start reports them again.
pub async fn rekey_users(store: &Store, now: i64) -> Result<Rekeyed, Error> {
    if store.upkeep_done(UPKEEP).await? {
        return Ok(Rekeyed::default());
    }
    let done = rekey_all(store).await?;
    if done.collisions == 0 {
        store.record_upkeep(UPKEEP, now).await?;
    }
    Ok(done)
}

async fn rekey_all(store: &Store) -> Result<Rekeyed, Error> {
    let mut done = Rekeyed::default();
    let mut after = 0;
    loop {
        let batch = store.user_keys_after(after, BATCH).await?;
        let Some(last) = batch.last() else {
            break;
        };
        after = last.id;
        for row in &batch {
            rekey_user(store, row, &mut done).await?;
        }
    }
    if done.updated > 0 || done.collisions > 0 {
        tracing::info!(
            updated = done.updated,
            collisions = done.collisions,
            "re-keyed users to the current normalisation"
        );
    }
    Ok(done)
}

async fn rekey_user(store: &Store, row: &StoredKeys, done: &mut Rekeyed) -> Result<(), Error> {
    let wanted = [
        (
            UniqueField::Username,
            Some(username_key(&row.username)),
            Some(&row.username_key),
        ),
        (
            UniqueField::Email,
            row.email.as_deref().map(email_key),
            row.email_key.as_ref(),
        ),
    ];
    for (field, key, current) in wanted {
        let Some(key) = key else { continue };
        if current == Some(&key) {
            continue;
        }
        if store.set_user_key(row.id, field, &key).await? {
            done.updated += 1;
        } else {
            done.collisions += 1;
            tracing::warn!(
                user_id = row.id,
                field = ?field,
                "another user already holds this user's normalised key: the old key is kept \
                 until one of them is renamed"
            );
        }
    }
    Ok(())
}
