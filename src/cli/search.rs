//! `unet-nas search`: the evolutionary search, then the final training.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::{Context, Result, bail};
use clap::Args;
use serde::{Deserialize, Serialize};

use unet_nas::data::{DataSource, Direction};
use unet_nas::genome::{ChannelSet, ImageSize};
use unet_nas::search::{
    Budget, CostMeasure, FitnessLoss, SearchConfig, SearchOutcome, load_config, search,
};
use unet_nas::seed::fresh_seed;
use unet_nas::train::GanMode;

use super::numbers::{grouped_u64, short_scale};

pub const EXAMPLES: &str = "\
Examples:
  unet-nas search                                   # quick search on builtin:facades at 64x64
  unet-nas search --data ~/datasets/facades --size 256 --budget paper --out runs/facades
  unet-nas search --gamma 20 --cost macs --jobs 2 --seed 7
  unet-nas search --resume runs/search              # continue after a kill or Ctrl-C
  unet-nas search --resume runs/search --generations 10   # extend a finished search";

/// Settings of `unet-nas search`, from flags or a TOML file with the flag
/// names as keys. Flags override the file, the file overrides the budget.
#[derive(Debug, Default, Args, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct SearchSettings {
    /// Paired data: a folder or builtin:facades / builtin:maps [default: builtin:facades].
    #[arg(long, value_name = "DIR|builtin:NAME")]
    data: Option<DataSource>,
    /// Image side to search at [default: 64].
    #[arg(long, value_name = "PIXELS")]
    size: Option<ImageSize>,
    /// Defaults for everything below: quick (minutes) or paper (N 32, T 50) [default: quick].
    #[arg(long, value_enum)]
    budget: Option<Budget>,
    /// Genomes per generation [quick: 6, paper: 32].
    #[arg(long, value_name = "N")]
    population: Option<usize>,
    /// Generations [quick: 4, paper: 50].
    #[arg(long, value_name = "T")]
    generations: Option<usize>,
    /// Widths a channel gene can take [default: 16,32,64,128,256,512].
    #[arg(long, value_name = "LIST")]
    channel_set: Option<ChannelSet>,
    /// Weight of the cost in the fitness [default: 10 for gan-l1, 0.1 for l1].
    #[arg(long, value_name = "X")]
    gamma: Option<f64>,
    /// Cost measure, relative to the pix2pix U-Net [default: paper-flops].
    #[arg(long, value_enum)]
    cost: Option<CostMeasure>,
    /// Validation loss in the fitness [default: gan-l1].
    #[arg(long, value_enum)]
    fitness_loss: Option<FitnessLoss>,
    /// Probability of selection [default: 0.2].
    #[arg(long, value_name = "P")]
    p_selection: Option<f64>,
    /// Probability of crossover [default: 0.7].
    #[arg(long, value_name = "P")]
    p_crossover: Option<f64>,
    /// Probability of mutation [default: 0.1].
    #[arg(long, value_name = "P")]
    p_mutation: Option<f64>,
    /// Training pairs per candidate [quick: 48, paper: 200].
    #[arg(long, value_name = "N")]
    mini_train: Option<usize>,
    /// Validation pairs per candidate [quick: 16, paper: 50].
    #[arg(long, value_name = "N")]
    mini_val: Option<usize>,
    /// Training iterations per candidate [quick: 24, paper: 400].
    #[arg(long, value_name = "N")]
    iterations: Option<usize>,
    /// Pairs per batch [default: 1].
    #[arg(long, value_name = "N")]
    batch_size: Option<usize>,
    /// Seed of every random choice [default: drawn and printed].
    #[arg(long, value_name = "N")]
    seed: Option<u64>,
    /// Candidates evaluated at once, dividing the cores [default: one per core].
    #[arg(long, value_name = "K")]
    jobs: Option<usize>,
    /// Put the pix2pix genome in the first population.
    #[arg(long, num_args = 0..=1, default_missing_value = "true", value_name = "BOOL")]
    include_original: Option<bool>,
    /// Also train the pix2pix U-Net with the final budget, for comparison.
    #[arg(long, num_args = 0..=1, default_missing_value = "true", value_name = "BOOL")]
    compare_original: Option<bool>,
    /// Final training: epochs at the initial rate [quick: 1, paper: 100].
    #[arg(long, value_name = "N")]
    final_epochs: Option<usize>,
    /// Final training: epochs of decay [quick: 1, paper: 100].
    #[arg(long, value_name = "N")]
    final_epochs_decay: Option<usize>,
    /// Weight of L1 in the generator loss [default: 100].
    #[arg(long, value_name = "X")]
    lambda_l1: Option<f64>,
    /// Adversarial loss [default: vanilla].
    #[arg(long, value_enum)]
    gan_mode: Option<GanMode>,
    /// Adam learning rate [default: 0.0002].
    #[arg(long, value_name = "RATE")]
    lr: Option<f64>,
    /// Width of each candidate's discriminator [default: 64].
    #[arg(long, value_name = "N")]
    ndf: Option<usize>,
    /// Input channels, 1 or 3 [default: 3].
    #[arg(long, value_name = "N")]
    in_channels: Option<u32>,
    /// Output channels, 1 or 3 [default: 3].
    #[arg(long, value_name = "N")]
    out_channels: Option<u32>,
    /// Which image of a pair is the input [default: AtoB].
    #[arg(long, value_enum)]
    direction: Option<Direction>,
    /// Training pairs of a built-in data set [quick: 120, paper: 400].
    #[arg(long, value_name = "N")]
    synth_count: Option<usize>,
    /// Seed of a built-in data set's images [default: 2017].
    #[arg(long, value_name = "N")]
    synth_seed: Option<u64>,
}

/// Arguments of `unet-nas search`.
#[derive(Debug, Args)]
pub struct SearchArgs {
    #[command(flatten)]
    settings: SearchSettings,
    /// Read settings from this TOML file (keys are the flag names).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// The run folder [default: runs/search-SEED].
    #[arg(long, value_name = "RUN_DIR")]
    out: Option<PathBuf>,
    /// Continue the search in this folder (only --generations may be given).
    #[arg(long, value_name = "RUN_DIR", conflicts_with_all = ["out", "config"])]
    resume: Option<PathBuf>,
}

pub fn run(args: SearchArgs) -> Result<()> {
    let (config, run_dir, resume) = resolve(args)?;
    let stop = Arc::new(AtomicBool::new(false));
    let handler_stop = Arc::clone(&stop);
    ctrlc::set_handler(move || {
        eprintln!("stopping after the evaluations in flight (Ctrl-C again to abort)");
        if handler_stop.swap(true, Ordering::SeqCst) {
            std::process::exit(130);
        }
    })
    .context("cannot install the Ctrl-C handler")?;

    println!(
        "searching {} at {}x{}: population {}, {} generations, gamma {}, cost {:?}, seed {} -> {}",
        config.data,
        config.size,
        config.size,
        config.population,
        config.generations,
        config.gamma,
        config.cost,
        config.seed,
        run_dir.display()
    );
    let outcome = search(&config, &run_dir, resume, stop)?;
    print_summary(&outcome);
    Ok(())
}

fn resolve(args: SearchArgs) -> Result<(SearchConfig, PathBuf, bool)> {
    if let Some(run_dir) = args.resume {
        let mut config = load_config(&run_dir)?;
        let others: Vec<String> = args
            .settings
            .given()
            .into_iter()
            .filter(|key| key != "generations")
            .map(|key| format!("--{key}"))
            .collect();
        if !others.is_empty() {
            bail!(
                "--resume continues with the saved settings; only --generations may be given (remove {})",
                others.join(", ")
            );
        }
        if let Some(generations) = args.settings.generations {
            config.generations = generations;
        }
        return Ok((config, run_dir, true));
    }

    let mut settings = args.settings;
    if let Some(path) = &args.config {
        settings = settings.or(super::read_settings(path)?);
    }
    let config = settings.resolve()?;
    let run_dir = args
        .out
        .unwrap_or_else(|| PathBuf::from(format!("runs/search-{}", config.seed)));
    Ok((config, run_dir, false))
}

impl SearchSettings {
    /// The flag names of the settings that were given.
    fn given(&self) -> Vec<String> {
        toml::Table::try_from(self)
            .map(|table| table.keys().cloned().collect())
            .unwrap_or_default()
    }

    fn or(self, file: SearchSettings) -> SearchSettings {
        merge!(
            SearchSettings,
            self,
            file,
            data,
            size,
            budget,
            population,
            generations,
            channel_set,
            gamma,
            cost,
            fitness_loss,
            p_selection,
            p_crossover,
            p_mutation,
            mini_train,
            mini_val,
            iterations,
            batch_size,
            seed,
            jobs,
            include_original,
            compare_original,
            final_epochs,
            final_epochs_decay,
            lambda_l1,
            gan_mode,
            lr,
            ndf,
            in_channels,
            out_channels,
            direction,
            synth_count,
            synth_seed
        )
    }

    fn resolve(self) -> Result<SearchConfig> {
        let data = self
            .data
            .clone()
            .unwrap_or_else(|| "builtin:facades".parse().expect("a valid source"));
        let size = self
            .size
            .unwrap_or(ImageSize::new(64).expect("64 is a valid size"));
        let seed = self.seed.unwrap_or_else(|| {
            let seed = fresh_seed();
            println!("no --seed given; using seed {seed}");
            seed
        });
        let mut config = SearchConfig::new(self.budget.unwrap_or_default(), data, size, seed);
        if let Some(fitness_loss) = self.fitness_loss {
            config.fitness_loss = fitness_loss;
            config.gamma = fitness_loss.default_gamma();
        }
        apply!(
            config,
            self,
            population,
            generations,
            channel_set,
            gamma,
            cost,
            p_selection,
            p_crossover,
            p_mutation,
            mini_train,
            mini_val,
            iterations,
            batch_size,
            jobs,
            include_original,
            compare_original,
            final_epochs,
            final_epochs_decay,
            lambda_l1,
            gan_mode,
            lr,
            ndf,
            in_channels,
            out_channels,
            direction,
            synth_count,
            synth_seed
        );
        config
            .validate()
            .map_err(|message| anyhow::anyhow!(message))?;
        Ok(config)
    }
}

fn print_summary(outcome: &SearchOutcome) {
    let (best, original) = (&outcome.best_cost, &outcome.original);
    let percent = |a: u64, b: u64| 100.0 * a as f64 / b as f64;
    println!();
    println!(
        "best genome      {}  (fitness {:.5})",
        outcome.best.genome, outcome.best.fitness
    );
    println!(
        "                 {:>18}  {:>18}  {:>7}",
        "searched", "pix2pix U-Net", "ratio"
    );
    let row = |name: &str, a: u64, b: u64, show: &dyn Fn(u64) -> String| {
        println!(
            "{name:<16} {:>18}  {:>18}  {:>6.1}%",
            show(a),
            show(b),
            percent(a, b)
        );
    };
    row(
        "paper FLOPs",
        best.paper_flops,
        original.paper_flops,
        &|v| short_scale(v),
    );
    row("MACs", best.macs, original.macs, &|v| short_scale(v));
    row("parameters", best.parameters, original.parameters, &|v| {
        grouped_u64(v)
    });
    row(
        "size (bytes)",
        best.model_bytes,
        original.model_bytes,
        &|v| grouped_u64(v),
    );
    let l1 = |value: Option<f64>| {
        value
            .map(|v| format!("{v:.4}"))
            .unwrap_or_else(|| "n/a (no val split)".into())
    };
    println!(
        "validation L1    searched {}  ({})",
        l1(outcome.best_val_l1),
        outcome.best_run.display()
    );
    if let Some((run, value)) = &outcome.original_run {
        println!(
            "validation L1    original {}  ({})",
            l1(*value),
            run.display()
        );
    }
    println!(
        "{} genomes evaluated, {} failed",
        outcome.evaluations, outcome.failures
    );
}
