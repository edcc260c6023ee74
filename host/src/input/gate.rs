//! The session's grant, enforced on the host.
//!
//! The server tells the host what each session may do. Whatever a viewer
//! sends, a session granted `view` never injects anything: the host does
//! not trust the viewer (or the server's UI) to hold back. The grant can
//! change while a session runs (a share downgraded or revoked); the gate
//! reports when control is lost so the session releases what it holds.

use meshdesk_protocol::rest::Permission;

/// Whether input from one session may reach the screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gate {
    /// The grant the server sent for this session.
    permission: Permission,
}

/// What a change of grant means for input already held.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Regrant {
    /// Control was allowed and no longer is: release everything now.
    ControlLost,
    /// Nothing to undo.
    Unchanged,
}

impl Gate {
    /// A gate for a session with this grant.
    pub fn new(permission: Permission) -> Gate {
        Gate { permission }
    }

    /// The current grant.
    pub fn permission(&self) -> Permission {
        self.permission
    }

    /// Whether input may be injected.
    pub fn admits_input(&self) -> bool {
        self.permission.may_control()
    }

    /// Apply a new grant.
    pub fn regrant(&mut self, permission: Permission) -> Regrant {
        let had_control = self.admits_input();
        self.permission = permission;
        if had_control && !self.admits_input() {
            Regrant::ControlLost
        } else {
            Regrant::Unchanged
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_control_and_owner_admit_input() {
        assert!(!Gate::new(Permission::View).admits_input());
        assert!(Gate::new(Permission::Control).admits_input());
        assert!(Gate::new(Permission::Owner).admits_input());
    }

    #[test]
    fn downgrade_to_view_loses_control() {
        let mut gate = Gate::new(Permission::Control);
        assert_eq!(gate.regrant(Permission::View), Regrant::ControlLost);
        assert!(!gate.admits_input());
        assert_eq!(gate.regrant(Permission::View), Regrant::Unchanged);
        assert_eq!(gate.regrant(Permission::Owner), Regrant::Unchanged);
        assert!(gate.admits_input());
        assert_eq!(gate.permission(), Permission::Owner);
    }
}
