use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

use flate2::read::GzDecoder;

use super::DataError;

/// Type code of unsigned bytes, the only element type MNIST-family files use.
const U8_TYPE: u8 = 0x08;
/// Refuse headers that claim more than this many elements (1 GiB) before reading any data;
/// the largest known file (EMNIST byclass, training images) holds 547 million.
pub const MAX_ELEMENTS: u64 = 1 << 30;

/// An IDX array of unsigned bytes: its dimensions and its row-major data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdxArray {
    /// Size of each dimension, outermost first.
    pub dims: Vec<usize>,
    /// The values, row-major.
    pub data: Vec<u8>,
}

/// Read an IDX file of `u8`, raw or gzip'd (detected by the gzip magic, not the name).
///
/// Checks the magic (two zero bytes, type 0x08, 1..=4 dimensions), that the dimensions claim
/// at most [`MAX_ELEMENTS`] and that the payload is exactly their product; a gzip'd file must
/// also pass its CRC. Every error names the file and says what was expected and found.
pub fn read_idx(path: &Path) -> Result<IdxArray, DataError> {
    read_idx_checked(path, |_| Ok(()))
}

/// [`read_idx`], with `check` judging the dimensions before any data is read (so a header
/// that claims the wrong shape fails before a large allocation).
pub fn read_idx_checked(
    path: &Path,
    check: impl Fn(&[usize]) -> Result<(), String>,
) -> Result<IdxArray, DataError> {
    let io = |source| DataError::Io {
        path: path.to_path_buf(),
        source,
    };
    let file = BufReader::new(File::open(path).map_err(io)?);
    let mut reader = decompressed(file).map_err(io)?;
    parse(path, &mut reader, &check)
}

/// Parse IDX bytes held in memory (raw or gzip'd); `name` stands for the file in errors.
pub fn parse_idx_bytes(name: &Path, bytes: &[u8]) -> Result<IdxArray, DataError> {
    let mut reader = decompressed(bytes).map_err(|source| DataError::Io {
        path: name.to_path_buf(),
        source,
    })?;
    parse(name, &mut reader, &|_| Ok(()))
}

/// `reader`, gunzipped when it starts with the gzip magic.
pub(crate) fn decompressed<'a, R: std::io::BufRead + 'a>(
    mut reader: R,
) -> std::io::Result<Box<dyn Read + 'a>> {
    let head = reader.fill_buf()?;
    Ok(if head.starts_with(&[0x1f, 0x8b]) {
        Box::new(GzDecoder::new(reader))
    } else {
        Box::new(reader)
    })
}

fn parse(
    path: &Path,
    reader: &mut dyn Read,
    check: &dyn Fn(&[usize]) -> Result<(), String>,
) -> Result<IdxArray, DataError> {
    let bad = |problem: String| DataError::format(path, problem);
    let mut header = [0u8; 4];
    let got = read_full(reader, &mut header)
        .map_err(|e| bad(format!("corrupt or truncated header: {e}")))?;
    if got < 4 {
        return Err(bad(format!(
            "file too short for an IDX header ({got} bytes)"
        )));
    }
    if header[0] != 0 || header[1] != 0 {
        return Err(bad(format!(
            "not an IDX file: magic starts {:02x} {:02x}, expected 00 00",
            header[0], header[1]
        )));
    }
    if header[2] != U8_TYPE {
        return Err(bad(format!(
            "element type 0x{:02x}, expected 0x08 (unsigned byte)",
            header[2]
        )));
    }
    let ndim = header[3] as usize;
    if !(1..=4).contains(&ndim) {
        return Err(bad(format!("{ndim} dimensions, expected 1 to 4")));
    }
    let mut dim_bytes = vec![0u8; 4 * ndim];
    if read_full(reader, &mut dim_bytes)
        .map_err(|e| bad(format!("corrupt or truncated dimensions: {e}")))?
        < dim_bytes.len()
    {
        return Err(bad("truncated in the dimension header".into()));
    }
    let dims: Vec<usize> = dim_bytes
        .chunks(4)
        .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]) as usize)
        .collect();
    let total = dims
        .iter()
        .try_fold(1u64, |acc, &d| acc.checked_mul(d as u64));
    let total = match total {
        Some(t) if t <= MAX_ELEMENTS => t as usize,
        _ => {
            return Err(bad(format!(
                "dimensions {dims:?} claim more than {MAX_ELEMENTS} elements"
            )))
        }
    };
    check(&dims).map_err(bad)?;
    crate::resources::ensure_fits(total as u64)
        .map_err(|short| bad(format!("too large for this machine: its data {short}")))?;
    // Read one byte past the payload to detect trailing garbage without trusting the header
    // for the allocation size beyond what is actually there.
    let mut data = Vec::new();
    reader
        .take(total as u64 + 1)
        .read_to_end(&mut data)
        .map_err(|e| bad(format!("corrupt or truncated data: {e}")))?;
    if data.len() < total {
        return Err(bad(format!(
            "truncated: dimensions {dims:?} need {total} bytes of data, found {}",
            data.len()
        )));
    }
    if data.len() > total {
        return Err(bad(format!(
            "{} bytes of data expected for dimensions {dims:?}, but the file is longer",
            total
        )));
    }
    Ok(IdxArray { dims, data })
}

/// Write an IDX file of `u8` (gzip'd when the name ends in `.gz`), atomically.
///
/// `data.len()` must equal the product of `dims`.
pub fn write_idx(path: &Path, dims: &[usize], data: &[u8]) -> Result<(), DataError> {
    let expected: usize = dims.iter().product();
    if data.len() != expected || dims.is_empty() || dims.len() > 4 {
        return Err(DataError::format(
            path,
            format!("cannot write {} bytes as dimensions {dims:?}", data.len()),
        ));
    }
    let mut bytes = vec![0, 0, U8_TYPE, dims.len() as u8];
    for &d in dims {
        let d = u32::try_from(d)
            .map_err(|_| DataError::format(path, format!("dimension {d} exceeds u32")))?;
        bytes.extend(d.to_be_bytes());
    }
    bytes.extend_from_slice(data);
    if path.extension().is_some_and(|e| e == "gz") {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut gz, &bytes)
            .and_then(|_| gz.finish().map(|b| bytes = b))
            .map_err(|source| DataError::Io {
                path: path.to_path_buf(),
                source,
            })?;
    }
    crate::atomic_file::write_atomic(path, &bytes).map_err(|source| DataError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// Fill `buf` as far as the reader allows; returns how many bytes were read.
fn read_full(reader: &mut dyn Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..])? {
            0 => break,
            n => filled += n,
        }
    }
    Ok(filled)
}
