//! Command-line parsing and dispatch.
//!
//! Each subcommand has its own module holding its clap arguments, the step
//! that resolves them into library values (so every input is checked before
//! any work starts) and the rendering of its output. Errors travel up as
//! `anyhow` chains and are printed once, on one line, by [`main`].

/// Fills each `Option` field of settings from flags with the file's value
/// when the flag was not given: `merge!(Type, flags, file, field, ...)`.
macro_rules! merge {
    ($kind:ident, $flags:expr, $file:expr, $($field:ident),+ $(,)?) => {
        $kind { $($field: $flags.$field.or($file.$field)),+ }
    };
}

/// Overwrites a resolved config's fields with the settings that were given:
/// `apply!(config, settings, field, ...)`.
macro_rules! apply {
    ($config:expr, $settings:expr, $($field:ident),+ $(,)?) => {
        $(if let Some(value) = $settings.$field { $config.$field = value; })+
    };
}

mod dataset;
mod evaluate;
mod inspect;
mod numbers;
mod report;
mod search;
mod space;
mod train;
mod translate;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Finds efficient U-Net generators for paired image-to-image translation
/// (pix2pix) by evolutionary architecture search.
#[derive(Debug, Parser)]
#[command(name = "unet-nas", version, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Search for an efficient U-Net generator (the main job): evolve
    /// genomes, then train the best on the full data set.
    #[command(after_help = search::EXAMPLES, allow_negative_numbers = true)]
    Search(Box<search::SearchArgs>),
    /// Show a generator's layers and what it costs (parameters, FLOPs, MACs,
    /// memory).
    #[command(after_help = inspect::EXAMPLES)]
    Inspect(inspect::InspectArgs),
    /// Describe the search space for an image size: the choices per gene and
    /// how many genomes there are.
    #[command(after_help = space::EXAMPLES)]
    Space(space::SpaceArgs),
    /// Train one generator as a pix2pix translator, with checkpoints every
    /// epoch and --resume.
    #[command(after_help = train::EXAMPLES, allow_negative_numbers = true)]
    Train(Box<train::TrainArgs>),
    /// Translate images with a trained generator (any size).
    #[command(after_help = translate::EXAMPLES)]
    Translate(translate::TranslateArgs),
    /// Compare trained generators on a test split like the paper's Table 1:
    /// cost, latency, FCN-score, L1, PSNR, SSIM.
    #[command(after_help = evaluate::EXAMPLES)]
    Evaluate(evaluate::EvaluateArgs),
    /// Write a self-contained HTML report of a search: fitness, Pareto
    /// front, architectures, translations, Table 1, settings.
    #[command(after_help = report::EXAMPLES)]
    Report(report::ReportArgs),
    /// Write a built-in data set to disk, or check a data folder.
    #[command(subcommand, after_help = dataset::EXAMPLES)]
    Dataset(dataset::DatasetCommand),
}

/// Exit status for a run that failed on bad input or a failed operation.
const EXIT_FAILURE: u8 = 1;

/// Exit status for a command line clap could not parse.
const EXIT_USAGE: u8 = 2;

/// Parses the command line, runs the command and maps the outcome to an
/// exit status, printing any error as one line on stderr.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => return report_parse_error(error),
    };
    init_logging();

    let outcome = match cli.command {
        Command::Search(args) => search::run(*args),
        Command::Inspect(args) => inspect::run(args),
        Command::Space(args) => space::run(args),
        Command::Train(args) => train::run(*args),
        Command::Translate(args) => translate::run(args),
        Command::Evaluate(args) => evaluate::run(args),
        Command::Report(args) => report::run(args),
        Command::Dataset(command) => dataset::run(command),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(EXIT_FAILURE)
        }
    }
}

/// Reads a `--config` TOML file of settings (keys are the flag names);
/// unknown keys are an error naming the file.
fn read_settings<T: serde::de::DeserializeOwned>(path: &std::path::Path) -> anyhow::Result<T> {
    use anyhow::Context;

    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    toml::from_str(&text)
        .map_err(|error| anyhow::anyhow!("{}: {}", path.display(), error.message().trim()))
}

/// Log lines on stderr without timestamps; `RUST_LOG` filters them
/// (default `info`).
fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .without_time()
        .with_writer(std::io::stderr)
        .init();
}

/// Prints help and version as clap renders them, and folds real parse errors
/// into one line: clap's own message spans several lines (usage, hints),
/// which buries the part that names the bad value.
fn report_parse_error(error: clap::Error) -> ExitCode {
    use clap::error::ErrorKind;

    if matches!(
        error.kind(),
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion
    ) {
        let _ = error.print();
        return ExitCode::SUCCESS;
    }

    let rendered = error.render().to_string();
    let line = rendered
        .lines()
        .map(str::trim)
        .take_while(|line| !line.starts_with("Usage:"))
        .filter(|line| !line.is_empty() && !line.starts_with("For more information"))
        .collect::<Vec<_>>()
        .join(" ");
    eprintln!("{line} (see --help)");
    ExitCode::from(EXIT_USAGE)
}
