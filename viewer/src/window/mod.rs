//! The viewer window: a thin winit loop ([`app`]) around pure parts:
//! placing the picture ([`letterbox`], [`scale`]), drawing it on the CPU
//! ([`present`]), turning window input into protocol messages ([`input`],
//! [`keymap`]), and the title ([`title`]).

pub mod app;
pub mod input;
pub mod keymap;
pub mod letterbox;
pub mod present;
pub mod region;
pub mod scale;
pub mod title;

pub use app::{App, UserEvent, WindowConfig};
