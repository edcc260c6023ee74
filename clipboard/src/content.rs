//! What a clipboard holds, as it crosses: UTF-8 text or a PNG image.

use meshdesk_protocol::clipboard::ClipKind;
use sha2::{Digest, Sha256};

use crate::ClipboardError;

/// Clipboard content.
#[derive(Clone, PartialEq, Eq)]
pub struct Content {
    pub kind: ClipKind,
    pub data: Vec<u8>,
}

impl std::fmt::Debug for Content {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the data: a clipboard holds passwords.
        f.debug_struct("Content")
            .field("kind", &self.kind)
            .field("bytes", &self.data.len())
            .finish()
    }
}

impl Content {
    pub fn text(text: impl Into<String>) -> Self {
        Content {
            kind: ClipKind::Text,
            data: text.into().into_bytes(),
        }
    }

    /// A PNG from RGBA pixels.
    pub fn png_from_rgba(width: u32, height: u32, rgba: Vec<u8>) -> Result<Self, ClipboardError> {
        let image = image::RgbaImage::from_raw(width, height, rgba)
            .ok_or_else(|| ClipboardError::BadImage("pixels do not fit the size".into()))?;
        let mut png = Vec::new();
        image
            .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
            .map_err(|e| ClipboardError::BadImage(e.to_string()))?;
        Ok(Content {
            kind: ClipKind::Png,
            data: png,
        })
    }

    /// The RGBA pixels of a PNG (width, height, pixels).
    pub fn rgba(&self) -> Result<(u32, u32, Vec<u8>), ClipboardError> {
        let image = image::load_from_memory_with_format(&self.data, image::ImageFormat::Png)
            .map_err(|e| ClipboardError::BadImage(e.to_string()))?
            .to_rgba8();
        Ok((image.width(), image.height(), image.into_raw()))
    }

    /// What tells two contents apart: text by its bytes, an image by its
    /// pixels (the same picture encoded twice is the same content).
    pub fn fingerprint(&self) -> [u8; 32] {
        let mut hash = Sha256::new();
        match self.kind {
            ClipKind::Text => {
                hash.update(b"t");
                hash.update(&self.data);
            }
            ClipKind::Png => {
                hash.update(b"i");
                match self.rgba() {
                    Ok((w, h, pixels)) => {
                        hash.update(w.to_be_bytes());
                        hash.update(h.to_be_bytes());
                        hash.update(&pixels);
                    }
                    Err(_) => hash.update(&self.data),
                }
            }
        }
        hash.finalize().into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_image_is_the_same_content_however_it_was_encoded() {
        let pixels: Vec<u8> = (0..4 * 6 * 4).map(|i| i as u8).collect();
        let a = Content::png_from_rgba(4, 6, pixels.clone()).unwrap();
        assert_eq!(a.rgba().unwrap(), (4, 6, pixels.clone()));
        let mut b = a.clone();
        // Another encoding of the same pixels (an extra ancillary chunk
        // would do; re-encoding through RGBA gives equal pixels).
        b.data = Content::png_from_rgba(4, 6, pixels).unwrap().data;
        assert_eq!(a.fingerprint(), b.fingerprint());
        assert_ne!(a.fingerprint(), Content::text("x").fingerprint());
        assert!(format!("{:?}", Content::text("hunter2")).contains("bytes: 7"));
        assert!(!format!("{:?}", Content::text("hunter2")).contains("hunter2"));
    }
}
