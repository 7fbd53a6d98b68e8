//! The IDX reader under arbitrary bytes, truncations and bit flips of a real MNIST file:
//! always a clean `Err` with a message (or, where the bytes still form a valid file, data
//! consistent with its header), never a panic, memory bounded by the header cap.

use std::path::Path;

use proptest::prelude::*;
use reponet::data::{parse_idx_bytes, read_idx, IdxArray, MAX_ELEMENTS};

/// MNIST's real test labels, gzip'd (the built-in sample's file).
const LABELS_GZ: &[u8] = include_bytes!("../assets/mnist-sample/t10k-labels-idx1-ubyte.gz");

fn name() -> &'static Path {
    Path::new("fuzzed-idx1-ubyte")
}

fn labels_raw() -> Vec<u8> {
    let mut raw = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(LABELS_GZ), &mut raw).unwrap();
    raw
}

fn original() -> IdxArray {
    parse_idx_bytes(name(), LABELS_GZ).unwrap()
}

/// An `Ok` must be self-consistent; an `Err` must name the file and say something.
fn assert_sane(result: Result<IdxArray, reponet::data::DataError>) -> Option<IdxArray> {
    match result {
        Ok(a) => {
            assert_eq!(a.data.len(), a.dims.iter().product::<usize>());
            assert!((1..=4).contains(&a.dims.len()));
            Some(a)
        }
        Err(e) => {
            let msg = e.to_string();
            assert!(
                msg.starts_with("fuzzed-idx1-ubyte: ") && msg.len() > 25,
                "{msg}"
            );
            None
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        assert_sane(parse_idx_bytes(name(), &bytes));
    }

    #[test]
    fn arbitrary_bytes_after_a_valid_magic(
        ndim in 0u8..6,
        rest in proptest::collection::vec(any::<u8>(), 0..512),
    ) {
        let mut bytes = vec![0, 0, 8, ndim];
        bytes.extend(rest);
        assert_sane(parse_idx_bytes(name(), &bytes));
    }

    #[test]
    fn truncated_gzip_is_an_error(cut in 0usize..LABELS_GZ.len()) {
        prop_assert!(assert_sane(parse_idx_bytes(name(), &LABELS_GZ[..cut])).is_none());
    }

    #[test]
    fn truncated_raw_is_an_error(cut in 0usize..10_008) {
        let raw = labels_raw();
        prop_assert!(assert_sane(parse_idx_bytes(name(), &raw[..cut])).is_none());
    }

    /// gzip's CRC-32 catches every bit flip in the compressed data; a flip in the gzip
    /// header's free fields (time stamp, OS) leaves the content, so the same array is fine.
    #[test]
    fn bit_flip_in_gzip_is_an_error_or_harmless(at in 0usize..LABELS_GZ.len(), bit in 0u8..8) {
        let mut bytes = LABELS_GZ.to_vec();
        bytes[at] ^= 1 << bit;
        if let Some(a) = assert_sane(parse_idx_bytes(name(), &bytes)) {
            prop_assert_eq!(a, original());
        }
    }

    /// A raw file has no checksum: a flip in the header is an error or a consistent shape,
    /// one in the labels is a valid file (which `data verify`'s SHA-256 catches).
    #[test]
    fn bit_flip_in_raw_never_panics(at in 0usize..10_008, bit in 0u8..8) {
        let mut bytes = labels_raw();
        bytes[at] ^= 1 << bit;
        assert_sane(parse_idx_bytes(name(), &bytes));
    }
}

#[test]
fn huge_claims_fail_before_allocating() {
    // 4 dimensions of 65,535: 1.8e19 elements claimed by a 20-byte file.
    let mut bytes = vec![0, 0, 8, 4];
    for _ in 0..4 {
        bytes.extend(65_535u32.to_be_bytes());
    }
    let msg = parse_idx_bytes(name(), &bytes).unwrap_err().to_string();
    assert!(msg.contains("claim more than"), "{msg}");
    // Just above the cap, and a gzip bomb's worth of zeros is never inflated.
    let mut bytes = vec![0, 0, 8, 1];
    bytes.extend(((MAX_ELEMENTS + 1) as u32).to_be_bytes());
    assert!(parse_idx_bytes(name(), &bytes)
        .unwrap_err()
        .to_string()
        .contains("claim more than"));
}

#[test]
fn a_real_file_round_trips_from_disk() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t10k-labels-idx1-ubyte.gz");
    std::fs::write(&path, LABELS_GZ).unwrap();
    let a = read_idx(&path).unwrap();
    assert_eq!(a.dims, vec![10_000]);
    assert_eq!(a, original());
    // Label counts of MNIST's test set.
    let sevens = a.data.iter().filter(|&&l| l == 7).count();
    assert_eq!(sevens, 1028);
}
