//! Bringing users across from Django (`authd import-django`): the core's half. The rows
//! come from `store::django_source`; here each becomes an authd user by authd's rules — the
//! username and email keyed as registration keys them, so a Django user that differs from
//! an authd user only in case or look-alike form is a conflict, not a second account — and
//! is stored with its Django id where that is free, `is_active`, `date_joined` as its
//! creation time, its password hash as Django made it (verified at login and upgraded to
//! argon2id then, see `django_hashes`), and its DRF key hashed as authd keeps its own.
//!
//! Nothing is validated against today's registration rules: these accounts exist, and
//! their owners must be able to log in as before. A second run finds every row it
//! imported before and skips it.

use super::{
    Auth, Context,
    api_keys::key_hash,
    fields::{email_key, username_key},
    model::{DjangoUser, ImportOutcome, ImportedUser, NewUser, UniqueField},
};
use crate::error::Error;

/// What an import did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ImportReport {
    /// Users stored now.
    pub imported: u64,
    /// How many of those kept their Django id.
    pub kept_ids: u64,
    /// DRF keys stored with them.
    pub api_keys: u64,
    /// Rows an earlier run imported.
    pub already_imported: u64,
    /// Rows not imported because an authd user holds the username or email: the Django
    /// username and which value clashed.
    pub conflicts: Vec<(String, UniqueField)>,
}

impl Auth {
    /// Imports `users`, read from the Django table `source_table`.
    pub async fn import_django_users(
        &self,
        ctx: &Context,
        source_table: &str,
        users: &[DjangoUser],
    ) -> Result<ImportReport, Error> {
        let mut report = ImportReport::default();
        // Users whose Django id is free first, with it; then the rest, with new ids (which
        // then can no longer take a later user's id).
        let mut deferred = Vec::new();
        for user in users {
            match self.import_one(ctx, source_table, user, true).await? {
                ImportOutcome::IdTaken => deferred.push(user),
                outcome => report.count(user, outcome),
            }
        }
        for user in deferred {
            let outcome = self.import_one(ctx, source_table, user, false).await?;
            report.count(user, outcome);
        }
        tracing::info!(
            event = "users.imported",
            imported = report.imported,
            already_imported = report.already_imported,
            conflicts = report.conflicts.len(),
            "imported users from Django"
        );
        Ok(report)
    }
}

impl ImportReport {
    fn count(&mut self, user: &DjangoUser, outcome: ImportOutcome) {
        match outcome {
            ImportOutcome::Imported { id, with_key } => {
                self.imported += 1;
                self.kept_ids += u64::from(id == user.id);
                self.api_keys += u64::from(with_key);
            }
            ImportOutcome::AlreadyImported => self.already_imported += 1,
            ImportOutcome::Conflict(field) => self.conflicts.push((user.username.clone(), field)),
            // Only asked for in the first pass, which defers it.
            ImportOutcome::IdTaken => {}
        }
    }
}

impl Auth {
    async fn import_one(
        &self,
        ctx: &Context,
        source_table: &str,
        user: &DjangoUser,
        only_with_its_id: bool,
    ) -> Result<ImportOutcome, Error> {
        let username_key = username_key(&user.username);
        let email_key = user.email.as_deref().map(email_key);
        let imported = ImportedUser {
            source_table,
            source_id: user.id,
            new_user: NewUser {
                username: &user.username,
                username_key: &username_key,
                email: user.email.as_deref(),
                email_key: email_key.as_deref(),
                password_hash: &user.password_hash,
                created_at: user.date_joined.unwrap_or(ctx.now),
            },
            is_active: user.is_active,
            api_key: user
                .api_key
                .as_ref()
                .map(|(key, created_at)| (key_hash(key), *created_at)),
        };
        self.store
            .import_user(&imported, ctx.now, only_with_its_id)
            .await
    }
}
