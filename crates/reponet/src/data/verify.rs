//! Checking a dataset's files against the registry: checksums, structure, counts.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::cifar::CIFAR_IMAGE_BYTES;
use super::folder::find_file;
use super::idx::{decompressed, parse_idx_bytes, MAX_ELEMENTS};
use super::registry::{Checksum, DataFile, DatasetInfo, FileFormat};
use super::DataError;

/// What verifying one file found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileStatus {
    /// The registry's SHA-256 matched, and the structure and count are right.
    Good,
    /// Structure and count are right; no checksum could be compared (why).
    Unchecked(String),
    /// The SHA-256 differs from the registry's.
    Mismatch {
        /// The registry's hash.
        expected: String,
        /// The file's hash.
        found: String,
    },
    /// Unreadable, malformed, or the wrong count (what is wrong).
    Corrupt(String),
    /// No such file.
    Missing,
}

impl FileStatus {
    /// Whether nothing is known to be wrong.
    pub fn is_ok(&self) -> bool {
        matches!(self, Self::Good | Self::Unchecked(_))
    }
}

/// One file's verification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileCheck {
    /// The registry's file name.
    pub file: &'static str,
    /// Where it was found, if anywhere.
    pub path: Option<PathBuf>,
    /// What the check found.
    pub status: FileStatus,
}

/// SHA-256 of everything `reader` yields, as lower-case hex.
pub fn sha256_hex(reader: &mut dyn Read) -> std::io::Result<String> {
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        match reader.read(&mut buf)? {
            0 => break,
            n => hasher.update(&buf[..n]),
        }
    }
    Ok(hex(&hasher.finalize()))
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Verify the file of `file` at `path`: checksum as the registry states it, IDX structure,
/// and the number of items (`expected_items`) in its first dimension.
pub fn verify_file(path: &Path, file: &DataFile, expected_items: usize) -> FileStatus {
    match check(path, file, expected_items) {
        Ok(status) => status,
        Err(e) => FileStatus::Corrupt(e.to_string()),
    }
}

fn check(path: &Path, file: &DataFile, expected_items: usize) -> Result<FileStatus, DataError> {
    let io = |e| DataError::io(path, e);
    if file.format != FileFormat::Idx {
        return check_counted(path, file, expected_items);
    }
    let raw = File::open(path).map_err(io)?;
    // Decompressed content, bounded so that a gzip bomb cannot exhaust memory.
    let mut content = Vec::new();
    decompressed(BufReader::new(raw))
        .map_err(io)?
        .take(MAX_ELEMENTS + 64)
        .read_to_end(&mut content)
        .map_err(|e| DataError::format(path, format!("corrupt or truncated: {e}")))?;
    let array = parse_idx_bytes(path, &content)?;
    if array.dims[0] != expected_items {
        return Ok(FileStatus::Corrupt(format!(
            "{} items, expected {expected_items}",
            array.dims[0]
        )));
    }
    let is_gz = content.len() as u64 != std::fs::metadata(path).map_err(io)?.len();
    let (expected, found) = match file.checksum {
        Checksum::Decompressed(sha) => (sha, sha256_hex(&mut content.as_slice()).map_err(io)?),
        Checksum::Download(sha) if is_gz => {
            let found = sha256_hex(&mut BufReader::new(File::open(path).map_err(io)?));
            (sha, found.map_err(io)?)
        }
        Checksum::Download(_) => {
            return Ok(FileStatus::Unchecked(
                "stored decompressed; the published SHA-256 is of the .gz".into(),
            ))
        }
        Checksum::Unknown => {
            return Ok(FileStatus::Unchecked(
                "no published SHA-256; structure and count checked".into(),
            ))
        }
    };
    Ok(if found == expected {
        FileStatus::Good
    } else {
        FileStatus::Mismatch {
            expected: expected.into(),
            found,
        }
    })
}

/// A CIFAR batch (whole records) or a names file (one a line), counted.
fn check_counted(
    path: &Path,
    file: &DataFile,
    expected_items: usize,
) -> Result<FileStatus, DataError> {
    let io = |e| DataError::io(path, e);
    let items = match file.format {
        FileFormat::CifarRecords { label_bytes } => {
            let record = (label_bytes + CIFAR_IMAGE_BYTES) as u64;
            let len = std::fs::metadata(path).map_err(io)?.len();
            if !len.is_multiple_of(record) {
                return Ok(FileStatus::Corrupt(format!(
                    "{len} bytes is not a whole number of {record}-byte records: truncated"
                )));
            }
            (len / record) as usize
        }
        _ => std::fs::read_to_string(path)
            .map_err(io)?
            .lines()
            .filter(|l| !l.trim().is_empty())
            .count(),
    };
    if items != expected_items {
        return Ok(FileStatus::Corrupt(format!(
            "{items} items, expected {expected_items}"
        )));
    }
    Ok(match file.checksum {
        Checksum::Unknown => FileStatus::Unchecked(
            "no published SHA-256 of the file (the archive's MD5 is checked when fetched); size and count checked".into(),
        ),
        _ => FileStatus::Unchecked("size and count checked".into()),
    })
}

/// Verify every file of `info` in `dir`.
pub fn verify_dataset(dir: &Path, info: &DatasetInfo) -> Vec<FileCheck> {
    info.files_with_items()
        .iter()
        .map(|(file, items)| {
            let path = find_file(dir, file);
            let status = match &path {
                Some(p) => verify_file(p, file, *items),
                None => FileStatus::Missing,
            };
            FileCheck {
                file: file.name,
                path,
                status,
            }
        })
        .collect()
}
