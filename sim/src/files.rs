//! File uploads (`upload.saveFilePart` / `upload.saveBigFilePart`) and the media the bot sent
//! from them (photos and documents), kept byte for byte so tests can read them back.
//!
//! The rules follow "Uploading files" (<https://core.telegram.org/api/files>): a file is cut
//! into parts of one `part_size`, a multiple of 1 KB that divides 512 KB; only the last part
//! may be smaller; parts are numbered from 0 (at most 4,000 parts); files over 10 MB use
//! `upload.saveBigFilePart`, which also carries the total number of parts; `inputFile` may
//! carry the file's MD5, which is then checked. Parts may arrive in any order (grammers
//! uploads big files with 4 parallel workers).

use std::collections::BTreeMap;

use serde::Serialize;

use crate::obs::PeerKey;

/// Largest part: 512 KB (<https://core.telegram.org/api/files>).
pub const MAX_PART: usize = 512 * 1024;
/// Parts per file (4,000 for non-Premium accounts, bots included).
pub const MAX_PARTS: i32 = 4000;
/// Files over this size must be uploaded with `upload.saveBigFilePart`.
pub const BIG_FILE: usize = 10 * 1024 * 1024;

/// One file being uploaded by one account.
#[derive(Debug, Default)]
pub struct Upload {
    /// `saveBigFilePart`'s `file_total_parts` (None for `saveFilePart`).
    pub total: Option<i32>,
    pub parts: BTreeMap<i32, Vec<u8>>,
}

fn regular_part_size(len: usize) -> bool {
    len > 0 && len % 1024 == 0 && MAX_PART % len == 0
}

impl Upload {
    /// Stores one part; the error is the RPC error name
    /// (<https://core.telegram.org/method/upload.saveFilePart>,
    /// <https://core.telegram.org/method/upload.saveBigFilePart>).
    pub fn save_part(
        &mut self,
        part: i32,
        total: Option<i32>,
        bytes: Vec<u8>,
    ) -> Result<(), &'static str> {
        if bytes.is_empty() {
            return Err("FILE_PART_EMPTY");
        }
        if bytes.len() > MAX_PART {
            return Err("FILE_PART_TOO_BIG");
        }
        if let Some(t) = total {
            if !(1..=MAX_PARTS).contains(&t) || self.total.is_some_and(|old| old != t) {
                return Err("FILE_PARTS_INVALID");
            }
            self.total = Some(t);
        }
        if !(0..MAX_PARTS).contains(&part) || self.total.is_some_and(|t| part >= t) {
            return Err("FILE_PART_INVALID");
        }
        // Every part but the last has the one part size. With a known total (big files) that
        // is checked part by part; without one (saveFilePart) any part may be the last, so
        // sizes are checked when the file is used.
        if let Some(t) = self.total.filter(|t| part != t - 1) {
            if !regular_part_size(bytes.len()) {
                return Err("FILE_PART_SIZE_INVALID");
            }
            if self
                .parts
                .iter()
                .any(|(p, b)| *p != t - 1 && b.len() != bytes.len())
            {
                return Err("FILE_PART_SIZE_CHANGED");
            }
        }
        self.parts.insert(part, bytes);
        Ok(())
    }

    /// The whole file for an `inputFile{parts}` / `inputFileBig{parts}`; the error is the RPC
    /// error name (`FILE_PART_N_MISSING` for a part that never arrived).
    pub fn assemble(&self, parts: i32, big: bool) -> Result<Vec<u8>, String> {
        if !(1..=MAX_PARTS).contains(&parts) || (big && self.total.is_some_and(|t| t != parts)) {
            return Err("FILE_PARTS_INVALID".into());
        }
        if let Some(missing) = (0..parts).find(|p| !self.parts.contains_key(p)) {
            return Err(format!("FILE_PART_{missing}_MISSING"));
        }
        if self.parts.keys().any(|p| *p >= parts) {
            return Err("FILE_PARTS_INVALID".into());
        }
        let size = self.parts[&0].len();
        let mut out = Vec::with_capacity(size * parts as usize);
        for p in 0..parts {
            let b = &self.parts[&p];
            let last = p == parts - 1;
            if !last && (b.len() != size || !regular_part_size(b.len())) {
                return Err("FILE_PART_SIZE_INVALID".into());
            }
            if last && parts > 1 && b.len() > size {
                return Err("FILE_PART_SIZE_INVALID".into());
            }
            out.extend_from_slice(b);
        }
        if !big && out.len() > BIG_FILE {
            // Files over 10 MB must go through saveBigFilePart.
            return Err("FILE_PARTS_INVALID".into());
        }
        Ok(out)
    }
}

/// A photo or document the bot sent, with its exact bytes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SentFile {
    pub peer: PeerKey,
    pub msg_id: i32,
    /// "photo" or "document".
    pub kind: String,
    /// The uploaded file's name (`inputFile.name`, or a document's filename attribute).
    pub file_name: String,
    pub mime_type: String,
    pub size: usize,
    /// Photos (and documents with an image-size attribute): dimensions in pixels.
    pub width: Option<i32>,
    pub height: Option<i32>,
    /// The message text sent with the media.
    pub caption: String,
    /// The `photo.id` / `document.id` in the message.
    pub media_id: i64,
    #[serde(skip)]
    pub bytes: Vec<u8>,
}

/// Width and height of a PNG or JPEG, if the bytes are one.
pub fn image_size(b: &[u8]) -> Option<(i32, i32, &'static str)> {
    if b.len() >= 24 && b.starts_with(b"\x89PNG\r\n\x1a\n") && &b[12..16] == b"IHDR" {
        let w = u32::from_be_bytes(b[16..20].try_into().ok()?);
        let h = u32::from_be_bytes(b[20..24].try_into().ok()?);
        return Some((w as i32, h as i32, "image/png"));
    }
    if b.starts_with(&[0xFF, 0xD8]) {
        // Walk the JPEG segments up to a start-of-frame marker (SOF0..SOF15 but DHT/JPG/DAC).
        let mut i = 2;
        while i + 9 < b.len() {
            if b[i] != 0xFF {
                return None;
            }
            let marker = b[i + 1];
            let len = u16::from_be_bytes([b[i + 2], b[i + 3]]) as usize;
            if (0xC0..=0xCF).contains(&marker) && ![0xC4, 0xC8, 0xCC].contains(&marker) {
                let h = u16::from_be_bytes([b[i + 5], b[i + 6]]);
                let w = u16::from_be_bytes([b[i + 7], b[i + 8]]);
                return Some((w as i32, h as i32, "image/jpeg"));
            }
            i += 2 + len;
        }
    }
    None
}

/// The `photoSize.type` letter Telegram uses for a size with this longest side
/// (<https://core.telegram.org/api/files#image-thumbnail-types>).
pub fn photo_size_type(w: i32, h: i32) -> &'static str {
    match w.max(h) {
        0..=100 => "s",
        101..=320 => "m",
        321..=800 => "x",
        801..=1280 => "y",
        _ => "w",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_in_any_order_and_errors() {
        let mut u = Upload::default();
        assert_eq!(u.save_part(0, Some(3), vec![]), Err("FILE_PART_EMPTY"));
        u.save_part(2, Some(3), vec![3; 10]).unwrap();
        u.save_part(0, Some(3), vec![1; 1024]).unwrap();
        assert_eq!(
            u.save_part(1, Some(4), vec![2; 1024]),
            Err("FILE_PARTS_INVALID")
        );
        assert_eq!(
            u.save_part(3, Some(3), vec![2; 1024]),
            Err("FILE_PART_INVALID")
        );
        assert_eq!(
            u.save_part(1, Some(3), vec![2; 1000]),
            Err("FILE_PART_SIZE_INVALID")
        );
        assert_eq!(
            u.save_part(1, Some(3), vec![2; 2048]),
            Err("FILE_PART_SIZE_CHANGED")
        );
        assert_eq!(u.assemble(3, false).unwrap_err(), "FILE_PART_1_MISSING");
        u.save_part(1, Some(3), vec![2; 1024]).unwrap();
        let f = u.assemble(3, false).unwrap();
        assert_eq!(f.len(), 2058);
        assert_eq!(&f[1024..1026], &[2, 2]);
        assert_eq!(
            Upload::default().save_part(0, None, vec![0; MAX_PART + 1]),
            Err("FILE_PART_TOO_BIG")
        );
    }

    #[test]
    fn small_upload_with_an_odd_last_part() {
        let mut u = Upload::default();
        u.save_part(0, None, vec![1; MAX_PART]).unwrap();
        u.save_part(1, None, vec![2; 7]).unwrap();
        assert_eq!(u.assemble(2, false).unwrap().len(), MAX_PART + 7);
        assert_eq!(u.assemble(3, false).unwrap_err(), "FILE_PART_2_MISSING");
        let mut odd = Upload::default();
        odd.save_part(0, None, vec![1; 1000]).unwrap();
        odd.save_part(1, None, vec![1; 1000]).unwrap();
        assert_eq!(
            odd.assemble(2, false).unwrap_err(),
            "FILE_PART_SIZE_INVALID"
        );
    }

    #[test]
    fn image_sizes() {
        let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
        png.extend_from_slice(&640u32.to_be_bytes());
        png.extend_from_slice(&480u32.to_be_bytes());
        assert_eq!(image_size(&png), Some((640, 480, "image/png")));
        let jpeg = [
            0xFF, 0xD8, 0xFF, 0xE0, 0, 4, 0, 0, 0xFF, 0xC0, 0, 11, 8, 0, 20, 0, 30, 3, 0, 0,
        ];
        assert_eq!(image_size(&jpeg), Some((30, 20, "image/jpeg")));
        assert_eq!(image_size(b"a,b\n1,2\n"), None);
        assert_eq!(photo_size_type(640, 480), "x");
    }
}
