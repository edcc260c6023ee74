//! The consent half of `PATCH /devices/{id}`: the owner sets what the
//! person at the device must do before (`prompt`) or know during
//! (`notify`) a session, separately for their own sessions and for shared
//! users'. The change applies to sessions granted from then on (the host
//! learns the policy in each `session_grant`) and lands in the feed.

use meshdesk_protocol::rest::{ConsentPolicy, EventKind, UpdateDevice};

use crate::error::Result;
use crate::feed;
use crate::state::AppState;
use crate::store::{DeviceRow, NewEvent, User};

/// Store the policies `body` names, if any changed, and record the change.
pub async fn apply(
    st: &AppState,
    user: &User,
    row: &DeviceRow,
    device_name: &str,
    body: &UpdateDevice,
) -> Result<()> {
    let Some(detail) = change(row, body.consent_owner, body.consent_shared) else {
        return Ok(());
    };
    st.store
        .set_consent(&row.id, body.consent_owner, body.consent_shared)
        .await?;
    tracing::info!(device = %row.id, %detail, "consent changed");
    feed::record(
        st,
        EventKind::ConsentChanged,
        NewEvent {
            user_id: Some(row.owner_id),
            actor: Some(user.username.clone()),
            device_id: Some(row.id.clone()),
            device_name: Some(device_name.to_string()),
            detail: Some(detail),
            ..Default::default()
        },
    )
    .await;
    Ok(())
}

/// The feed's words for a change (`owner: prompt, shared: notify`), or
/// `None` when the request changes nothing.
fn change(
    row: &DeviceRow,
    owner: Option<ConsentPolicy>,
    shared: Option<ConsentPolicy>,
) -> Option<String> {
    let owner = owner.unwrap_or(row.consent_owner);
    let shared = shared.unwrap_or(row.consent_shared);
    if owner == row.consent_owner && shared == row.consent_shared {
        return None;
    }
    Some(format!(
        "owner: {}, shared: {}",
        owner.as_str(),
        shared.as_str()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ConsentPolicy::*;

    fn row(owner: ConsentPolicy, shared: ConsentPolicy) -> DeviceRow {
        DeviceRow {
            id: "dev_1".into(),
            owner_id: 1,
            owner: "alice".into(),
            name: "pc".into(),
            os: "Linux".into(),
            public_key: vec![],
            created_at: 0,
            last_seen: None,
            consent_owner: owner,
            consent_shared: shared,
            screens: Vec::new(),
            sound: true,
            view_may_copy: false,
        }
    }

    #[test]
    fn only_a_real_change_is_worth_an_event() {
        let r = row(Unattended, Notify);
        assert_eq!(change(&r, None, None), None);
        assert_eq!(change(&r, Some(Unattended), Some(Notify)), None);
        assert_eq!(
            change(&r, None, Some(Prompt)).as_deref(),
            Some("owner: unattended, shared: prompt")
        );
        assert_eq!(
            change(&r, Some(Notify), None).as_deref(),
            Some("owner: notify, shared: notify")
        );
    }
}
