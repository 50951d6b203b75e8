//! A whole training run in a run folder.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use burn::module::Module;
use burn::tensor::{Device, Tensor};
use indicatif::{ProgressBar, ProgressStyle};
use tracing::{info, warn};

use super::checkpoint::{
    EpochRecord, RunState, load_checkpoint, prune_checkpoints, save_checkpoint,
};
use super::config::TrainConfig;
use super::samples::write_grid;
use super::step::{Pix2Pix, StepLosses, validation_loss};
use super::streams;
use crate::data::{Batch, BatchLoader, DataError, Order, PairSet, Split};
use crate::io::write_bytes_atomically;
use crate::seed::{derive_seed, stream};

/// Pairs shown in each epoch's sample grid.
const SAMPLE_PAIRS: usize = 4;

/// Most validation pairs scored after each epoch (enough for a stable
/// mean, few enough to keep epochs short).
const VALIDATION_PAIRS: usize = 64;

/// Why a training run stopped.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    /// The settings are inconsistent.
    #[error("invalid setting: {0}")]
    Config(String),
    /// The data could not be used.
    #[error(transparent)]
    Data(#[from] DataError),
    /// A file of the run folder could not be written or read.
    #[error("{0}")]
    Io(String),
    /// `--resume` of a folder that is no run.
    #[error("{path} is not a training run folder ({reason})")]
    NotARun {
        /// The folder.
        path: PathBuf,
        /// What is missing or wrong.
        reason: String,
    },
    /// The run folder already holds a run.
    #[error("{0} already holds a training run; use --resume to continue it or pick another --out")]
    RunExists(PathBuf),
    /// A loss became NaN or infinite.
    #[error("loss became {value} at epoch {epoch}, iteration {iteration}; {checkpoint}")]
    NonFinite {
        /// The offending value, as text.
        value: String,
        /// Epoch, from 1.
        epoch: usize,
        /// Iteration within the epoch, from 1.
        iteration: usize,
        /// What is left to resume from.
        checkpoint: String,
    },
}

/// What a finished run reports.
#[derive(Debug, Clone)]
pub struct TrainSummary {
    /// The run folder.
    pub run_dir: PathBuf,
    /// Epochs trained in all.
    pub epochs: usize,
    /// The last epoch's record.
    pub last: Option<EpochRecord>,
    /// Training files that were skipped as unusable.
    pub skipped_files: usize,
}

/// Trains `config` in `run_dir` (created when missing), or continues the run
/// there when `resume` is true (`config` must then be the saved one).
pub fn train(
    config: &TrainConfig,
    run_dir: &Path,
    resume: bool,
) -> Result<TrainSummary, TrainError> {
    config.validate().map_err(TrainError::Config)?;
    let device = super::compute_device().autodiff();

    // Data first: a run that cannot read its data leaves no folder behind.
    let train_set = Arc::new(open_split(config, Split::Train)?);
    let validation = open_validation(config)?;
    let samples = sample_batch(config, validation.as_ref().unwrap_or(&train_set))?;
    let mut state = prepare_folder(config, run_dir, resume)?;
    let mut trainer = match &state.checkpoint {
        Some(name) => load_checkpoint(run_dir, name, config, &device).map_err(TrainError::Io)?,
        None => Pix2Pix::new(config, config.seed, &device),
    };
    let (_, lowered) = config.discriminator();
    if lowered {
        info!(
            "lowered the discriminator to {} strided layers so its patch map fits {}x{} images",
            config.discriminator().0.n_layers,
            config.size,
            config.size
        );
    }

    let schedule = config.schedule();
    for epoch in state.epochs_done..schedule.total_epochs() {
        let started = Instant::now();
        let lr = schedule.rate(epoch);
        let (next, losses) =
            train_epoch(trainer, config, &train_set, epoch, lr, &mut state, &device)?;
        trainer = next;

        let validation_loss = validation
            .as_ref()
            .map(|set| validation_loss(&trainer, set, &config.preprocess(), config.batch_size))
            .transpose()?;
        write_grid(
            &run_dir.join(format!("samples/epoch_{:04}.png", epoch + 1)),
            &trainer.generator.valid(),
            &samples,
            &device.clone().without_autodiff(),
        )
        .map_err(|error| {
            TrainError::Io(format!("{}: {error}", run_dir.join("samples").display()))
        })?;
        let record = EpochRecord {
            epoch,
            lr,
            losses,
            validation: validation_loss,
            seconds: started.elapsed().as_secs_f64(),
        };
        commit_epoch(run_dir, &trainer, &mut state, record)?;
    }

    state.finished = true;
    state
        .save(run_dir)
        .map_err(|error| io_error(run_dir, error))?;
    log_line(run_dir, &format!("finished: {} epochs", state.epochs_done));
    Ok(TrainSummary {
        run_dir: run_dir.to_path_buf(),
        epochs: state.epochs_done,
        last: state.history.last().cloned(),
        skipped_files: train_set.skipped().len(),
    })
}

/// Creates the folder and saves the config, or reads the state to resume.
fn prepare_folder(
    config: &TrainConfig,
    run_dir: &Path,
    resume: bool,
) -> Result<RunState, TrainError> {
    if resume {
        let not_a_run = |reason: String| TrainError::NotARun {
            path: run_dir.to_path_buf(),
            reason,
        };
        let mut state = RunState::load(run_dir).map_err(not_a_run)?;
        state.total_epochs = config.schedule().total_epochs();
        info!(
            "resuming {} after epoch {} of {}",
            run_dir.display(),
            state.epochs_done,
            state.total_epochs
        );
        return Ok(state);
    }

    if run_dir.join("state.json").exists() {
        return Err(TrainError::RunExists(run_dir.to_path_buf()));
    }
    std::fs::create_dir_all(run_dir.join("samples")).map_err(|error| io_error(run_dir, error))?;
    let toml = toml::to_string_pretty(config).map_err(|error| TrainError::Io(error.to_string()))?;
    write_bytes_atomically(&run_dir.join("config.toml"), toml.as_bytes())
        .map_err(|error| io_error(run_dir, error))?;
    let state = RunState::fresh(config.schedule().total_epochs());
    state
        .save(run_dir)
        .map_err(|error| io_error(run_dir, error))?;
    log_line(
        run_dir,
        &format!(
            "started: genome {} at {}x{}, seed {}",
            config.genome, config.size, config.size, config.seed
        ),
    );
    Ok(state)
}

/// Reads the saved config of a run folder.
pub fn load_config(run_dir: &Path) -> Result<TrainConfig, TrainError> {
    let path = run_dir.join("config.toml");
    let text = std::fs::read_to_string(&path).map_err(|error| TrainError::NotARun {
        path: run_dir.to_path_buf(),
        reason: format!("cannot read config.toml: {error}"),
    })?;
    toml::from_str(&text).map_err(|error| TrainError::NotARun {
        path: run_dir.to_path_buf(),
        reason: format!("config.toml: {}", error.message()),
    })
}

fn open_split(config: &TrainConfig, split: Split) -> Result<PairSet, TrainError> {
    let set = PairSet::open(&config.data, split, &config.open_settings())?;
    for skipped in set.skipped() {
        warn!("skipped {}: {}", skipped.path.display(), skipped.reason);
    }
    if set.conversions() > 0 {
        warn!(
            "converted {} images of {} to {} channels",
            set.conversions(),
            set.description(),
            config.in_channels
        );
    }
    Ok(set)
}

fn open_validation(config: &TrainConfig) -> Result<Option<Arc<PairSet>>, TrainError> {
    if !PairSet::has_split(&config.data, Split::Val)? {
        info!(
            "{} has no val split: no validation loss per epoch",
            config.data
        );
        return Ok(None);
    }
    let set = open_split(config, Split::Val)?;
    let count = set.len().min(VALIDATION_PAIRS);
    Ok(Some(Arc::new(set.subset(&(0..count).collect::<Vec<_>>())?)))
}

/// The fixed pairs every sample grid shows.
fn sample_batch(config: &TrainConfig, set: &PairSet) -> Result<Batch, TrainError> {
    let count = set.len().min(SAMPLE_PAIRS);
    let subset = Arc::new(set.subset(&(0..count).collect::<Vec<_>>())?);
    let preprocess = config.preprocess().deterministic();
    let mut loader = BatchLoader::start(subset, preprocess, count, Order::Sequential, 0);
    Ok(loader.next().expect("a non-empty set has a batch")?)
}

fn train_epoch(
    mut trainer: Pix2Pix,
    config: &TrainConfig,
    set: &Arc<PairSet>,
    epoch: usize,
    lr: f64,
    state: &mut RunState,
    device: &Device,
) -> Result<(Pix2Pix, StepLosses), TrainError> {
    let order = Order::Shuffled {
        seed: derive_seed(config.seed, &[streams::DATA]),
        epoch: epoch as u64,
    };
    let loader = BatchLoader::start(
        Arc::clone(set),
        config.preprocess(),
        config.batch_size,
        order,
        0,
    );
    let progress = progress_bar(loader.batches_per_pass() as u64, epoch, state.total_epochs);
    let mut sum = StepLosses::default();
    let mut count = 0;

    for (iteration, batch) in loader.enumerate() {
        let batch = batch?;
        let input = Tensor::from_data(batch.input, device);
        let target = Tensor::from_data(batch.target, device);
        let mut dropout = stream(
            config.seed,
            &[streams::DROPOUT, state.iterations_done + iteration as u64],
        );
        let (next, losses) = trainer.step(input, target, lr, &mut dropout);
        trainer = next;
        check_finite(&losses, epoch, iteration, state)?;

        sum.accumulate(&losses);
        count += 1;
        progress.set_message(format!(
            "G_GAN {:.3} G_L1 {:.3} D_real {:.3} D_fake {:.3}",
            losses.g_gan, losses.g_l1, losses.d_real, losses.d_fake
        ));
        progress.inc(1);
    }
    progress.finish_and_clear();
    state.iterations_done += count as u64;
    Ok((trainer, sum.mean(count)))
}

fn check_finite(
    losses: &StepLosses,
    epoch: usize,
    iteration: usize,
    state: &RunState,
) -> Result<(), TrainError> {
    if losses.is_finite() {
        return Ok(());
    }
    let bad = [losses.g_gan, losses.g_l1, losses.d_real, losses.d_fake]
        .into_iter()
        .find(|loss| !loss.is_finite())
        .unwrap_or(f64::NAN);
    let checkpoint = match &state.checkpoint {
        Some(name) => format!(
            "the last good checkpoint ({name}, epoch {}) is intact",
            state.epochs_done
        ),
        None => "no checkpoint was written yet".to_string(),
    };
    Err(TrainError::NonFinite {
        value: bad.to_string(),
        epoch: epoch + 1,
        iteration: iteration + 1,
        checkpoint,
    })
}

/// Saves the checkpoint, then the state that points to it, then prunes.
fn commit_epoch(
    run_dir: &Path,
    trainer: &Pix2Pix,
    state: &mut RunState,
    record: EpochRecord,
) -> Result<(), TrainError> {
    let name = save_checkpoint(run_dir, record.epoch, trainer).map_err(TrainError::Io)?;
    let line = epoch_line(&record, state.total_epochs);
    state.epochs_done = record.epoch + 1;
    state.checkpoint = Some(name.clone());
    state.history.push(record);
    state
        .save(run_dir)
        .map_err(|error| io_error(run_dir, error))?;
    prune_checkpoints(run_dir, &name).map_err(|error| io_error(run_dir, error))?;

    info!("{line}");
    log_line(run_dir, &line);
    Ok(())
}

fn epoch_line(record: &EpochRecord, total: usize) -> String {
    let losses = &record.losses;
    let validation = record
        .validation
        .map(|v| format!("  val G {:.3} (L1 {:.4})", v.total, v.l1))
        .unwrap_or_default();
    format!(
        "epoch {}/{total}  lr {:.2e}  G_GAN {:.3}  G_L1 {:.3}  D_real {:.3}  D_fake {:.3}{validation}  {:.1} s",
        record.epoch + 1,
        record.lr,
        losses.g_gan,
        losses.g_l1,
        losses.d_real,
        losses.d_fake,
        record.seconds
    )
}

/// A progress bar on a terminal; hidden otherwise (the per-epoch log line
/// is the plain-text progress).
fn progress_bar(length: u64, epoch: usize, total: usize) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(length);
    let style = ProgressStyle::with_template(
        "epoch {prefix} [{bar:30}] {pos}/{len} {per_sec} ETA {eta}  {msg}",
    )
    .expect("valid template")
    .progress_chars("=> ");
    bar.set_style(style);
    bar.set_prefix(format!("{}/{total}", epoch + 1));
    bar
}

/// Appends to `train.log`; a failure to log is reported, not fatal.
fn log_line(run_dir: &Path, line: &str) {
    crate::io::log_line(&run_dir.join("train.log"), line);
}

fn io_error(path: &Path, error: std::io::Error) -> TrainError {
    TrainError::Io(format!("{}: {error}", path.display()))
}
