//! Making, drawing and taking down the consent windows (the X requests
//! behind [`super::Ui`]'s decisions).

use std::time::Instant;

use super::*;

impl Ui {
    /// An override-redirect window named `name` (its WM_NAME).
    fn window(
        &self,
        parent: Window,
        rect: (i16, i16, u16, u16),
        border: u16,
        name: &str,
        mask: EventMask,
    ) -> XResult<Window> {
        let win = self.conn.generate_id()?;
        let aux = CreateWindowAux::new()
            .background_pixel(self.white)
            .border_pixel(self.black)
            .override_redirect(1)
            .event_mask(mask);
        let (x, y, w, h) = rect;
        self.conn.create_window(
            COPY_DEPTH_FROM_PARENT,
            win,
            parent,
            x,
            y,
            w,
            h,
            border,
            WindowClass::INPUT_OUTPUT,
            COPY_FROM_PARENT,
            &aux,
        )?;
        self.conn.change_property8(
            PropMode::REPLACE,
            win,
            AtomEnum::WM_NAME,
            AtomEnum::STRING,
            &latin1(name),
        )?;
        Ok(win)
    }

    fn button(&self, parent: Window, x: i16, y: i16, label: &str) -> XResult<Window> {
        let mask = EventMask::BUTTON_PRESS | EventMask::EXPOSURE;
        self.window(parent, (x, y, BUTTON_W, BUTTON_H), 1, label, mask)
    }

    /// Map the prompt, centred, with the shield raised first.
    pub(super) fn show_prompt(&mut self, p: Pending) -> XResult<()> {
        let (sw, sh) = self.screen_size;
        let x = (sw.saturating_sub(PROMPT_W) / 2) as i16;
        let y = (sh.saturating_sub(PROMPT_H) / 2) as i16;
        let mask = EventMask::KEY_PRESS | EventMask::EXPOSURE;
        let title = format!("Meshdesk: {}", p.text);
        let win = self.window(self.root, (x, y, PROMPT_W, PROMPT_H), 2, &title, mask)?;
        // "Allow" lies over the centre of the screen, where a remote
        // viewer's clicks are likeliest to land: the shield, not the
        // layout, keeps them off (tests/tests/consent.rs clicks there).
        let top = ((PROMPT_H - BUTTON_H) / 2) as i16;
        let allow = self.button(win, (PROMPT_W / 2 + 10 - BUTTON_W) as i16, top, "Allow")?;
        let deny = self.button(win, (PROMPT_W / 2 + 30) as i16, top, "Deny")?;
        // Raise the shield before the window can be seen or clicked.
        self.shield.prompt_raised();
        self.conn.map_subwindows(win)?;
        self.conn.map_window(win)?;
        let above = ConfigureWindowAux::new().stack_mode(StackMode::ABOVE);
        self.conn.configure_window(win, &above)?;
        self.conn.sync()?;
        self.conn
            .set_input_focus(InputFocus::POINTER_ROOT, win, CURRENT_TIME)?;
        tracing::info!(session = %p.id, "consent prompt shown");
        self.shown = Some(Shown {
            id: p.id,
            text: p.text,
            reply: p.reply,
            core: PromptCore::new(Instant::now(), p.timeout),
            win,
            allow,
            deny,
        });
        let (a, d) = (allow, deny);
        self.focus_border(a, d)
    }

    /// Take the prompt down; then the shield; then answer (`None`: nobody
    /// waits any more).
    pub(super) fn close_prompt(&mut self, decision: Option<Decision>) -> XResult<()> {
        let Some(s) = self.shown.take() else {
            return Ok(());
        };
        self.conn.destroy_window(s.win)?;
        // The window is gone on the server before input may pass again.
        self.conn.sync()?;
        self.shield.prompt_lowered();
        tracing::info!(session = %s.id, ?decision, "consent prompt closed");
        if let Some(d) = decision {
            let _ = s.reply.send(d);
        }
        Ok(())
    }

    /// The focused button gets a thick border.
    pub(super) fn focus_border(&self, allow: Window, deny: Window) -> XResult<()> {
        let Some(s) = &self.shown else { return Ok(()) };
        let (thick, thin) = match s.core.focus() {
            Button::Allow => (allow, deny),
            Button::Deny => (deny, allow),
        };
        self.conn
            .configure_window(thick, &ConfigureWindowAux::new().border_width(4))?;
        self.conn
            .configure_window(thin, &ConfigureWindowAux::new().border_width(1))?;
        Ok(())
    }

    /// Build the notice again from the entries (or take it down).
    pub(super) fn rebuild_notice(&mut self) -> XResult<()> {
        if let Some(n) = self.notice.take() {
            self.conn.destroy_window(n.win)?;
        }
        if self.entries.is_empty() {
            self.conn.sync()?;
            self.shield.set_notice(None);
            return Ok(());
        }
        let rows = self.entries.len() as u16;
        let h = 24 + ROW_H * rows;
        let x = self.screen_size.0.saturating_sub(NOTICE_W + 12) as i16;
        let (y, border) = (8i16, 2u16);
        // Shield first, window second.
        let span = (NOTICE_W + 2 * border) as u32;
        let tall = (h + 2 * border) as u32;
        self.shield
            .set_notice(Some((i32::from(x), i32::from(y), span, tall)));
        let win = self.window(
            self.root,
            (x, y, NOTICE_W, h),
            border,
            "Meshdesk: connected",
            EventMask::EXPOSURE,
        )?;
        let mut buttons = Vec::new();
        for i in 0..rows {
            let by = (20 + ROW_H * i) as i16;
            buttons.push(self.button(win, (NOTICE_W - BUTTON_W - 8) as i16, by, "Disconnect")?);
        }
        self.conn.map_subwindows(win)?;
        self.conn.map_window(win)?;
        self.notice = Some(Notice { win, buttons });
        self.raise_all()
    }

    /// Keep the windows above everything else, the prompt on top.
    pub(super) fn raise_all(&mut self) -> XResult<()> {
        let above = ConfigureWindowAux::new().stack_mode(StackMode::ABOVE);
        if let Some(n) = &self.notice {
            self.conn.configure_window(n.win, &above)?;
        }
        if let Some(s) = &self.shown {
            self.conn.configure_window(s.win, &above)?;
        }
        self.raised_at = Instant::now();
        Ok(())
    }

    fn text(&self, win: Window, x: i16, y: i16, text: &str) -> XResult<()> {
        self.conn.image_text8(win, self.gc, x, y, &latin1(text))?;
        Ok(())
    }

    /// Draw the contents of an exposed window.
    pub(super) fn draw(&self, win: Window) -> XResult<()> {
        if let Some(s) = &self.shown {
            if win == s.win {
                self.text(win, 16, 24, &s.text)?;
                return self.text(win, 16, 112, "Nobody answering denies it.");
            }
            if win == s.allow || win == s.deny {
                let label = if win == s.allow { "Allow" } else { "Deny" };
                return self.text(win, 30, 20, label);
            }
        }
        let Some(n) = &self.notice else { return Ok(()) };
        if win == n.win {
            self.text(win, 8, 14, "Connected to this PC:")?;
            for (i, e) in self.entries.iter().enumerate() {
                self.text(win, 8, (40 + ROW_H as usize * i) as i16, &e.line)?;
            }
        } else if n.buttons.contains(&win) {
            self.text(win, 20, 20, "Disconnect")?;
        }
        Ok(())
    }
}
