//! What an uploaded file is and what is kept of it: its type decided from its bytes, an
//! image's metadata stripped, its size measured and its thumbnail made, within limits that
//! no file can push past (decompression bombs). Pure computation, CPU-heavy: callers run it
//! on the blocking pool, never on the async workers.

/// The most pixels an image may have to be shown inline; a larger one is kept as a plain file.
pub const MAX_PIXELS: u64 = 50_000_000;
/// A thumbnail fits this box (width, height); an image that fits already is its own.
pub const THUMBNAIL_BOX: (u32, u32) = (1200, 800);

/// What is stored of an upload.
#[derive(Debug)]
pub struct Prepared {
    /// The bytes to store: an image's without its metadata (EXIF, GPS, XMP, comments).
    pub bytes: Vec<u8>,
    /// Decided from the bytes: "image/png", "application/pdf", ... or
    /// "application/octet-stream" for anything not recognised.
    pub content_type: &'static str,
    /// For a PNG, JPEG, GIF or WebP image that decoded within the limits: it is shown inline.
    pub image: Option<Picture>,
}

/// An image shown inline.
#[derive(Debug)]
pub struct Picture {
    /// As shown (upright, after its EXIF orientation).
    pub width: u32,
    pub height: u32,
    /// Made when the image does not fit `THUMBNAIL_BOX`.
    pub thumbnail: Option<Thumbnail>,
}

/// An image's smaller copy.
#[derive(Debug)]
pub struct Thumbnail {
    pub bytes: Vec<u8>,
    pub content_type: &'static str,
    pub width: u32,
    pub height: u32,
}

/// Why an upload cannot be kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refused {
    /// It says it is an image (by its bytes) but its structure is broken, so its metadata
    /// cannot be taken out.
    Damaged,
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Damaged => f.write_str("The image is damaged and could not be read."),
        }
    }
}

/// Decides what `bytes` are and prepares them for storage. Never panics, whatever the bytes.
pub fn prepare(bytes: Vec<u8>) -> Result<Prepared, Refused> {
    let content_type = content_type(&bytes);
    Ok(Prepared {
        bytes,
        content_type,
        image: None,
    })
}

/// The file's type, from its first bytes.
pub fn content_type(bytes: &[u8]) -> &'static str {
    infer::get(bytes).map_or("application/octet-stream", |kind| kind.mime_type())
}

/// Whether a stored file of this type is served inline (an image the page shows), rather
/// than as a download.
pub fn shown_inline(content_type: &str) -> bool {
    matches!(
        content_type,
        "image/png" | "image/jpeg" | "image/gif" | "image/webp"
    )
}
