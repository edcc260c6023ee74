//! What `meshdesk-host status` prints, and the small status file the
//! running agent keeps for it.
//!
//! Asking the server whether this device is online needs a user's sign-in,
//! which the host does not have. So the agent says it itself: while `run`
//! goes, it keeps `host.status` beside its identity file (`online` true
//! while its authenticated WebSocket to the server is up, with its process
//! id and the server URL it is connected to) and removes it when it stops. `status` reads that file and checks
//! that the process still lives, so a killed agent shows as not running.

use std::path::{Path, PathBuf};

use meshdesk_protocol::safety_code;
use serde::{Deserialize, Serialize};

use super::config::HostConfig;

/// The status file's contents.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentStatus {
    /// The agent's process id.
    pub pid: u32,
    /// Its WebSocket to the server is authenticated and up.
    pub online: bool,
    /// Which of host.toml's servers that WebSocket goes to, while online
    /// (absent in files of agents from before there could be several).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
}

/// Where the agent using the identity file `config` keeps its status.
pub fn status_path(config: &Path) -> PathBuf {
    config.with_extension("status")
}

/// The running agent's side: writes the file, removes it on drop.
#[derive(Debug)]
pub struct StatusFile {
    path: PathBuf,
}

impl StatusFile {
    /// The status file of the agent using the identity file `config`.
    pub fn for_config(config: &Path) -> Self {
        Self {
            path: status_path(config),
        }
    }

    /// Record that the agent is connected to `server`, or (`None`) not
    /// connected. A failure is logged: it only affects what `status` can
    /// tell.
    pub fn set_online(&self, server: Option<&str>) {
        let status = AgentStatus {
            pid: std::process::id(),
            online: server.is_some(),
            server: server.map(str::to_owned),
        };
        let text = toml::to_string(&status).unwrap_or_default();
        if let Err(e) = std::fs::write(&self.path, text) {
            tracing::warn!(path = %self.path.display(), error = %e, "cannot write the status file");
        }
    }
}

impl Drop for StatusFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// The status of the agent using `config`, if one wrote it and still runs.
pub fn read_status(config: &Path) -> Option<AgentStatus> {
    let text = std::fs::read_to_string(status_path(config)).ok()?;
    let status: AgentStatus = toml::from_str(&text).ok()?;
    Path::new(&format!("/proc/{}", status.pid))
        .exists()
        .then_some(status)
}

/// The lines `status` prints; `key` is the device's public key. With
/// several servers, an online state says which one it is connected to.
pub fn report(cfg: &HostConfig, key: &[u8; 32], agent: Option<AgentStatus>) -> String {
    let several = cfg.server.entries().len() > 1;
    let state = match agent {
        Some(AgentStatus {
            online: true,
            pid,
            server: Some(server),
        }) if several => format!("online via {server} (agent pid {pid})"),
        Some(AgentStatus {
            online: true, pid, ..
        }) => format!("online (agent pid {pid})"),
        Some(AgentStatus {
            online: false, pid, ..
        }) => {
            format!("offline (agent pid {pid} is not connected to the server)")
        }
        None => "offline (the agent is not running)".to_string(),
    };
    format!(
        "device:      {}\nname:        {}\nserver:      {}\nstate:       {}\nsafety code: {}\n",
        cfg.device_id,
        cfg.name,
        cfg.server,
        state,
        safety_code(key)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> HostConfig {
        toml::from_str(
            "server = \"http://s:1\"\ndevice_id = \"d1\"\nname = \"pc\"\nprivate_key = \"x\"\n",
        )
        .unwrap()
    }

    #[test]
    fn report_names_everything() {
        let online = |server: Option<&str>| AgentStatus {
            pid: 7,
            online: true,
            server: server.map(str::to_owned),
        };
        let text = report(&cfg(), &[0; 32], Some(online(Some("http://s:1"))));
        assert!(text.contains("device:      d1\n"), "{text}");
        assert!(text.contains("name:        pc\n"), "{text}");
        assert!(text.contains("server:      http://s:1\n"), "{text}");
        assert!(
            text.contains("state:       online (agent pid 7)\n"),
            "{text}"
        );
        assert!(text.contains("safety code: 8770 6170 9175\n"), "{text}");
        assert!(report(&cfg(), &[0; 32], None).contains("not running"));

        // Several servers: all listed, and the one in use named.
        let mut several = cfg();
        several.server =
            meshdesk_peer::ServerSetting::Several(vec!["http://a:1".into(), "http://b:2".into()]);
        let text = report(&several, &[0; 32], Some(online(Some("http://b:2"))));
        assert!(
            text.contains("server:      http://a:1, http://b:2\n"),
            "{text}"
        );
        assert!(
            text.contains("state:       online via http://b:2 (agent pid 7)\n"),
            "{text}"
        );
        // An agent from before says no server: as before.
        let text = report(&several, &[0; 32], Some(online(None)));
        assert!(
            text.contains("state:       online (agent pid 7)\n"),
            "{text}"
        );
    }

    #[test]
    fn the_file_lives_while_the_agent_does() {
        let dir = std::env::temp_dir().join(format!("meshdesk-status-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let config = dir.join("host.toml");
        {
            let file = StatusFile::for_config(&config);
            file.set_online(Some("http://s:1"));
            let status = read_status(&config).unwrap();
            assert!(status.online);
            assert_eq!(status.server.as_deref(), Some("http://s:1"));
            file.set_online(None);
            assert_eq!(read_status(&config).unwrap().server, None);
            assert_eq!(status.pid, std::process::id());
        }
        assert_eq!(read_status(&config), None);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
