use std::path::PathBuf;

use anyhow::Result;
use reponet::analysis::{runs_markdown_table, RunRecord};
use reponet::atomic_file::write_atomic;

/// A Markdown table of runs: settings, test accuracy after each epoch, images/s.
///
/// Example: reponet report runs/* --out runs/TABLE.md
#[derive(clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// Run folders written by `reponet train`; other files and folders are skipped with a note.
    #[arg(required = true)]
    runs: Vec<PathBuf>,
    /// Also write the table to this file.
    #[arg(long)]
    out: Option<PathBuf>,
}

pub fn run(args: Args) -> Result<()> {
    let mut records = Vec::new();
    for dir in &args.runs {
        match RunRecord::load(dir) {
            Ok(r) => records.push(r),
            Err(e) if dir.exists() => eprintln!("skipped {}: {e}", dir.display()),
            Err(e) => return Err(e.into()),
        }
    }
    let table = runs_markdown_table(&records);
    print!("{table}");
    if let Some(out) = &args.out {
        write_atomic(out, table.as_bytes())
            .map_err(|e| anyhow::anyhow!("{}: {e}", out.display()))?;
    }
    Ok(())
}
