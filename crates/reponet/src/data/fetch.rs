//! Downloading a dataset: resumable (HTTP Range), verified, moved into place atomically.
//!
//! Each file is downloaded to `NAME.gz.part` beside its final place. An interrupted download
//! keeps the part file, and the next fetch asks the server for the rest. A finished download
//! is verified (checksum, structure, count) before it is renamed to `NAME.gz`; one that
//! fails is deleted. EMNIST comes as one zip archive: its wanted members are extracted while
//! the archive streams past, and kept only if the archive's MD5 matches.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use md5::{Digest, Md5};

use super::folder::find_file;
use super::registry::{DataFile, DatasetInfo, Source};
use super::verify::{hex, verify_file, FileStatus};
use super::DataError;

/// How to download.
#[derive(Debug, Clone)]
pub struct FetchOptions {
    /// Base URL used instead of the registry's mirrors: files are fetched from
    /// `MIRROR/NAME.gz` (EMNIST: `MIRROR/gzip.zip`).
    pub mirror: Option<String>,
    /// Limit for connecting and for the server's first response.
    pub timeout: Duration,
}

impl Default for FetchOptions {
    fn default() -> Self {
        Self {
            mirror: None,
            timeout: Duration::from_secs(30),
        }
    }
}

/// Progress of a fetch, for a progress bar.
pub trait FetchProgress {
    /// A download starts; `total` bytes if known, `done` already on disk (resumed).
    fn begin(&mut self, name: &str, total: Option<u64>, done: u64);
    /// `bytes` more of the current download arrived.
    fn advance(&mut self, bytes: u64);
    /// The current download finished.
    fn end(&mut self);
    /// A line for the user (a skipped file, a retry on another mirror).
    fn note(&mut self, line: &str);
}

/// What happened to one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchedFile {
    /// The file's name in the registry.
    pub name: &'static str,
    /// Where it is on disk now.
    pub path: PathBuf,
    /// The file was present and verified already; nothing was downloaded.
    pub already_present: bool,
    /// How it verified.
    pub status: FileStatus,
}

/// Download `info` into `dest` (created if needed), skipping files that are already there
/// and verify; returns each file's outcome.
pub fn fetch_dataset(
    info: &DatasetInfo,
    dest: &Path,
    options: &FetchOptions,
    progress: &mut dyn FetchProgress,
) -> Result<Vec<FetchedFile>, DataError> {
    std::fs::create_dir_all(dest).map_err(|e| DataError::io(dest, e))?;
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_connect(Some(options.timeout))
        .timeout_recv_response(Some(options.timeout))
        .build()
        .into();
    let mut done = Vec::new();
    let mut wanted = Vec::new();
    for (file, items) in info.files_with_items() {
        if let Some(path) = find_file(dest, &file) {
            let status = verify_file(&path, &file, items);
            if status.is_ok() {
                progress.note(&format!("{}: present and verified", path.display()));
                done.push(FetchedFile {
                    name: file.name,
                    path,
                    already_present: true,
                    status,
                });
                continue;
            }
            progress.note(&format!(
                "{}: present but fails verification ({status:?}); downloading it again",
                path.display()
            ));
        }
        wanted.push((file, items));
    }
    if wanted.is_empty() {
        return Ok(done);
    }
    let downloaded = match info.source {
        Source::Files { mirrors } => {
            let mirrors: Vec<String> = match &options.mirror {
                Some(m) => vec![m.clone()],
                None => mirrors.iter().map(|m| m.to_string()).collect(),
            };
            let mut out = Vec::new();
            for (file, items) in wanted {
                out.push(fetch_file(&agent, &mirrors, dest, file, items, progress)?);
            }
            out
        }
        Source::Zip {
            url,
            member_dir,
            md5,
        } => {
            let url = match &options.mirror {
                Some(m) => join_url(m, url.rsplit('/').next().unwrap_or("gzip.zip")),
                None => url.to_string(),
            };
            let archive = Archive::Zip { member_dir };
            fetch_archive_members(&agent, &url, archive, md5, dest, &wanted, progress)?
        }
        Source::TarGz {
            url,
            member_dir,
            md5,
        } => {
            let url = match &options.mirror {
                Some(m) => join_url(m, url.rsplit('/').next().unwrap_or("data.tar.gz")),
                None => url.to_string(),
            };
            let archive = Archive::TarGz { member_dir };
            fetch_archive_members(&agent, &url, archive, md5, dest, &wanted, progress)?
        }
        Source::Embedded => Vec::new(),
    };
    done.extend(downloaded);
    Ok(done)
}

fn join_url(base: &str, name: &str) -> String {
    format!("{}/{name}", base.trim_end_matches('/'))
}

fn offline_hint(urls: &[String], dest: &Path) -> String {
    format!(
        "If this machine cannot reach them, download {} elsewhere and put the file(s) in {} \
         (raw or .gz); `reponet data verify` then checks them",
        urls.join(" or "),
        dest.display()
    )
}

/// One file from the first mirror that serves it, resumed if a part file exists.
fn fetch_file(
    agent: &ureq::Agent,
    mirrors: &[String],
    dest: &Path,
    file: DataFile,
    items: usize,
    progress: &mut dyn FetchProgress,
) -> Result<FetchedFile, DataError> {
    let gz_name = format!("{}.gz", file.name);
    let final_path = dest.join(&gz_name);
    let part = dest.join(format!("{gz_name}.part"));
    let urls: Vec<String> = mirrors.iter().map(|m| join_url(m, &gz_name)).collect();
    let mut failures = Vec::new();
    for url in &urls {
        match download_resumable(agent, url, &part, &gz_name, progress) {
            Ok(()) => {
                failures.clear();
                break;
            }
            Err(e) => {
                progress.note(&format!("{url}: {e}"));
                failures.push(format!("{url}: {e}"));
            }
        }
    }
    if !failures.is_empty() {
        let kept = match part.metadata() {
            Ok(m) if m.len() > 0 => format!(
                " The {} bytes received are kept in {}: run the same command again to resume.",
                m.len(),
                part.display()
            ),
            _ => String::new(),
        };
        return Err(DataError::Download(format!(
            "could not download {gz_name}: {}.{kept} {}",
            failures.join("; "),
            offline_hint(&urls, dest)
        )));
    }
    finish(&part, &final_path, file, items)
}

/// Verify a finished part file and rename it into place, or delete it and say why.
fn finish(
    part: &Path,
    final_path: &Path,
    file: DataFile,
    items: usize,
) -> Result<FetchedFile, DataError> {
    let status = verify_file(part, &file, items);
    let deleted = "; the downloaded file was deleted: run the command again, or try --mirror";
    match &status {
        FileStatus::Good | FileStatus::Unchecked(_) => {
            std::fs::rename(part, final_path).map_err(|e| DataError::io(final_path, e))?;
            Ok(FetchedFile {
                name: file.name,
                path: final_path.to_path_buf(),
                already_present: false,
                status,
            })
        }
        FileStatus::Mismatch { expected, found } => {
            let _ = std::fs::remove_file(part);
            Err(DataError::Checksum {
                path: final_path.to_path_buf(),
                expected: expected.clone(),
                found: found.clone(),
                note: deleted.into(),
            })
        }
        FileStatus::Corrupt(problem) => {
            let _ = std::fs::remove_file(part);
            Err(DataError::format(final_path, format!("{problem}{deleted}")))
        }
        FileStatus::Missing => Err(DataError::format(part, "download vanished")),
    }
}

/// GET `url` into `part`, asking only for the bytes not yet there (HTTP Range).
fn download_resumable(
    agent: &ureq::Agent,
    url: &str,
    part: &Path,
    name: &str,
    progress: &mut dyn FetchProgress,
) -> Result<(), String> {
    let have = part.metadata().map(|m| m.len()).unwrap_or(0);
    let mut request = agent.get(url);
    if have > 0 {
        request = request.header("Range", format!("bytes={have}-"));
    }
    let response = request.call().map_err(|e| e.to_string())?;
    let status = response.status().as_u16();
    let length = response
        .headers()
        .get("content-length")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let (mut file, start) = match status {
        206 if have > 0 => {
            let file = OpenOptions::new().append(true).open(part);
            (file.map_err(|e| format!("{}: {e}", part.display()))?, have)
        }
        200 => (
            File::create(part).map_err(|e| format!("{}: {e}", part.display()))?,
            0,
        ),
        // The part file already holds the whole file; verification decides.
        416 if have > 0 => return Ok(()),
        _ => {
            return Err(format!(
                "HTTP {status} {}",
                response.status().canonical_reason().unwrap_or("")
            ))
        }
    };
    let total = length.map(|l| l + start);
    progress.begin(name, total, start);
    let mut body = response.into_body().into_reader();
    let mut received = start;
    let mut buf = vec![0u8; 1 << 16];
    let outcome = loop {
        match body.read(&mut buf) {
            Ok(0) => break Ok(()),
            Ok(n) => {
                if let Err(e) = file.write_all(&buf[..n]) {
                    break Err(format!("writing {}: {e}", part.display()));
                }
                received += n as u64;
                progress.advance(n as u64);
            }
            Err(e) => break Err(format!("interrupted after {received} bytes: {e}")),
        }
    };
    progress.end();
    file.sync_all()
        .map_err(|e| format!("writing {}: {e}", part.display()))?;
    outcome?;
    match total {
        Some(t) if received < t => Err(format!("connection closed after {received} of {t} bytes")),
        _ => Ok(()),
    }
}

/// Counts, hashes and reports the bytes read through it.
struct Hashing<'a, R> {
    inner: R,
    md5: Md5,
    progress: &'a mut dyn FetchProgress,
}

impl<R: Read> Read for Hashing<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.md5.update(&buf[..n]);
        self.progress.advance(n as u64);
        Ok(n)
    }
}

/// An archive whose members are the dataset's files.
#[derive(Debug, Clone, Copy)]
enum Archive {
    /// A zip of gzip'd IDX files (`<member_dir><name>.gz`), kept gzip'd.
    Zip { member_dir: &'static str },
    /// A gzip'd tar of the files themselves (`<member_dir><name>`).
    TarGz { member_dir: &'static str },
}

impl Archive {
    /// The member holding `file`, and the name it is kept under.
    fn member_and_kept(self, file: &DataFile) -> (String, String) {
        match self {
            Self::Zip { member_dir } => (
                format!("{member_dir}{}.gz", file.name),
                format!("{}.gz", file.name),
            ),
            Self::TarGz { member_dir } => (format!("{member_dir}{}", file.name), file.name.into()),
        }
    }
}

/// Stream the archive at `url`, extracting the wanted members to part files; keep them only
/// if the archive's MD5 matches and each member verifies.
fn fetch_archive_members(
    agent: &ureq::Agent,
    url: &str,
    archive: Archive,
    md5: &str,
    dest: &Path,
    wanted: &[(DataFile, usize)],
    progress: &mut dyn FetchProgress,
) -> Result<Vec<FetchedFile>, DataError> {
    let fail = |e: String| {
        DataError::Download(format!(
            "could not download {url}: {e}. {}",
            offline_hint(&[url.to_string()], dest)
        ))
    };
    let response = agent.get(url).call().map_err(|e| fail(e.to_string()))?;
    if response.status().as_u16() != 200 {
        return Err(fail(format!("HTTP {}", response.status())));
    }
    let total = response
        .headers()
        .get("content-length")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    progress.begin(url.rsplit('/').next().unwrap_or(url), total, 0);
    let mut stream = Hashing {
        inner: response.into_body().into_reader(),
        md5: Md5::new(),
        progress,
    };
    let part_of = |file: &DataFile| {
        let (_, kept) = archive.member_and_kept(file);
        dest.join(format!("{kept}.part"))
    };
    let mut extracted = Vec::new();
    // A member: to its part file if wanted, else skipped. Only regular files named exactly
    // as the registry's members are written, so no path in the archive reaches the disk.
    let mut take = |name: &str, entry: &mut dyn Read| -> Result<(), String> {
        match wanted
            .iter()
            .find(|(f, _)| archive.member_and_kept(f).0 == name)
        {
            Some((file, _)) => {
                let part = part_of(file);
                let mut out =
                    File::create(&part).map_err(|e| format!("{}: {e}", part.display()))?;
                std::io::copy(entry, &mut out).map_err(|e| format!("{name}: {e}"))?;
                out.sync_all()
                    .map_err(|e| format!("{}: {e}", part.display()))?;
                extracted.push(file.name);
            }
            None => {
                std::io::copy(entry, &mut std::io::sink()).map_err(|e| format!("{name}: {e}"))?;
            }
        }
        Ok(())
    };
    let result = (|| -> Result<(), String> {
        match archive {
            Archive::Zip { .. } => {
                while let Some(mut entry) =
                    zip::read::read_zipfile_from_stream(&mut stream).map_err(|e| e.to_string())?
                {
                    let name = entry.name().to_string();
                    take(&name, &mut entry)?;
                }
            }
            Archive::TarGz { .. } => {
                let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(&mut stream));
                for entry in tar.entries().map_err(|e| e.to_string())? {
                    let mut entry = entry.map_err(|e| e.to_string())?;
                    let regular = entry.header().entry_type().is_file();
                    let name = entry
                        .path()
                        .map_err(|e| e.to_string())?
                        .to_string_lossy()
                        .into_owned();
                    if regular {
                        take(&name, &mut entry)?;
                    }
                }
            }
        }
        // What follows the last member (zip's central directory, tar's padding): read it
        // too, so the MD5 covers the whole archive.
        std::io::copy(&mut stream, &mut std::io::sink()).map_err(|e| e.to_string())?;
        Ok(())
    })();
    stream.progress.end();
    let found_md5 = hex(&stream.md5.finalize());
    let remove_parts = || {
        for (file, _) in wanted {
            let _ = std::fs::remove_file(part_of(file));
        }
    };
    if let Err(e) = result {
        remove_parts();
        return Err(fail(format!(
            "{e} (an interrupted archive download starts again from the beginning)"
        )));
    }
    if found_md5 != md5 {
        remove_parts();
        return Err(DataError::Download(format!(
            "{url}: archive MD5 mismatch: expected {md5}, found {found_md5}; nothing was kept"
        )));
    }
    let mut out = Vec::new();
    for (file, items) in wanted {
        let (member, kept) = archive.member_and_kept(file);
        if !extracted.contains(&file.name) {
            remove_parts();
            return Err(DataError::Download(format!(
                "{url}: the archive has no member {member}"
            )));
        }
        let final_path = dest.join(kept);
        out.push(finish(&part_of(file), &final_path, *file, *items)?);
    }
    Ok(out)
}
