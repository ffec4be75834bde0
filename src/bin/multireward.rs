//! `multireward`: a whole study from one TOML file, and the tools around it.
//!
//! ```text
//! multireward validate studies/molecules.toml          # check every field; train nothing
//! multireward run studies/molecules.toml [--quick]     # train, evaluate, report
//! multireward resume studies/molecules.toml            # continue after a stop
//! multireward report results/study-molecules           # re-render summary.png, report.html
//! multireward generate --policy DIR --prompt TEXT      # sample from a policy directory
//! multireward export --policy DIR --out HF_DIR         # write a Hugging Face directory
//! ```

#[path = "../../examples/support/alloc.rs"]
mod alloc;

use clap::{Parser, Subcommand};
use multireward::cli::study::{Mode, Study};
use multireward::cli::{ExportArgs, GenerateArgs, export, generate};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser, Debug)]
#[command(
    name = "multireward",
    version,
    about = "Multi-reward fine-tuning studies"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Train and evaluate every strategy of a study file, replacing earlier results.
    Run(StudyArgs),
    /// Continue a study into its results directory (finished runs kept, the unfinished one
    /// from its last checkpoint).
    Resume(StudyArgs),
    /// Check a study file field by field, load its task and plan its runs; train nothing.
    Validate(StudyArgs),
    /// Re-render a results directory's summary.png and report.html from its results.json (a
    /// sweep's directory: each comparison inside, then kl_sweep.md or preference_sweep.md).
    Report {
        /// The results directory.
        dir: PathBuf,
    },
    /// Sample from a policy directory (ours or Hugging Face's).
    Generate(GenerateArgs),
    /// Export a policy directory as a Hugging Face directory.
    Export(ExportArgs),
}

#[derive(clap::Args, Debug)]
struct StudyArgs {
    /// The study file (TOML).
    study: PathBuf,
    /// The study's `[quick]` settings (else the task's quick preset): a smoke run.
    #[arg(long)]
    quick: bool,
    /// The results directory instead of the study's `out`.
    #[arg(long)]
    out: Option<PathBuf>,
}

impl StudyArgs {
    /// The study file, with `--out` over its `out`.
    fn load(&self) -> Result<Study, Box<dyn std::error::Error>> {
        let mut study = Study::load(&self.study)?;
        if let Some(out) = &self.out {
            study.file.out = out.clone();
        }
        Ok(study)
    }
}

fn main() -> ExitCode {
    alloc::keep_freed_memory();
    multireward::cli::main_with(|cli: Cli, device| match cli.command {
        Command::Run(a) => a.load()?.execute(Mode::Run, a.quick, &device),
        Command::Resume(a) => a.load()?.execute(Mode::Resume, a.quick, &device),
        Command::Validate(a) => a.load()?.execute(Mode::Validate, a.quick, &device),
        Command::Report { dir } => {
            // A sweep's directory: its comparisons re-rendered, then the sweep's report.
            if dir.is_dir() && !dir.join("results.json").exists() {
                let sweeps = multireward::experiment::rerender_sweep(&dir)?;
                if !sweeps.is_empty() {
                    let shown: Vec<String> =
                        sweeps.iter().map(|p| p.display().to_string()).collect();
                    println!("wrote {}", shown.join(" and "));
                    return Ok(());
                }
            }
            let files = multireward::experiment::rerender(&dir)?;
            println!(
                "wrote {} and {}",
                files.summary.display(),
                files.html.display()
            );
            Ok(())
        }
        Command::Generate(a) => generate(a, device),
        Command::Export(a) => export(a, device),
    })
}
