use std::io::Write;
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::CommandFactory;

/// Shell completions, or the manual page, on standard output.
///
///   reponet completions bash > ~/.local/share/bash-completion/completions/reponet
///   reponet completions zsh > ~/.zfunc/_reponet          (with fpath+=~/.zfunc)
///   reponet completions fish > ~/.config/fish/completions/reponet.fish
///   reponet completions man > reponet.1 && man ./reponet.1
///   reponet completions man --out-dir man1      reponet.1, reponet-train.1, ... every command
#[derive(clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// bash, zsh, fish, elvish, powershell, or man (a roff manual page).
    shell: Target,
    /// With man: write one page per command and subcommand into this folder (created if
    /// missing) instead of the top-level page on standard output.
    #[arg(long)]
    out_dir: Option<PathBuf>,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum Target {
    Bash,
    Zsh,
    Fish,
    Elvish,
    Powershell,
    Man,
}

pub fn run(args: Args) -> Result<()> {
    let mut command = crate::Cli::command();
    let mut out = Vec::new();
    let shell = match args.shell {
        Target::Man if args.out_dir.is_some() => {
            let dir = args.out_dir.expect("checked");
            std::fs::create_dir_all(&dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
            clap_mangen::generate_to(command, &dir)
                .with_context(|| format!("cannot write the manual pages into {}", dir.display()))?;
            return Ok(());
        }
        _ if args.out_dir.is_some() => bail!("--out-dir is for `completions man` only"),
        Target::Man => {
            clap_mangen::Man::new(command).render(&mut out)?;
            std::io::stdout().write_all(&out)?;
            return Ok(());
        }
        Target::Bash => clap_complete::Shell::Bash,
        Target::Zsh => clap_complete::Shell::Zsh,
        Target::Fish => clap_complete::Shell::Fish,
        Target::Elvish => clap_complete::Shell::Elvish,
        Target::Powershell => clap_complete::Shell::PowerShell,
    };
    clap_complete::generate(shell, &mut command, "reponet", &mut out);
    std::io::stdout().write_all(&out)?;
    Ok(())
}
