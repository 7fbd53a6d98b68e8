use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use indicatif::{ProgressBar, ProgressStyle};
use reponet::data::{
    dataset, fetch_dataset, locate_dataset, verify_dataset, write_image_folder, Checksum, DataRoot,
    DataSplit, DatasetInfo, FetchOptions, FetchProgress, FileStatus, FolderLayout, FolderOptions,
    ImageFolder, Source, DATASETS, FOLDER_PREFIX,
};
use serde_json::json;

use crate::commands::folder_args::FolderArgs;
use crate::context::{Ctx, Output, Verbosity};

/// Get, list and check datasets.
///
/// Datasets live under a data root: --data-dir if given, else $REPONET_DATA, else the
/// platform's cache directory (~/.cache/reponet on Linux); dataset NAME in ROOT/NAME.
/// Debian's dataset-fashion-mnist package (/usr/share/datasets/fashion-mnist) is found too.
///   reponet data list
///   reponet data fetch mnist fashion-mnist
///   reponet data verify mnist
///   reponet data check folder:photos
///   reponet data to-folder fashion-mnist --out fashion-png
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
        /// Data root to list [default: $REPONET_DATA, then the cache directory].
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
    /// Check present datasets' files: checksum, IDX structure, image counts.
    Verify {
        /// Datasets to check [default: every one that is present].
        names: Vec<String>,
        /// Data root to check [default: $REPONET_DATA, then the cache directory].
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
    /// Check a folder dataset of your own: decode every image and report its classes, images
    /// per class and split, sizes, colour, unreadable files and ignored files.
    ///
    /// Fails (exit 1) if an image does not decode; train with --skip-bad-images to leave
    /// such files out. The options are train's, and give the split and shape training uses.
    Check {
        /// folder:PATH (or PATH).
        dataset: String,
        #[command(flatten)]
        folder: FolderArgs,
    },
    /// Write a dataset as a folder of PNG images, OUT/train/CLASS/ and OUT/test/CLASS/: the
    /// layout `--dataset folder:OUT` reads, to see it or to start from it.
    ToFolder {
        /// A registry dataset (`reponet data list`).
        name: String,
        /// The folder to create (refused if it exists).
        #[arg(long)]
        out: PathBuf,
        /// Where the dataset is: its folder or the data root [default: $REPONET_DATA, then
        /// the cache directory].
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
}

pub fn run(args: Args, ctx: &Ctx) -> Result<()> {
    match args.command {
        DataCommand::Fetch {
            names,
            data_dir,
            mirror,
        } => fetch(&names, data_dir, mirror, &ctx.out),
        DataCommand::List { data_dir } => list(data_dir, &ctx.out),
        DataCommand::Verify { names, data_dir } => verify(&names, data_dir, &ctx.out),
        DataCommand::Check { dataset, folder } => check(&dataset, &folder.options(), &ctx.out),
        DataCommand::ToFolder {
            name,
            out,
            data_dir,
        } => to_folder(&name, &out, data_dir, &ctx.out),
    }
}

fn check(name: &str, options: &FolderOptions, out: &Output) -> Result<()> {
    let path = name.strip_prefix(FOLDER_PREFIX).unwrap_or(name);
    if dataset(path).is_ok() {
        bail!("{name} is a registry dataset: check it with `reponet data verify {name}`");
    }
    let started = Instant::now();
    let report = ImageFolder::open(Path::new(path), options)?.check();
    out.json(&report)?;
    let layout = match report.layout {
        FolderLayout::TrainTest => "train/ and test/".to_string(),
        FolderLayout::Split { test_fraction } => {
            format!("one folder per class, {test_fraction} of each kept for testing")
        }
    };
    out.text(format_args!(
        "{}: {} classes ({layout}), read as {} (channels x rows x cols), checked in {:.1} s",
        report.root.display(),
        report.classes.len(),
        report.shape,
        started.elapsed().as_secs_f64()
    ));
    let width = report
        .classes
        .iter()
        .map(|c| c.name.len())
        .max()
        .unwrap_or(5)
        .max(5);
    out.text(format_args!(
        "  {:<width$} {:>8} {:>8}",
        "class", "train", "test"
    ));
    for class in &report.classes {
        out.text(format_args!(
            "  {:<width$} {:>8} {:>8}",
            class.name, class.train, class.test
        ));
    }
    let sizes: Vec<String> = report
        .sizes
        .iter()
        .take(5)
        .map(|s| format!("{}x{} ({})", s.rows, s.cols, s.images))
        .collect();
    let more = report.sizes.len().saturating_sub(5);
    out.text(format_args!(
        "  sizes (rows x cols): {}{}",
        sizes.join(", "),
        if more > 0 {
            format!(" and {more} more")
        } else {
            String::new()
        }
    ));
    out.text(format_args!(
        "  grey {}, colour {}",
        report.grey, report.colour
    ));
    if !report.ignored.is_empty() {
        out.text(format_args!(
            "  {} file(s) ignored (not .png, .jpg or .jpeg), e.g. {}",
            report.ignored.len(),
            report.ignored[0].display()
        ));
    }
    for bad in &report.bad {
        out.text(format_args!(
            "  BAD {}: {}",
            bad.path.display(),
            bad.problem
        ));
    }
    if !report.bad.is_empty() {
        bail!(
            "{} image(s) do not decode: fix or remove them, or train with --skip-bad-images",
            report.bad.len()
        );
    }
    Ok(())
}

fn to_folder(name: &str, out_dir: &Path, data_dir: Option<PathBuf>, out: &Output) -> Result<()> {
    let data = locate_dataset(name, data_dir.as_deref())?;
    let train = data.load(DataSplit::Train)?;
    let test = data.load(DataSplit::Test)?;
    write_image_folder(
        out_dir,
        &[("train", &train), ("test", &test)],
        &data.header.class_names,
    )?;
    out.json(
        &json!({ "dataset": name, "out": out_dir, "train": train.len(), "test": test.len() }),
    )?;
    out.text(format_args!(
        "{name}: {} training and {} test images as PNG -> {} (train with --dataset folder:{})",
        train.len(),
        test.len(),
        out_dir.display(),
        out_dir.display()
    ));
    Ok(())
}

fn fetch(
    names: &[String],
    data_dir: Option<PathBuf>,
    mirror: Option<String>,
    out: &Output,
) -> Result<()> {
    let infos = names
        .iter()
        .map(|n| dataset(n))
        .collect::<Result<Vec<_>, _>>()?;
    let root = DataRoot::resolve(data_dir.as_deref())?;
    let options = FetchOptions {
        mirror,
        ..FetchOptions::default()
    };
    let mut report = Vec::new();
    for info in infos {
        if info.source == Source::Embedded {
            out.text(format_args!("{}: built in, nothing to fetch", info.name));
            report.push(json!({ "dataset": info.name, "built_in": true }));
            continue;
        }
        let dest = root.dataset_dir(info);
        out.log(format_args!("{} -> {}", info.name, dest.display()));
        let mut bar = DownloadBar::new(out);
        let files = fetch_dataset(info, &dest, &options, &mut bar)?;
        for f in &files {
            let how = if f.already_present {
                "already present"
            } else {
                "downloaded"
            };
            out.text(format_args!(
                "  {} {how}, {}",
                f.path.display(),
                describe(&f.status)
            ));
        }
        report.push(json!({
            "dataset": info.name,
            "dir": dest,
            "files": files.iter().map(|f| json!({
                "path": f.path,
                "already_present": f.already_present,
                "ok": f.status.is_ok(),
                "status": describe(&f.status),
            })).collect::<Vec<_>>(),
        }));
    }
    out.json(&report)
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

/// A --data-dir to read from must be there (fetch creates its own).
fn existing_dir(data_dir: &Option<PathBuf>) -> Result<()> {
    match data_dir {
        Some(d) if !d.is_dir() => anyhow::bail!("--data-dir {}: no such folder", d.display()),
        _ => Ok(()),
    }
}

fn list(data_dir: Option<PathBuf>, out: &Output) -> Result<()> {
    existing_dir(&data_dir)?;
    let root = DataRoot::resolve(data_dir.as_deref())?;
    let rows: Vec<(&DatasetInfo, Option<PathBuf>)> = DATASETS
        .iter()
        .map(|info| {
            let dir = match info.source {
                Source::Embedded => None,
                _ => root.find(info),
            };
            (info, dir)
        })
        .collect();
    if out.json {
        let datasets: Vec<_> = rows
            .iter()
            .map(|(info, dir)| {
                json!({
                    "name": info.name,
                    "title": info.title,
                    "classes": info.classes(),
                    "train_images": info.train_images,
                    "test_images": info.test_images,
                    "built_in": info.source == Source::Embedded,
                    "dir": dir,
                })
            })
            .collect();
        return out.json(&json!({ "data_root": root.to_string(), "datasets": datasets }));
    }
    println!("data root: {root}");
    println!(
        "{:<16} {:>7} {:>8} {:>7}  {:<40} where",
        "dataset", "classes", "train", "test", "title"
    );
    for (info, dir) in rows {
        let place = match (info.source, dir) {
            (Source::Embedded, _) => "built in".to_string(),
            (_, Some(dir)) => dir.display().to_string(),
            (_, None) => "not present (reponet data fetch ".to_string() + info.name + ")",
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

fn verify(names: &[String], data_dir: Option<PathBuf>, out: &Output) -> Result<()> {
    existing_dir(&data_dir)?;
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
        out.text(format_args!(
            "no dataset present under {root}; fetch one with `reponet data fetch mnist`"
        ));
    }
    let mut failures = 0;
    let mut report = Vec::new();
    for info in chosen {
        if info.source == Source::Embedded {
            out.text(format_args!(
                "{}: built in (compiled into reponet)",
                info.name
            ));
            report.push(json!({ "dataset": info.name, "built_in": true }));
            continue;
        }
        let Some(dir) = root.find(info) else {
            out.text(format_args!("{}: not present under {root}", info.name));
            report.push(json!({ "dataset": info.name, "present": false }));
            failures += 1;
            continue;
        };
        let started = Instant::now();
        let checks = verify_dataset(&dir, info);
        let seconds = started.elapsed().as_secs_f64();
        out.text(format_args!(
            "{} in {} ({seconds:.2} s)",
            info.name,
            dir.display()
        ));
        let mut files = Vec::new();
        for (check, file) in checks.iter().zip(info.files) {
            let kind = match file.checksum {
                Checksum::Decompressed(_) => "SHA-256 of the IDX content",
                Checksum::Download(_) => "SHA-256 of the .gz",
                Checksum::Unknown => "no checksum",
            };
            let path = check
                .path
                .as_ref()
                .map_or(check.file.to_string(), |p| p.display().to_string());
            out.text(format_args!(
                "  {:<4} {path}: {} ({kind})",
                mark(&check.status),
                describe(&check.status)
            ));
            if !check.status.is_ok() {
                failures += 1;
            }
            files.push(json!({
                "file": check.file,
                "path": path,
                "ok": check.status.is_ok(),
                "status": describe(&check.status),
                "checksum": kind,
            }));
        }
        report.push(json!({
            "dataset": info.name,
            "present": true,
            "dir": dir,
            "seconds": seconds,
            "files": files,
        }));
    }
    out.json(&report)?;
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

/// On standard error: a byte progress bar on a terminal, a line every 10 s otherwise,
/// nothing with `-q`.
struct DownloadBar {
    interactive: bool,
    quiet: bool,
    bar: Option<ProgressBar>,
    name: String,
    total: Option<u64>,
    done: u64,
    last_line: Option<Instant>,
}

impl DownloadBar {
    fn new(out: &Output) -> Self {
        Self {
            interactive: out.interactive,
            quiet: out.verbosity == Verbosity::Quiet,
            bar: None,
            name: String::new(),
            total: None,
            done: 0,
            last_line: None,
        }
    }
}

impl FetchProgress for DownloadBar {
    fn begin(&mut self, name: &str, total: Option<u64>, done: u64) {
        self.name = name.to_string();
        (self.total, self.done) = (total, done);
        if self.quiet {
            return;
        }
        if done > 0 {
            eprintln!("  {name}: resuming after {done} bytes");
        }
        if self.interactive {
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
            eprintln!("  {}: {} of {total} bytes", self.name, self.done);
            self.last_line = Some(Instant::now());
        }
    }

    fn end(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }

    fn note(&mut self, line: &str) {
        if !self.quiet {
            eprintln!("  {line}");
        }
    }
}
