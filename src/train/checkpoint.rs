//! Checkpoints and the run state that points to the latest one.

use std::path::Path;

use burn::module::Module;
use burn::tensor::Device;
use serde::{Deserialize, Serialize};

use super::config::TrainConfig;
use super::step::{Pix2Pix, StepLosses, ValidationLoss};
use super::streams;
use crate::io::write_bytes_atomically;
use crate::model::{Generator, PatchGan};
use crate::seed::stream;

/// Version of the run-folder format written by this build.
pub const FORMAT_VERSION: u32 = 1;

/// Where a run stands; saved as `state.json` after every epoch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunState {
    /// Run-folder format version.
    pub format_version: u32,
    /// Epochs finished and checkpointed.
    pub epochs_done: usize,
    /// Epochs the run will train in all.
    pub total_epochs: usize,
    /// Training iterations finished (all epochs).
    pub iterations_done: u64,
    /// Folder of the latest checkpoint, relative to the run folder.
    pub checkpoint: Option<String>,
    /// Whether every epoch has been trained.
    pub finished: bool,
    /// One record per finished epoch.
    pub history: Vec<EpochRecord>,
}

/// What one epoch did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochRecord {
    /// Epoch number, from 0.
    pub epoch: usize,
    /// Learning rate used.
    pub lr: f64,
    /// Mean training losses.
    pub losses: StepLosses,
    /// Loss on the validation split, when there is one.
    pub validation: Option<ValidationLoss>,
    /// Wall time of the epoch, in seconds.
    pub seconds: f64,
}

impl RunState {
    /// The state of a run about to start.
    pub fn fresh(total_epochs: usize) -> Self {
        Self {
            format_version: FORMAT_VERSION,
            epochs_done: 0,
            total_epochs,
            iterations_done: 0,
            checkpoint: None,
            finished: false,
            history: Vec::new(),
        }
    }

    /// Reads `RUN_DIR/state.json`.
    pub fn load(run_dir: &Path) -> Result<Self, String> {
        let path = run_dir.join("state.json");
        let text = std::fs::read_to_string(&path)
            .map_err(|error| format!("{}: {error}", path.display()))?;
        let state: RunState = serde_json::from_str(&text)
            .map_err(|error| format!("{}: not a run state ({error})", path.display()))?;
        if state.format_version > FORMAT_VERSION {
            return Err(format!(
                "{}: format version {} is newer than this build reads ({FORMAT_VERSION})",
                path.display(),
                state.format_version
            ));
        }
        Ok(state)
    }

    /// Writes `RUN_DIR/state.json` atomically.
    pub fn save(&self, run_dir: &Path) -> std::io::Result<()> {
        let json = serde_json::to_vec_pretty(self).map_err(std::io::Error::other)?;
        write_bytes_atomically(&run_dir.join("state.json"), &json)
    }
}

/// Writes the four checkpoint files of epoch `epoch` into a fresh folder
/// and returns its name relative to the run folder. The folder is only
/// referenced (by `state.json`) once it is complete.
pub fn save_checkpoint(run_dir: &Path, epoch: usize, trainer: &Pix2Pix) -> Result<String, String> {
    let name = format!("checkpoints/epoch_{:04}", epoch + 1);
    let folder = run_dir.join(&name);
    if folder.exists() {
        std::fs::remove_dir_all(&folder).map_err(|error| io_message(&folder, error))?;
    }
    std::fs::create_dir_all(&folder).map_err(|error| io_message(&folder, error))?;

    let record = |result: Result<(), burn::store::RecordError>, file: &str| {
        result.map_err(|error| format!("{}: {error}", folder.join(file).display()))
    };
    record(
        trainer
            .generator
            .clone()
            .save_file(folder.join("generator.bpk")),
        "generator.bpk",
    )?;
    record(
        trainer
            .discriminator
            .clone()
            .save_file(folder.join("discriminator.bpk")),
        "discriminator.bpk",
    )?;
    record(
        trainer.optimizer_g.save(folder.join("optimizer_g.bpk")),
        "optimizer_g.bpk",
    )?;
    record(
        trainer.optimizer_d.save(folder.join("optimizer_d.bpk")),
        "optimizer_d.bpk",
    )?;
    Ok(name)
}

/// Removes checkpoint folders other than `keep` (older epochs, or a folder
/// a killed run wrote but never committed).
pub fn prune_checkpoints(run_dir: &Path, keep: &str) -> std::io::Result<()> {
    let folder = run_dir.join("checkpoints");
    let Ok(entries) = std::fs::read_dir(&folder) else {
        return Ok(());
    };
    let keep = run_dir.join(keep);
    for entry in entries {
        let path = entry?.path();
        if path != keep {
            std::fs::remove_dir_all(&path)?;
        }
    }
    Ok(())
}

/// Rebuilds the trainer of `config` from the checkpoint folder `name`.
pub fn load_checkpoint(
    run_dir: &Path,
    name: &str,
    config: &TrainConfig,
    device: &Device,
) -> Result<Pix2Pix, String> {
    let folder = run_dir.join(name);
    let generator = load_generator(&folder.join("generator.bpk"), config, device)?;
    let (discriminator_config, _) = config.discriminator();
    let mut rng = stream(config.seed, &[streams::INIT_DISCRIMINATOR]);
    let discriminator = PatchGan::new(&discriminator_config, &mut rng, device)
        .try_load_file(folder.join("discriminator.bpk"))
        .map_err(|error| format!("{}: {error}", folder.join("discriminator.bpk").display()))?;

    let adam = config.adam();
    let load_optimizer = |file: &str| {
        let path = folder.join(file);
        adam.build()
            .load(&path)
            .map_err(|error| format!("{}: {error}", path.display()))
    };
    Ok(Pix2Pix {
        generator,
        discriminator,
        optimizer_g: load_optimizer("optimizer_g.bpk")?,
        optimizer_d: load_optimizer("optimizer_d.bpk")?,
        objective: config.objective(),
    })
}

/// Loads a generator of `config`'s architecture from a `.bpk` file.
pub fn load_generator(
    path: &Path,
    config: &TrainConfig,
    device: &Device,
) -> Result<Generator, String> {
    let mut rng = stream(config.seed, &[streams::INIT_GENERATOR]);
    Generator::new(&config.plan(), config.generator_options(), &mut rng, device)
        .try_load_file(path)
        .map_err(|error| format!("{}: {error}", path.display()))
}

fn io_message(path: &Path, error: std::io::Error) -> String {
    format!("{}: {error}", path.display())
}
