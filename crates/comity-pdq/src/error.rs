use thiserror::Error;

/// Everything that can go wrong in this crate. Each variant has a stable [`PdqError::code`].
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum PdqError {
    #[error("a PDQ hash is 64 hexadecimal digits; got {0:?}")]
    BadHashText(String),
    #[error("pixel buffer holds {got} bytes but {width}x{height} RGB needs {want}")]
    PixelBufferSize {
        width: u32,
        height: u32,
        want: u64,
        got: u64,
    },
    #[error("the image is {width}x{height}; PDQ needs at least {min}x{min} pixels")]
    ImageTooSmall { width: u32, height: u32, min: u32 },
    #[error(
        "the image format is not recognised or not supported (PNG, JPEG, GIF, BMP, WebP, TIFF are)"
    )]
    UnsupportedFormat,
    #[error("the image exceeds the decoding limits ({0}); it may be a decompression bomb")]
    ImageTooLarge(String),
    #[error("the image file is corrupt or truncated: {0}")]
    CorruptImage(String),
    #[error("index file is damaged: {0}")]
    IndexFormat(String),
    #[error("index checksum does not match its contents; the file is damaged")]
    IndexChecksum,
    #[error("index holds {0} entries, more than the 4294967295 it can address")]
    IndexFull(u64),
    #[error("hash-list bytes are malformed at byte {offset}: {reason}")]
    ListFormat { offset: usize, reason: String },
    #[error("invalid {field}: {reason}")]
    ListField { field: &'static str, reason: String },
    #[error(
        "the signature on update {version} of list {list} does not verify under the publisher's key"
    )]
    ListSignature { list: String, version: u64 },
    #[error("update is for list {got}, not {want}")]
    ListMismatch { want: String, got: String },
    #[error("list {list} is at version {have}; update {got} leaves a gap (expected {})", have + 1)]
    ListGap { list: String, have: u64, got: u64 },
    #[error(
        "list {list} already has version {version} with a different digest: the publisher forked the list"
    )]
    ListFork { list: String, version: u64 },
    #[error(
        "update {got} of list {list} arrives after version {have}: it is stale or out of order"
    )]
    ListStale { list: String, have: u64, got: u64 },
    #[error("update {version} of list {list} does not chain to the previous version's digest")]
    ListChain { list: String, version: u64 },
    #[error("entry {entry} in update {version}: {reason}")]
    ListEntry {
        version: u64,
        entry: u64,
        reason: String,
    },
}

impl PdqError {
    /// A stable identifier for programs and translations; never changes once published.
    pub fn code(&self) -> &'static str {
        match self {
            Self::BadHashText(_) => "pdq.bad_hash",
            Self::PixelBufferSize { .. } => "pdq.pixel_buffer_size",
            Self::ImageTooSmall { .. } => "pdq.image_too_small",
            Self::UnsupportedFormat => "pdq.unsupported_format",
            Self::ImageTooLarge(_) => "pdq.image_too_large",
            Self::CorruptImage(_) => "pdq.corrupt_image",
            Self::IndexFormat(_) => "pdq.index_format",
            Self::IndexChecksum => "pdq.index_checksum",
            Self::IndexFull(_) => "pdq.index_full",
            Self::ListFormat { .. } => "pdq.list_format",
            Self::ListField { .. } => "pdq.list_field",
            Self::ListSignature { .. } => "pdq.list_signature",
            Self::ListMismatch { .. } => "pdq.list_mismatch",
            Self::ListGap { .. } => "pdq.list_gap",
            Self::ListFork { .. } => "pdq.list_fork",
            Self::ListStale { .. } => "pdq.list_stale",
            Self::ListChain { .. } => "pdq.list_chain",
            Self::ListEntry { .. } => "pdq.list_entry",
        }
    }
}
