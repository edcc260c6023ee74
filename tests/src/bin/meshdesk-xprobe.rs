//! A test X client: a plain window of one colour that reports what reaches
//! it. Tests use it as "an application on the remote PC".
//!
//! `meshdesk-xprobe window --geometry WxH+X+Y --color RRGGBB [--flip RRGGBB]`
//!
//! Prints `ready` once the window is mapped and focused, then one line per
//! event: `key TEXT` for a key that types a printable character (`key a`),
//! `key 0xKEYSYM` for any other key, `button N X Y` (root coordinates). With
//! `--flip`, every press swaps the window between its two colours and the
//! line is printed once the X server has drawn the new colour.

use std::io::Write;

use anyhow::{bail, Context, Result};
use x11rb::connection::Connection;
use x11rb::protocol::xproto::{
    ChangeWindowAttributesAux, ConnectionExt as _, CreateWindowAux, EventMask, InputFocus,
    WindowClass,
};
use x11rb::protocol::Event;
use x11rb::COPY_DEPTH_FROM_PARENT;

#[derive(Debug)]
struct Args {
    width: u16,
    height: u16,
    x: i16,
    y: i16,
    color: u32,
    flip: Option<u32>,
}

fn parse_args() -> Result<Args> {
    let mut it = std::env::args().skip(1);
    if it.next().as_deref() != Some("window") {
        bail!("usage: meshdesk-xprobe window --geometry WxH+X+Y --color RRGGBB [--flip RRGGBB]");
    }
    let (mut geometry, mut color, mut flip) = (None, None, None);
    while let Some(flag) = it.next() {
        let value = it.next().with_context(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--geometry" => geometry = Some(value),
            "--color" => color = Some(parse_color(&value)?),
            "--flip" => flip = Some(parse_color(&value)?),
            other => bail!("unknown flag {other}"),
        }
    }
    let geometry = geometry.context("--geometry is required")?;
    let (size, pos) = geometry
        .split_once('+')
        .context("geometry must be WxH+X+Y")?;
    let (w, h) = size.split_once('x').context("geometry must be WxH+X+Y")?;
    let (x, y) = pos.split_once('+').context("geometry must be WxH+X+Y")?;
    Ok(Args {
        width: w.parse()?,
        height: h.parse()?,
        x: x.parse()?,
        y: y.parse()?,
        color: color.context("--color is required")?,
        flip,
    })
}

fn parse_color(s: &str) -> Result<u32> {
    u32::from_str_radix(s.trim_start_matches('#'), 16).with_context(|| format!("bad colour {s}"))
}

/// The keysym for a keycode with no modifiers, or shifted when `shift`.
fn keysym(
    map: &x11rb::protocol::xproto::GetKeyboardMappingReply,
    min: u8,
    code: u8,
    shift: bool,
) -> u32 {
    let per = map.keysyms_per_keycode as usize;
    let base = (code - min) as usize * per;
    let plain = map.keysyms.get(base).copied().unwrap_or(0);
    let shifted = map.keysyms.get(base + 1).copied().unwrap_or(0);
    if shift && shifted != 0 {
        shifted
    } else {
        plain
    }
}

fn main() -> Result<()> {
    let args = parse_args()?;
    let (conn, screen_num) = x11rb::connect(None).context("connect to $DISPLAY")?;
    let screen = &conn.setup().roots[screen_num];
    let (min, max) = (conn.setup().min_keycode, conn.setup().max_keycode);
    let map = conn
        .get_keyboard_mapping(min, max - min + 1)?
        .reply()
        .context("keyboard mapping")?;
    let win = conn.generate_id()?;
    let aux = CreateWindowAux::new()
        .background_pixel(args.color)
        .override_redirect(1)
        .event_mask(EventMask::EXPOSURE | EventMask::KEY_PRESS | EventMask::BUTTON_PRESS);
    conn.create_window(
        COPY_DEPTH_FROM_PARENT,
        win,
        screen.root,
        args.x,
        args.y,
        args.width,
        args.height,
        0,
        WindowClass::INPUT_OUTPUT,
        0,
        &aux,
    )?;
    conn.map_window(win)?;
    conn.flush()?;
    let mut current = args.color;
    let mut stdout = std::io::stdout();
    let mut ready = false;
    loop {
        let event = conn.wait_for_event()?;
        let line = match event {
            Event::Expose(_) if !ready => {
                conn.set_input_focus(InputFocus::POINTER_ROOT, win, x11rb::CURRENT_TIME)?;
                conn.get_input_focus()?.reply()?;
                ready = true;
                Some("ready".to_string())
            }
            Event::KeyPress(k) => {
                let shift = u16::from(k.state) & 1 != 0;
                let sym = keysym(&map, min, k.detail, shift);
                Some(match char::from_u32(sym) {
                    Some(c) if (0x20..0x7f).contains(&sym) => format!("key {c}"),
                    _ => format!("key 0x{sym:x}"),
                })
            }
            Event::ButtonPress(b) => Some(format!("button {} {} {}", b.detail, b.root_x, b.root_y)),
            _ => None,
        };
        let Some(line) = line else { continue };
        let pressed = line != "ready";
        if let (true, Some(other)) = (pressed, args.flip) {
            current = if current == args.color {
                other
            } else {
                args.color
            };
            let attrs = ChangeWindowAttributesAux::new().background_pixel(current);
            conn.change_window_attributes(win, &attrs)?;
            conn.clear_area(false, win, 0, 0, 0, 0)?;
            conn.get_input_focus()?.reply()?;
        }
        writeln!(stdout, "{line}")?;
        stdout.flush()?;
    }
}
