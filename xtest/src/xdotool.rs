//! Reading a display's state with `xdotool` (Debian package `xdotool`).

use crate::Xvfb;

impl Xvfb {
    /// Where the pointer is, as `xdotool getmouselocation` reports it.
    pub fn pointer(&self) -> (i32, i32) {
        let out = self.run("xdotool", &["getmouselocation", "--shell"]);
        let field = |name: &str| -> i32 {
            out.lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or_else(|| panic!("no {name} in xdotool's output: {out}"))
        };
        (field("X="), field("Y="))
    }

    /// The id of the first visible window that `xdotool search` finds with
    /// `criteria` (such as `["--name", title]` or `["--class", "xterm"]`),
    /// or `None` while there is none: poll it with [`crate::wait_for`].
    pub fn find_window(&self, criteria: &[&str]) -> Option<String> {
        let out = self
            .command("xdotool")
            .args(["search", "--onlyvisible"])
            .args(criteria)
            .output()
            .ok()?;
        let text = String::from_utf8_lossy(&out.stdout);
        text.lines().next().map(str::to_owned)
    }

    /// A window's place and size on the screen, `[x, y, width, height]`,
    /// as `xdotool getwindowgeometry` reports it.
    pub fn window_geometry(&self, id: &str) -> [i32; 4] {
        let geo = self.run("xdotool", &["getwindowgeometry", "--shell", id]);
        let get = |k: &str| -> i32 {
            geo.lines()
                .find_map(|l| l.strip_prefix(k))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or_else(|| panic!("no {k} in xdotool's output: {geo}"))
        };
        [get("X="), get("Y="), get("WIDTH="), get("HEIGHT=")]
    }
}
