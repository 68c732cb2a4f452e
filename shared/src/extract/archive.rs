//! Zip-based documents read under a zip-bomb guard: declared sizes are checked when the
//! archive opens, and inflated bytes are counted (and capped with `Read::take`) as they
//! are read, so an archive that lies about its sizes is stopped too.

use std::io::{Cursor, Read};

use zip::ZipArchive;

use super::{ExtractError, Limits};

/// Entries may inflate freely up to this size before the ratio limit applies: small,
/// very repetitive XML parts legitimately compress far better than 200:1.
const RATIO_GRACE_BYTES: u64 = 1024 * 1024;

/// An opened zip-based document with a budget of bytes left to inflate.
pub(crate) struct Archive<'a> {
    zip: ZipArchive<Cursor<&'a [u8]>>,
    format: &'static str,
    remaining: u64,
    max_ratio: u64,
    max_unpacked: u64,
}

impl<'a> Archive<'a> {
    /// Opens the archive and refuses it if its declared sizes already break the limits.
    pub(crate) fn open(
        bytes: &'a [u8],
        format: &'static str,
        limits: &Limits,
    ) -> Result<Self, ExtractError> {
        let mut zip = ZipArchive::new(Cursor::new(bytes))
            .map_err(|error| ExtractError::corrupt(format, error))?;
        if zip.len() > limits.max_zip_entries {
            return Err(ExtractError::TooManyEntries {
                entries: zip.len(),
                limit: limits.max_zip_entries,
            });
        }
        let mut declared = 0u64;
        for index in 0..zip.len() {
            let entry = zip
                .by_index_raw(index)
                .map_err(|error| ExtractError::corrupt(format, error))?;
            declared = declared.saturating_add(entry.size());
            if declared > limits.max_unpacked_bytes {
                return Err(ExtractError::UnpackedTooLarge {
                    limit: limits.max_unpacked_bytes,
                });
            }
            check_ratio(
                entry.size(),
                entry.compressed_size(),
                limits.max_compression_ratio,
            )?;
        }
        Ok(Self {
            zip,
            format,
            remaining: limits.max_unpacked_bytes,
            max_ratio: limits.max_compression_ratio,
            max_unpacked: limits.max_unpacked_bytes,
        })
    }

    /// The names of all entries, in archive order.
    pub(crate) fn names(&self) -> Vec<String> {
        self.zip
            .file_names()
            .filter_map(Result::ok)
            .map(Into::into)
            .collect()
    }

    /// Inflates one entry, or `None` when the archive has no such entry.
    pub(crate) fn read(&mut self, name: &str) -> Result<Option<Vec<u8>>, ExtractError> {
        let Some(index) = self.zip.index_for_name(name) else {
            return Ok(None);
        };
        let mut buffer = Vec::new();
        self.inflate(index, &mut buffer)?;
        Ok(Some(buffer))
    }

    /// Inflates every entry without keeping the bytes, for readers (calamine) that open
    /// the archive themselves: after this passes, whatever they inflate is within limits.
    pub(crate) fn verify_all(&mut self) -> Result<(), ExtractError> {
        let mut sink = std::io::sink();
        for index in 0..self.zip.len() {
            self.inflate(index, &mut sink)?;
        }
        Ok(())
    }

    fn inflate<W: std::io::Write>(
        &mut self,
        index: usize,
        out: &mut W,
    ) -> Result<(), ExtractError> {
        let format = self.format;
        let entry = self
            .zip
            .by_index(index)
            .map_err(|error| ExtractError::corrupt(format, error))?;
        if entry.is_dir() {
            return Ok(());
        }
        let ratio_cap = entry
            .compressed_size()
            .saturating_mul(self.max_ratio)
            .max(RATIO_GRACE_BYTES);
        let cap = ratio_cap.min(self.remaining);
        let compressed = entry.compressed_size();
        let written = std::io::copy(&mut entry.take(cap.saturating_add(1)), out)
            .map_err(|error| ExtractError::corrupt(format, error))?;
        if written > cap {
            return Err(if cap == self.remaining {
                ExtractError::UnpackedTooLarge {
                    limit: self.max_unpacked,
                }
            } else {
                ExtractError::CompressionRatio {
                    ratio: written / compressed.max(1),
                    limit: self.max_ratio,
                }
            });
        }
        self.remaining -= written;
        Ok(())
    }
}

fn check_ratio(size: u64, compressed: u64, limit: u64) -> Result<(), ExtractError> {
    if size > RATIO_GRACE_BYTES && size / compressed.max(1) > limit {
        return Err(ExtractError::CompressionRatio {
            ratio: size / compressed.max(1),
            limit,
        });
    }
    Ok(())
}
