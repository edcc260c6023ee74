//! `meshdesk-viewer list` output: an aligned text table for people, or JSON
//! for scripts.

use meshdesk_protocol::rest::Device;
use serde::Serialize;

const HEADERS: [&str; 6] = ["NAME", "STATE", "PERMISSION", "OWNER", "ID", "SCREENS"];

/// A device's screens for the table: `id WxH`, the primary marked `*`.
fn screens_cell(d: &Device) -> String {
    let cells: Vec<String> = d
        .screens
        .iter()
        .map(|s| {
            let mark = if s.primary { "*" } else { "" };
            format!("{}{mark} {}x{}", s.id, s.width, s.height)
        })
        .collect();
    cells.join(", ")
}

/// The devices as an aligned table with a header line, one device a line.
pub fn render(devices: &[Device]) -> String {
    if devices.is_empty() {
        return "no devices; enroll one with `meshdesk-host enroll`\n".to_string();
    }
    let screens: Vec<String> = devices.iter().map(screens_cell).collect();
    let rows: Vec<[&str; 6]> = devices
        .iter()
        .zip(&screens)
        .map(|(d, screens)| {
            [
                d.name.as_str(),
                if d.online { "online" } else { "offline" },
                d.permission.as_str(),
                d.owner.as_str(),
                d.id.as_str(),
                screens.as_str(),
            ]
        })
        .collect();
    let mut widths = HEADERS.map(str::len);
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in std::iter::once(&HEADERS).chain(&rows) {
        let line: Vec<String> = row
            .iter()
            .zip(widths)
            .map(|(cell, w)| format!("{cell:<w$}"))
            .collect();
        out.push_str(line.join("  ").trim_end());
        out.push('\n');
    }
    out
}

/// One device in `list --json`: the fields scripts need, stable names.
#[derive(Debug, Serialize)]
struct JsonDevice<'a> {
    id: &'a str,
    name: &'a str,
    online: bool,
    permission: &'a str,
    owner: &'a str,
    os: &'a str,
    last_seen: Option<i64>,
    screens: &'a [meshdesk_protocol::signal::Screen],
}

/// The devices as a JSON array.
pub fn render_json(devices: &[Device]) -> String {
    let list: Vec<JsonDevice<'_>> = devices
        .iter()
        .map(|d| JsonDevice {
            id: &d.id,
            name: &d.name,
            online: d.online,
            permission: d.permission.as_str(),
            owner: &d.owner,
            os: &d.os,
            last_seen: d.last_seen,
            screens: &d.screens,
        })
        .collect();
    // Serializing plain strings, bools and integers cannot fail.
    serde_json::to_string_pretty(&list).unwrap_or_else(|_| "[]".into())
}

#[cfg(test)]
mod tests {
    use meshdesk_protocol::rest::Permission;

    use super::*;

    fn device(name: &str, online: bool, permission: Permission) -> Device {
        Device {
            id: format!("dev_{name}"),
            name: name.into(),
            os: "Debian".into(),
            owner: "alice".into(),
            online,
            permission,
            created_at: 0,
            last_seen: Some(5),
            consent_owner: Default::default(),
            consent_shared: Default::default(),
            public_key: String::new(),
            screens: Vec::new(),
            sound: true,
            view_may_copy: false,
        }
    }

    #[test]
    fn table_is_aligned() {
        let devices = [
            device("office-pc", true, Permission::Owner),
            device("nas", false, Permission::View),
        ];
        let text = render(&devices);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3);
        assert!(lines[0].starts_with("NAME       STATE    PERMISSION"));
        assert!(lines[1].starts_with("office-pc  online   owner"));
        assert!(lines[2].starts_with("nas        offline  view"));
        assert!(render(&[]).contains("no devices"));
    }

    #[test]
    fn json_lists_every_device() {
        let devices = [device("nas", false, Permission::Control)];
        let v: serde_json::Value = serde_json::from_str(&render_json(&devices)).expect("json");
        assert_eq!(v[0]["name"], "nas");
        assert_eq!(v[0]["online"], false);
        assert_eq!(v[0]["permission"], "control");
        assert_eq!(v[0]["id"], "dev_nas");
    }
}
