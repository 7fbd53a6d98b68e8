//! The fetcher against a small HTTP server on 127.0.0.1 serving files the test writes:
//! a good file, a corrupt one, a connection cut mid-file (then resumed), a 404, and no server.

#![cfg(feature = "fetch")]

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::{Arc, Mutex};

use reponet::data::{
    fetch_dataset, sha256_hex, write_idx, Checksum, DataFile, DatasetInfo, FetchOptions,
    FetchProgress, FileStatus, Source,
};

/// What the server does for a path.
#[derive(Clone)]
enum Route {
    Serve(Vec<u8>),
    /// Announce the whole length, send only this many bytes, then close (once; later
    /// requests are served properly).
    CutOnce(Vec<u8>, usize),
}

#[derive(Default)]
struct Server {
    routes: Mutex<HashMap<String, Route>>,
    /// Every request's path and Range header.
    log: Mutex<Vec<(String, Option<String>)>>,
}

impl Server {
    fn start(routes: HashMap<String, Route>) -> (Arc<Self>, String) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/", listener.local_addr().unwrap());
        let server = Arc::new(Self {
            routes: Mutex::new(routes),
            log: Mutex::default(),
        });
        let s = server.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                s.handle(stream);
            }
        });
        (server, url)
    }

    fn handle(&self, mut stream: TcpStream) {
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).is_err() {
            return;
        }
        let path = request_line
            .split_whitespace()
            .nth(1)
            .unwrap_or("/")
            .to_string();
        let mut range = None;
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                break;
            }
            if let Some(v) = line.to_ascii_lowercase().strip_prefix("range: bytes=") {
                range = Some(v.trim().trim_end_matches('-').to_string());
            }
        }
        self.log.lock().unwrap().push((path.clone(), range.clone()));
        let route = self.routes.lock().unwrap().get(&path).cloned();
        let (body, cut) = match route {
            None => {
                let _ = stream.write_all(
                    b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
                );
                return;
            }
            Some(Route::Serve(b)) => (b, None),
            Some(Route::CutOnce(b, n)) => {
                self.routes
                    .lock()
                    .unwrap()
                    .insert(path, Route::Serve(b.clone()));
                (b, Some(n))
            }
        };
        let start: usize = range.and_then(|r| r.parse().ok()).unwrap_or(0);
        let status = if start > 0 {
            "206 Partial Content"
        } else {
            "200 OK"
        };
        let rest = &body[start.min(body.len())..];
        let head = format!(
            "HTTP/1.1 {status}\r\ncontent-length: {}\r\ncontent-range: bytes {start}-{}/{}\r\nconnection: close\r\n\r\n",
            rest.len(),
            body.len().saturating_sub(1),
            body.len()
        );
        let _ = stream.write_all(head.as_bytes());
        let _ = stream.write_all(&rest[..cut.unwrap_or(rest.len()).min(rest.len())]);
        let _ = stream.flush();
    }

    fn requests(&self) -> Vec<(String, Option<String>)> {
        self.log.lock().unwrap().clone()
    }
}

#[derive(Default)]
struct Recorder {
    begun: Vec<(String, Option<u64>, u64)>,
    bytes: u64,
}

impl FetchProgress for Recorder {
    fn begin(&mut self, name: &str, total: Option<u64>, done: u64) {
        self.begun.push((name.to_string(), total, done));
    }
    fn advance(&mut self, bytes: u64) {
        self.bytes += bytes;
    }
    fn end(&mut self) {}
    fn note(&mut self, _: &str) {}
}

const NAMES: [&str; 4] = [
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
];

/// A small MNIST-format dataset: its gzip'd files and a registry entry for them.
fn dataset(dir: &Path) -> (Vec<Vec<u8>>, DatasetInfo) {
    std::fs::create_dir_all(dir).unwrap();
    let (train, test) = (40usize, 10usize);
    let mut files = Vec::new();
    let mut shas = Vec::new();
    for (i, name) in NAMES.iter().enumerate() {
        let n = if i < 2 { train } else { test };
        let (dims, data): (Vec<usize>, Vec<u8>) = if i % 2 == 0 {
            (
                vec![n, 28, 28],
                (0..n * 784).map(|k| (k * 7 + i) as u8).collect(),
            )
        } else {
            (vec![n], (0..n).map(|k| (k % 10) as u8).collect())
        };
        let path = dir.join(format!("{name}.gz"));
        write_idx(&path, &dims, &data).unwrap();
        files.push(std::fs::read(&path).unwrap());
        let mut raw = Vec::new();
        flate2::read::GzDecoder::new(files[i].as_slice())
            .read_to_end(&mut raw)
            .unwrap();
        shas.push(&*String::leak(sha256_hex(&mut raw.as_slice()).unwrap()));
    }
    let mnist = *reponet::data::dataset("mnist").unwrap();
    let info = DatasetInfo {
        name: "tiny",
        train_images: train,
        test_images: test,
        files: Vec::leak(
            (0..4)
                .map(|i| DataFile {
                    name: NAMES[i],
                    checksum: Checksum::Decompressed(shas[i]),
                    format: reponet::data::FileFormat::Idx,
                })
                .collect(),
        ),
        source: Source::Files { mirrors: &[] },
        ..mnist
    };
    (files, info)
}

fn routes(files: &[Vec<u8>]) -> HashMap<String, Route> {
    NAMES
        .iter()
        .zip(files)
        .map(|(n, f)| (format!("/{n}.gz"), Route::Serve(f.clone())))
        .collect()
}

fn options(mirror: &str) -> FetchOptions {
    FetchOptions {
        mirror: Some(mirror.to_string()),
        ..FetchOptions::default()
    }
}

#[test]
fn good_files_are_fetched_verified_and_then_skipped() {
    let tmp = tempfile::tempdir().unwrap();
    let (files, info) = dataset(&tmp.path().join("src"));
    let (server, url) = Server::start(routes(&files));
    let dest = tmp.path().join("data/tiny");
    let mut progress = Recorder::default();
    let fetched = fetch_dataset(&info, &dest, &options(&url), &mut progress).unwrap();
    assert_eq!(fetched.len(), 4);
    for (f, bytes) in fetched.iter().zip(&files) {
        assert_eq!(f.status, FileStatus::Good);
        assert!(!f.already_present);
        assert_eq!(&std::fs::read(&f.path).unwrap(), bytes);
    }
    let total: u64 = files.iter().map(|f| f.len() as u64).sum();
    assert_eq!(progress.bytes, total);
    assert_eq!(progress.begun[0].1, Some(files[0].len() as u64));
    let leftovers: Vec<_> = std::fs::read_dir(&dest)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".part"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    // Again: everything is present and verified, nothing is requested.
    let before = server.requests().len();
    let again = fetch_dataset(&info, &dest, &options(&url), &mut Recorder::default()).unwrap();
    assert!(again.iter().all(|f| f.already_present));
    assert_eq!(server.requests().len(), before);
}

#[test]
fn a_corrupt_download_is_deleted_and_reported() {
    let tmp = tempfile::tempdir().unwrap();
    let (files, info) = dataset(&tmp.path().join("src"));
    let mut routes = routes(&files);
    // A different but well-formed file: only the checksum can tell.
    let other = tmp.path().join("other.gz");
    write_idx(&other, &[40], &[3u8; 40]).unwrap();
    routes.insert(
        "/train-labels-idx1-ubyte.gz".into(),
        Route::Serve(std::fs::read(&other).unwrap()),
    );
    let (_server, url) = Server::start(routes);
    let dest = tmp.path().join("data");
    let err = fetch_dataset(&info, &dest, &options(&url), &mut Recorder::default())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("train-labels-idx1-ubyte.gz: checksum mismatch"),
        "{err}"
    );
    assert!(
        err.contains(info.files[1].name) && err.contains("was deleted"),
        "{err}"
    );
    assert!(!dest.join("train-labels-idx1-ubyte.gz").exists());
    assert!(!dest.join("train-labels-idx1-ubyte.gz.part").exists());
    // The file before it was good and stays.
    assert!(dest.join("train-images-idx3-ubyte.gz").exists());
}

#[test]
fn a_cut_connection_resumes_with_a_range_request() {
    let tmp = tempfile::tempdir().unwrap();
    let (files, info) = dataset(&tmp.path().join("src"));
    let mut routes = routes(&files);
    let cut = files[0].len() / 3;
    routes.insert(
        "/train-images-idx3-ubyte.gz".into(),
        Route::CutOnce(files[0].clone(), cut),
    );
    let (server, url) = Server::start(routes);
    let dest = tmp.path().join("data");
    let err = fetch_dataset(&info, &dest, &options(&url), &mut Recorder::default())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("run the same command again to resume"),
        "{err}"
    );
    let part = dest.join("train-images-idx3-ubyte.gz.part");
    assert_eq!(std::fs::metadata(&part).unwrap().len(), cut as u64);
    assert!(!dest.join("train-images-idx3-ubyte.gz").exists());

    let mut progress = Recorder::default();
    let fetched = fetch_dataset(&info, &dest, &options(&url), &mut progress).unwrap();
    assert!(fetched.iter().all(|f| f.status == FileStatus::Good));
    assert_eq!(
        std::fs::read(dest.join("train-images-idx3-ubyte.gz")).unwrap(),
        files[0]
    );
    assert!(!part.exists());
    // The second request for the file asked only for the rest.
    let ranges: Vec<_> = server
        .requests()
        .into_iter()
        .filter(|(p, _)| p == "/train-images-idx3-ubyte.gz")
        .map(|(_, r)| r)
        .collect();
    assert_eq!(ranges, vec![None, Some(cut.to_string())]);
    assert_eq!(
        progress.begun[0],
        (
            "train-images-idx3-ubyte.gz".into(),
            Some(files[0].len() as u64),
            cut as u64
        )
    );
}

#[test]
fn not_found_and_offline_say_what_to_do() {
    let tmp = tempfile::tempdir().unwrap();
    let (files, info) = dataset(&tmp.path().join("src"));
    let mut routes = routes(&files);
    routes.remove("/t10k-labels-idx1-ubyte.gz");
    let (_server, url) = Server::start(routes);
    let dest = tmp.path().join("data");
    let err = fetch_dataset(&info, &dest, &options(&url), &mut Recorder::default())
        .unwrap_err()
        .to_string();
    assert!(err.contains("HTTP 404"), "{err}");
    assert!(
        err.contains(&format!("put the file(s) in {}", dest.display())),
        "{err}"
    );
    assert!(!dest.join("t10k-labels-idx1-ubyte.gz.part").exists());

    // Nothing listens on this port (bound, then closed).
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dest = tmp.path().join("offline");
    let err = fetch_dataset(
        &info,
        &dest,
        &options(&format!("http://127.0.0.1:{port}/")),
        &mut Recorder::default(),
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("could not download train-images-idx3-ubyte.gz"),
        "{err}"
    );
    assert!(err.contains("If this machine cannot reach them"), "{err}");
}

/// An EMNIST-style archive: `gzip/emnist-balanced-*.gz` members among others.
fn emnist_archive(tmp: &Path) -> (Vec<u8>, Vec<u8>) {
    use std::io::Cursor;
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    // Two 28x28 images, stored transposed as EMNIST stores them: a bar in row 3.
    let mut upright = vec![0u8; 2 * 784];
    for c in 0..28 {
        upright[3 * 28 + c] = 200;
        upright[784 + 3 * 28 + c] = 100;
    }
    let mut stored = vec![0u8; 2 * 784];
    for i in 0..2 {
        for r in 0..28 {
            for c in 0..28 {
                stored[i * 784 + c * 28 + r] = upright[i * 784 + r * 28 + c];
            }
        }
    }
    let members: [(&str, Vec<usize>, Vec<u8>); 5] = [
        (
            "emnist-letters-train-images-idx3-ubyte",
            vec![2, 28, 28],
            stored.clone(),
        ),
        (
            "emnist-balanced-train-images-idx3-ubyte",
            vec![2, 28, 28],
            stored.clone(),
        ),
        (
            "emnist-balanced-train-labels-idx1-ubyte",
            vec![2],
            vec![10, 46],
        ),
        (
            "emnist-balanced-test-images-idx3-ubyte",
            vec![2, 28, 28],
            stored,
        ),
        (
            "emnist-balanced-test-labels-idx1-ubyte",
            vec![2],
            vec![0, 9],
        ),
    ];
    for (name, dims, data) in members {
        let path = tmp.join(format!("{name}.gz"));
        write_idx(&path, &dims, &data).unwrap();
        zip.start_file(format!("gzip/{name}.gz"), options).unwrap();
        zip.write_all(&std::fs::read(&path).unwrap()).unwrap();
    }
    (zip.finish().unwrap().into_inner(), upright)
}

#[test]
fn emnist_members_are_extracted_from_the_streamed_archive() {
    use md5::Digest;
    let tmp = tempfile::tempdir().unwrap();
    let (archive, upright) = emnist_archive(tmp.path());
    let md5: String = md5::Md5::digest(&archive)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let (server, url) = Server::start(HashMap::from([(
        "/gzip.zip".to_string(),
        Route::Serve(archive),
    )]));
    let balanced = *reponet::data::dataset("emnist-balanced").unwrap();
    let Source::Zip { member_dir, .. } = balanced.source else {
        panic!("EMNIST is a zip")
    };
    let info = |md5: &'static str| DatasetInfo {
        train_images: 2,
        test_images: 2,
        source: Source::Zip {
            url: "https://example.invalid/gzip.zip",
            member_dir,
            md5,
        },
        ..balanced
    };

    // A wrong archive checksum: nothing is kept.
    let dest = tmp.path().join("bad");
    let err = fetch_dataset(
        &info("0".repeat(32).leak()),
        &dest,
        &options(&url),
        &mut Recorder::default(),
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("archive MD5 mismatch") && err.contains("nothing was kept"),
        "{err}"
    );
    assert_eq!(std::fs::read_dir(&dest).unwrap().count(), 0);

    let dest = tmp.path().join("emnist-balanced");
    let mut progress = Recorder::default();
    let fetched = fetch_dataset(&info(md5.leak()), &dest, &options(&url), &mut progress).unwrap();
    assert_eq!(fetched.len(), 4);
    assert!(fetched
        .iter()
        .all(|f| matches!(f.status, FileStatus::Unchecked(_))));
    assert_eq!(
        std::fs::read_dir(&dest).unwrap().count(),
        4,
        "only the split's files"
    );
    // One streamed download of the archive per fetch (the failed one, then this one).
    assert_eq!(server.requests(), vec![("/gzip.zip".to_string(), None); 2]);
    let set =
        reponet::data::load_split_from(&dest, &info("-"), reponet::data::DataSplit::Train).unwrap();
    assert_eq!(set.pixels, upright, "loaded upright");
    assert_eq!(set.labels, vec![10, 46]);
}

/// CIFAR-10's archive as the publishers lay it out, each batch one record (label b), and a
/// member the registry does not name (left in the archive).
fn cifar_archive() -> Vec<u8> {
    let mut tar = tar::Builder::new(flate2::write::GzEncoder::new(
        Vec::new(),
        flate2::Compression::fast(),
    ));
    let mut add = |name: &str, bytes: &[u8]| {
        let mut header = tar::Header::new_gnu();
        header.set_size(bytes.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        tar.append_data(&mut header, name, bytes).unwrap();
    };
    let record = |label: u8| {
        let mut r = vec![label];
        r.extend(std::iter::repeat_n(label * 20, 3072));
        r
    };
    for b in 1..=5u8 {
        add(
            &format!("cifar-10-batches-bin/data_batch_{b}.bin"),
            &record(b),
        );
    }
    add("cifar-10-batches-bin/test_batch.bin", &record(0));
    add(
        "cifar-10-batches-bin/batches.meta.txt",
        b"airplane\nautomobile\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n\n",
    );
    add("cifar-10-batches-bin/readme.html", b"<html></html>");
    tar.into_inner().unwrap().finish().unwrap()
}

#[test]
fn cifar_batches_are_extracted_from_the_streamed_tar_gz() {
    use md5::Digest;
    let tmp = tempfile::tempdir().unwrap();
    let archive = cifar_archive();
    let md5: String = md5::Md5::digest(&archive)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let (server, url) = Server::start(HashMap::from([(
        "/cifar-10-binary.tar.gz".to_string(),
        Route::Serve(archive),
    )]));
    let cifar10 = *reponet::data::dataset("cifar10").unwrap();
    let Source::TarGz { member_dir, .. } = cifar10.source else {
        panic!("CIFAR-10 is a tar.gz")
    };
    let info = |md5: &'static str| DatasetInfo {
        train_images: 5,
        test_images: 1,
        source: Source::TarGz {
            url: "https://example.invalid/cifar-10-binary.tar.gz",
            member_dir,
            md5,
        },
        ..cifar10
    };
    let dest = tmp.path().join("bad");
    let err = fetch_dataset(
        &info("0".repeat(32).leak()),
        &dest,
        &options(&url),
        &mut Recorder::default(),
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("archive MD5 mismatch"), "{err}");
    assert_eq!(std::fs::read_dir(&dest).unwrap().count(), 0);

    let dest = tmp.path().join("cifar10");
    let fetched = fetch_dataset(
        &info(md5.leak()),
        &dest,
        &options(&url),
        &mut Recorder::default(),
    )
    .unwrap();
    assert_eq!(fetched.len(), 7);
    assert!(fetched.iter().all(|f| f.status.is_ok()), "{fetched:?}");
    let mut kept: Vec<String> = std::fs::read_dir(&dest)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    kept.sort();
    assert_eq!(kept.len(), 7, "only the registry's files: {kept:?}");
    assert!(!kept.iter().any(|k| k.contains("readme")));
    assert_eq!(server.requests().len(), 2);
    let train =
        reponet::data::load_split_from(&dest, &info("-"), reponet::data::DataSplit::Train).unwrap();
    assert_eq!(train.labels, [1, 2, 3, 4, 5]);
    assert!(train.image(4).iter().all(|&p| p == 100));
    // Fetched again: every file present and verified, nothing downloaded.
    let again = fetch_dataset(&info("-"), &dest, &options(&url), &mut Recorder::default()).unwrap();
    assert!(again.iter().all(|f| f.already_present));
    assert_eq!(server.requests().len(), 2);
}
