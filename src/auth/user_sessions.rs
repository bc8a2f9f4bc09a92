//! A user's own sessions: which are live, and ending one of them.
//!
//! The caller authenticates as for "who am I" (an access token or an API key); a session is
//! named by its public id, a random string the database key never leaks through. An id
//! that is not one of the caller's live sessions — unknown, already over, or someone else's
//! — is `NotFound`, the same answer in every case, so ids cannot be probed.

use tracing::instrument;

use super::{
    AcceptedSchemes, Auth, Context,
    fields::{Input, required_text},
    model::{Credential, SessionInfo},
};
use crate::error::{Error, Field};

impl Auth {
    /// The caller's live sessions, newest first, the one the caller used marked current.
    #[instrument(skip_all, fields(request_id = %ctx.request_id, user_id))]
    pub async fn list_sessions(
        &self,
        ctx: &Context,
        authorization: Option<&str>,
        accepted: AcceptedSchemes,
    ) -> Result<Vec<SessionInfo>, Error> {
        let identity = self.identify(ctx, authorization, accepted).await?;
        let current = match identity.credential {
            Credential::Session { session_id } => Some(session_id),
            Credential::ApiKey { .. } => None,
        };
        self.store
            .live_sessions(identity.user.id, ctx.now, current)
            .await
    }

    /// Ends the caller's live session `session_id` at once (the caller's own included).
    #[instrument(skip_all, fields(request_id = %ctx.request_id, user_id))]
    pub async fn revoke_session(
        &self,
        ctx: &Context,
        authorization: Option<&str>,
        accepted: AcceptedSchemes,
        session_id: Input<'_>,
    ) -> Result<(), Error> {
        let identity = self.identify(ctx, authorization, accepted).await?;
        let public_id = required_text(Field::SessionId, session_id)?;
        if !self
            .store
            .revoke_session(identity.user.id, ctx.now, public_id)
            .await?
        {
            return Err(Error::NotFound);
        }
        tracing::info!(event = "session.revoked", "session revoked by its user");
        Ok(())
    }
}
