//! `authd import-django`: read the Django database, hand its users to the core, and say what
//! came across. Exit code 1 only for a real failure (the source cannot be read, the
//! destination cannot be written); conflicts are reported, not failures.

use super::{Failure, count, open};
use crate::{
    auth::{Caller, model::UniqueField},
    config::DatabaseUrl,
    store::django_source,
};

pub(super) async fn run(
    store: &crate::cli::StoreArgs,
    from: &DatabaseUrl,
    user_table: &str,
) -> Result<(), Failure> {
    let users = django_source::read_django_users(from.expose(), user_table)
        .await
        .map_err(|error| {
            Failure::Usage(format!(
                "cannot read {user_table} from {from:?}: {}",
                error.with_cause()
            ))
        })?;
    let auth = open(store).await?;
    let ctx = auth.context(Caller::default());
    let report = auth.import_django_users(&ctx, user_table, &users).await?;
    println!(
        "imported {} ({} kept their Django id) and {}",
        count(report.imported, "user", "users"),
        report.kept_ids,
        count(report.api_keys, "API key", "API keys")
    );
    println!(
        "skipped {} imported before",
        count(report.already_imported, "user", "users")
    );
    println!(
        "{} not imported:",
        count(
            report.conflicts.len() as u64,
            "conflicting user",
            "conflicting users"
        )
    );
    for (username, field) in &report.conflicts {
        let taken = match field {
            UniqueField::Username => "an authd user has that username",
            UniqueField::Email => "an authd user has that email",
        };
        println!("  {username}: {taken}");
    }
    Ok(())
}
