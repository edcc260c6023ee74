//! A test X client: a plain window of one colour that reports what reaches
//! it. Tests use it as "an application on the remote PC".
//!
//! `meshdesk-xprobe window --geometry WxH+X+Y --color RRGGBB [--flip RRGGBB]`
//! `meshdesk-xprobe animate --geometry WxH+X+Y --color RRGGBB --hz N [--motion scroll|fresh]`
//!
//! Prints `ready` once the window is mapped and focused, then one line per
//! event: `key TEXT` for a key that types a printable character (`key a`),
//! `key 0xKEYSYM` for any other key, `button N X Y` (root coordinates). With
//! `--flip`, every press swaps the window between its two colours and the
//! line is printed once the X server has drawn the new colour.
//!
//! `animate` scrolls a detailed colour picture across the window N times a
//! second (motion for bandwidth and CPU measurements) and prints `ready`.
//! With `--motion fresh` every frame is a new picture instead, which no
//! codec can predict from the last: as many bits as the encoder is
//! allowed, for rate-control measurements.

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
    animate: bool,
    /// `--motion fresh`: a new picture every frame.
    fresh: bool,
    hz: u32,
    width: u16,
    height: u16,
    x: i16,
    y: i16,
    color: u32,
    flip: Option<u32>,
}

fn parse_args() -> Result<Args> {
    let mut it = std::env::args().skip(1);
    let animate = match it.next().as_deref() {
        Some("window") => false,
        Some("animate") => true,
        _ => bail!(
            "usage: meshdesk-xprobe window --geometry WxH+X+Y --color RRGGBB [--flip RRGGBB]\n       \
             meshdesk-xprobe animate --geometry WxH+X+Y --color RRGGBB --hz N"
        ),
    };
    let (mut geometry, mut color, mut flip, mut hz) = (None, None, None, 30);
    let mut fresh = false;
    while let Some(flag) = it.next() {
        let value = it.next().with_context(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--geometry" => geometry = Some(value),
            "--color" => color = Some(parse_color(&value)?),
            "--flip" => flip = Some(parse_color(&value)?),
            "--hz" => hz = value.parse().context("--hz must be a whole number")?,
            "--motion" => {
                fresh = match value.as_str() {
                    "scroll" => false,
                    "fresh" => true,
                    _ => bail!("--motion must be scroll or fresh"),
                }
            }
            other => bail!("unknown flag {other}"),
        }
    }
    let geometry = geometry.context("--geometry is required")?;
    let (size, pos) = geometry
        .split_once('+')
        .context("geometry must be WxH+X+Y")?;
    let (w, h) = size.split_once('x').context("geometry must be WxH+X+Y")?;
    let (x, y) = pos.split_once('+').context("geometry must be WxH+X+Y")?;
    if hz == 0 || hz > 240 {
        bail!("--hz must be 1 to 240");
    }
    Ok(Args {
        animate,
        fresh,
        hz,
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
    if args.animate {
        return animate(&conn, win, &args);
    }
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

/// A picture like a video or a scrolling page: smooth colour noise with
/// some fine detail, scrolled sideways `hz` times a second, forever.
fn animate(conn: &impl Connection, win: u32, args: &Args) -> Result<()> {
    use x11rb::protocol::xproto::{CreateGCAux, ImageFormat};
    loop {
        if let Event::Expose(_) = conn.wait_for_event()? {
            break;
        }
    }
    let gc = conn.generate_id()?;
    conn.create_gc(gc, win, &CreateGCAux::new())?;
    let (w, h) = (usize::from(args.width), usize::from(args.height));
    let period = 512usize;
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut texture = texture(w + period, h, seed);
    let mut frame = vec![0u8; w * h * 4];
    let step = 4usize;
    let tick = std::time::Duration::from_secs_f64(1.0 / f64::from(args.hz));
    let mut next = std::time::Instant::now();
    let mut offset = 0usize;
    println!("ready");
    std::io::stdout().flush()?;
    loop {
        let row = (w + period) * 4;
        for y in 0..h {
            let src = &texture[y * row + offset * 4..][..w * 4];
            frame[y * w * 4..][..w * 4].copy_from_slice(src);
        }
        conn.put_image(
            ImageFormat::Z_PIXMAP,
            win,
            gc,
            args.width,
            args.height,
            0,
            0,
            0,
            24,
            &frame,
        )?;
        conn.flush()?;
        offset = (offset + step) % period;
        if args.fresh {
            seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            texture = self::texture(w + period, h, seed | 1);
        }
        next += tick;
        let now = std::time::Instant::now();
        if next > now {
            std::thread::sleep(next - now);
        } else {
            next = now;
        }
    }
}

/// BGRX pixels: bilinear value noise on a 16-pixel lattice, a gradient,
/// and a faint fine grain, so no codec gets it for free.
fn texture(w: usize, h: usize, seed: u64) -> Vec<u8> {
    let cell = 16usize;
    let (gw, gh) = (w / cell + 2, h / cell + 2);
    let mut seed = seed;
    let mut rnd = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let lattice: Vec<[f32; 3]> = (0..gw * gh)
        .map(|_| {
            let v = rnd();
            [
                (v & 255) as f32,
                ((v >> 8) & 255) as f32,
                ((v >> 16) & 255) as f32,
            ]
        })
        .collect();
    let mut out = vec![0u8; w * h * 4];
    for y in 0..h {
        for x in 0..w {
            let (cx, cy) = (x / cell, y / cell);
            let (fx, fy) = (
                (x % cell) as f32 / cell as f32,
                (y % cell) as f32 / cell as f32,
            );
            let at = |i: usize, j: usize| lattice[j * gw + i];
            let px = &mut out[(y * w + x) * 4..][..4];
            let grain = (rnd() & 15) as f32;
            for (c, value) in px.iter_mut().take(3).enumerate() {
                let top = at(cx, cy)[c] * (1.0 - fx) + at(cx + 1, cy)[c] * fx;
                let bottom = at(cx, cy + 1)[c] * (1.0 - fx) + at(cx + 1, cy + 1)[c] * fx;
                let noise = top * (1.0 - fy) + bottom * fy;
                let gradient = (x * 255 / w.max(1)) as f32;
                *value = (noise * 0.7 + gradient * 0.25 + grain).min(255.0) as u8;
            }
        }
    }
    out
}
