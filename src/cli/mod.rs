//! The command line of a comparison (feature `cli`, on by default): the run flags and presets
//! ([`RunArgs`], [`Preset`]; [`CompareArgs`] for a task with no flags of its own), the device
//! (`MULTIREWARD_DEVICE`), one rank per device of `MULTIREWARD_DEVICES` or per MPI process
//! (this library's `mpi` feature), progress on the console and errors as sentences naming
//! flags ([`main_with`]). Generic over the policy type.
//!
//! A task of your own in one file (see `examples/custom_task.rs`):
//!
//! ```no_run
//! use multireward::cli::{CompareArgs, Preset, main_with};
//! use multireward::experiment::{Budget, RicSettings, Task};
//! use multireward::policy::{Gpt, Policy};
//! use multireward::reward::{FnReward, RewardSet, Sample};
//! use multireward::tasks::molecules::SmilesTokenizer;
//!
//! fn main() -> std::process::ExitCode {
//!     main_with(|args: CompareArgs, device| {
//!         let presets = [Budget::new(24, 64), Budget::new(4, 16), Budget::new(200, 128)]
//!             .map(|b| Preset::new(b.with_max_new_tokens(24), 256));
//!         let config = args.run.config(presets, RicSettings::default())?;
//!         let dir = multireward::assets::smiles_policy()?;
//!         let reference = Gpt::load(&dir, &device)?;
//!         let tokenizer = SmilesTokenizer::load(&multireward::checkpoint::tokenizer_path(&dir))?;
//!         let count = |c: char| move |s: &Sample| Some(s.completion.matches(c).count() as f64);
//!         let set = || RewardSet::builder()
//!             .add(FnReward::new("nitrogen", count('N')), 1.0)
//!             .add(FnReward::new("oxygen", count('O')), 1.0)
//!             .build();
//!         let task = Task::new(reference, &tokenizer, set()?, set()?);
//!         args.run.compare(task, config, &args.out_or("results/mine"))?;
//!         Ok(())
//!     })
//! }
//! ```

mod args;
mod export;
mod flags;
mod generate;
mod ranks;
mod run;
pub mod study;

pub use crate::experiment::Preset;
pub use args::{AccountingArg, AdamArg, CompareArgs, EstimatorArg, RunArgs, SaveArg};
/// The device [`main_with`] hands to the program (Burn's).
pub use burn::tensor::Device;
pub use export::{ExportArgs, export};
pub use flags::{flag, sentence};
pub use generate::{GenerateArgs, generate};

use crate::device::device_from_env;
use std::error::Error;
use std::process::ExitCode;

/// Parse the flags `A`, choose the device (`MULTIREWARD_DEVICE`, else the default), run `body`
/// and print its error as `error: <sentence>` ([`sentence`], with its causes), exit code 1.
/// With `MULTIREWARD_DEVICES` (several devices), `body` runs once per device on threads, one
/// rank each (each parses the flags again).
pub fn main_with<A: clap::Parser>(
    body: impl Fn(A, Device) -> Result<(), Box<dyn Error>> + Sync,
) -> ExitCode {
    let args = A::parse();
    let started = device_from_env()
        .map(|device| (args, device))
        .map_err(Box::<dyn Error>::from);
    let result = started.and_then(|(args, device)| match ranks::devices()? {
        devices if devices.len() > 1 => {
            ranks::on_devices::<A>(devices, &body).map_err(Box::<dyn Error>::from)
        }
        _ => body(args, device),
    });
    let Err(e) = result else {
        return ExitCode::SUCCESS;
    };
    let message = sentence(&*e);
    eprintln!("error: {message}");
    let mut source = e.source();
    while let Some(s) = source {
        if !message.contains(&s.to_string()) {
            eprintln!("  caused by: {s}");
        }
        source = s.source();
    }
    ExitCode::FAILURE
}
