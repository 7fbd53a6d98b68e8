use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use indicatif::{ProgressBar, ProgressStyle};
use reponet::data::{
    dataset, fetch_dataset, verify_dataset, Checksum, DataRoot, DatasetInfo, FetchOptions,
    FetchProgress, FileStatus, Source, DATASETS,
};

/// Get, list and check datasets.
///
/// Datasets live under a data root: --data-dir if given, else $REPONET_DATA, else the
/// platform's cache directory (~/.cache/reponet on Linux); dataset NAME in ROOT/NAME.
/// Debian's dataset-fashion-mnist package (/usr/share/datasets/fashion-mnist) is found too.
///   reponet data list
///   reponet data fetch mnist fashion-mnist
///   reponet data verify mnist
/// mnist-sample is built in and needs no fetching.
#[derive(clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {
    #[command(subcommand)]
    command: DataCommand,
}

#[derive(clap::Subcommand)]
enum DataCommand {
    /// Download datasets, verify their checksums and move them into place.
    ///
    /// Interrupted downloads resume where they stopped when run again (HTTP Range). A file
    /// whose checksum fails is deleted. EMNIST comes as NIST's 562 MB zip archive; only the
    /// wanted split's files are kept.
    Fetch {
        /// Dataset names (see `reponet data list`).
        #[arg(required = true)]
        names: Vec<String>,
        /// Data root to fetch into (NAME/ is created inside).
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// Download from this base URL instead of the registry's mirrors: files are fetched
        /// as MIRROR/FILE.gz (EMNIST: MIRROR/gzip.zip).
        #[arg(long)]
        mirror: Option<String>,
    },
    /// The datasets reponet knows, and which of them are present where.
    List {
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
    /// Check present datasets' files: checksum, IDX structure, image counts.
    Verify {
        /// Datasets to check [default: every one that is present].
        names: Vec<String>,
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
}

pub fn run(args: Args) -> Result<()> {
    match args.command {
        DataCommand::Fetch {
            names,
            data_dir,
            mirror,
        } => fetch(&names, data_dir, mirror),
        DataCommand::List { data_dir } => list(data_dir),
        DataCommand::Verify { names, data_dir } => verify(&names, data_dir),
    }
}

fn fetch(names: &[String], data_dir: Option<PathBuf>, mirror: Option<String>) -> Result<()> {
    let infos = names
        .iter()
        .map(|n| dataset(n))
        .collect::<Result<Vec<_>, _>>()?;
    let root = DataRoot::resolve(data_dir.as_deref())?;
    let options = FetchOptions {
        mirror,
        ..FetchOptions::default()
    };
    for info in infos {
        if info.source == Source::Embedded {
            println!("{}: built in, nothing to fetch", info.name);
            continue;
        }
        let dest = root.dataset_dir(info);
        println!("{} -> {}", info.name, dest.display());
        let files = fetch_dataset(info, &dest, &options, &mut DownloadBar::default())?;
        for f in files {
            let how = if f.already_present {
                "already present"
            } else {
                "downloaded"
            };
            println!("  {} {how}, {}", f.path.display(), describe(&f.status));
        }
    }
    Ok(())
}

fn describe(status: &FileStatus) -> String {
    match status {
        FileStatus::Good => "checksum good".into(),
        FileStatus::Unchecked(why) => format!("not checksummed: {why}"),
        FileStatus::Mismatch { expected, found } => {
            format!("CHECKSUM MISMATCH: expected {expected}, found {found}")
        }
        FileStatus::Corrupt(problem) => format!("BAD: {problem}"),
        FileStatus::Missing => "missing".into(),
    }
}

fn list(data_dir: Option<PathBuf>) -> Result<()> {
    let root = DataRoot::resolve(data_dir.as_deref())?;
    println!("data root: {root}");
    println!(
        "{:<16} {:>7} {:>8} {:>7}  {:<40} where",
        "dataset", "classes", "train", "test", "title"
    );
    for info in DATASETS {
        let place = match info.source {
            Source::Embedded => "built in".to_string(),
            _ => match root.find(info) {
                Some(dir) => dir.display().to_string(),
                None => "not present (reponet data fetch ".to_string() + info.name + ")",
            },
        };
        println!(
            "{:<16} {:>7} {:>8} {:>7}  {:<40} {place}",
            info.name,
            info.classes(),
            info.train_images,
            info.test_images,
            truncate(info.title, 40),
        );
    }
    Ok(())
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        s.chars().take(n - 1).collect::<String>() + "…"
    }
}

fn verify(names: &[String], data_dir: Option<PathBuf>) -> Result<()> {
    let root = DataRoot::resolve(data_dir.as_deref())?;
    let chosen: Vec<&DatasetInfo> = if names.is_empty() {
        DATASETS
            .iter()
            .filter(|d| d.source != Source::Embedded && root.find(d).is_some())
            .collect()
    } else {
        names
            .iter()
            .map(|n| dataset(n))
            .collect::<Result<Vec<_>, _>>()?
    };
    if chosen.is_empty() {
        println!("no dataset present under {root}; fetch one with `reponet data fetch mnist`");
        return Ok(());
    }
    let mut failures = 0;
    for info in chosen {
        if info.source == Source::Embedded {
            println!("{}: built in (compiled into reponet)", info.name);
            continue;
        }
        let Some(dir) = root.find(info) else {
            println!("{}: not present under {root}", info.name);
            failures += 1;
            continue;
        };
        let started = Instant::now();
        let checks = verify_dataset(&dir, info);
        println!(
            "{} in {} ({:.2} s)",
            info.name,
            dir.display(),
            started.elapsed().as_secs_f64()
        );
        for (check, file) in checks.iter().zip(&info.files) {
            let kind = match file.checksum {
                Checksum::Decompressed(_) => "SHA-256 of the IDX content",
                Checksum::Download(_) => "SHA-256 of the .gz",
                Checksum::Unknown => "no checksum",
            };
            let path = check
                .path
                .as_ref()
                .map_or(check.file.to_string(), |p| p.display().to_string());
            println!(
                "  {:<4} {path}: {} ({kind})",
                mark(&check.status),
                describe(&check.status)
            );
            if !check.status.is_ok() {
                failures += 1;
            }
        }
    }
    if failures > 0 {
        bail!("{failures} file(s) missing or failed verification");
    }
    Ok(())
}

fn mark(status: &FileStatus) -> &'static str {
    match status {
        FileStatus::Good => "ok",
        FileStatus::Unchecked(_) => "ok?",
        _ => "FAIL",
    }
}

/// A byte progress bar on a terminal; a line every 10 s otherwise.
#[derive(Default)]
struct DownloadBar {
    bar: Option<ProgressBar>,
    name: String,
    total: Option<u64>,
    done: u64,
    last_line: Option<Instant>,
}

impl FetchProgress for DownloadBar {
    fn begin(&mut self, name: &str, total: Option<u64>, done: u64) {
        self.name = name.to_string();
        (self.total, self.done) = (total, done);
        if done > 0 {
            println!("  {name}: resuming after {done} bytes");
        }
        if std::io::stderr().is_terminal() {
            let bar = ProgressBar::new(total.unwrap_or(0));
            bar.set_style(
                ProgressStyle::with_template(
                    "  {prefix} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} (eta {eta})",
                )
                .expect("valid template")
                .progress_chars("=> "),
            );
            bar.set_prefix(name.to_string());
            bar.set_position(done);
            self.bar = Some(bar);
        }
        self.last_line = Some(Instant::now());
    }

    fn advance(&mut self, bytes: u64) {
        self.done += bytes;
        if let Some(bar) = &self.bar {
            bar.inc(bytes);
        } else if self
            .last_line
            .is_some_and(|t| t.elapsed() > Duration::from_secs(10))
        {
            let total = self.total.map_or("?".into(), |t| t.to_string());
            println!("  {}: {} of {total} bytes", self.name, self.done);
            self.last_line = Some(Instant::now());
        }
    }

    fn end(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }

    fn note(&mut self, line: &str) {
        println!("  {line}");
    }
}
