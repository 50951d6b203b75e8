//! Evaluating trained generators: image metrics and the FCN-score on a test
//! split, cost and measured latency, in the columns of the paper's Table 1.
//!
//! The FCN-score needs label maps, so it is computed only where the data
//! set has a palette (the built-in sets, a `--palette`, or `palette.toml`
//! in the data folder); otherwise its columns are absent and the evaluation
//! says why, rather than estimating them.

pub mod fcn;
pub mod metrics;
pub mod palette;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use burn::module::Module;
use burn::tensor::{Distribution, Tensor};
use serde::{Deserialize, Serialize};

use crate::cost::Cost;
use crate::data::{BatchLoader, DataError, DataSource, Order, PairSet, Split};
use crate::io::write_bytes_atomically;
use crate::model::Mode;
use crate::train::run::{TrainError, load_config};
use crate::train::{RunState, load_generator};
use fcn::{FcnError, FcnMeter, FcnScore, FcnScorer, SegmenterInfo, SegmenterSettings};
use metrics::{ImageScores, score};
use palette::{Palette, PaletteChoice, PaletteError};

/// Timed forward passes for the latency (after one warm-up).
const LATENCY_RUNS: usize = 5;

/// Why a model could not be evaluated.
#[derive(Debug, thiserror::Error)]
pub enum EvaluateError {
    /// The folder is no training run, or an unfinished one.
    #[error("{path} is not a finished training run ({reason})")]
    NotFinished {
        /// The folder.
        path: PathBuf,
        /// What is missing.
        reason: String,
    },
    /// Reading the run failed.
    #[error(transparent)]
    Train(#[from] TrainError),
    /// The data cannot be used.
    #[error(transparent)]
    Data(#[from] DataError),
    /// The palette cannot be read.
    #[error(transparent)]
    Palette(#[from] PaletteError),
    /// The FCN-score's segmenter could not be made.
    #[error(transparent)]
    Fcn(#[from] FcnError),
    /// Results could not be written.
    #[error("{0}")]
    Io(String),
}

/// How the FCN-score is computed.
#[derive(Debug, Clone)]
pub struct FcnOptions {
    /// Where the label palette comes from.
    pub palette: PaletteChoice,
    /// How the segmenter is trained.
    pub segmenter: SegmenterSettings,
    /// Where trained segmenters are cached.
    pub cache_dir: PathBuf,
}

impl Default for FcnOptions {
    fn default() -> Self {
        Self {
            palette: PaletteChoice::Auto,
            segmenter: SegmenterSettings::default(),
            cache_dir: fcn::default_cache_dir(),
        }
    }
}

impl FcnOptions {
    /// The palette for `data`, or why there is none.
    pub fn resolve_palette(
        &self,
        data: &DataSource,
    ) -> Result<Result<Palette, String>, PaletteError> {
        Ok(match (&self.palette, data) {
            (PaletteChoice::None, _) => Err("FCN-score off (--palette none)".into()),
            (PaletteChoice::Auto, DataSource::Builtin(builtin)) => Ok(Palette::builtin(*builtin)),
            (PaletteChoice::Auto, DataSource::Folder(folder)) => {
                let file = folder.join("palette.toml");
                if file.is_file() {
                    Ok(Palette::from_file(&file)?)
                } else {
                    Err(format!(
                        "no FCN-score: {} has no palette.toml and no --palette was given",
                        folder.display()
                    ))
                }
            }
            (PaletteChoice::Cityscapes, _) => Ok(Palette::cityscapes()),
            (PaletteChoice::CmpFacades, _) => Ok(Palette::cmp_facades()),
            (PaletteChoice::Builtin(builtin), _) => Ok(Palette::builtin(*builtin)),
            (PaletteChoice::File(path), _) => Ok(Palette::from_file(path)?),
        })
    }
}

/// One model's row of the comparison table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelEvaluation {
    /// The run folder.
    pub model: String,
    /// Its genome.
    pub genome: String,
    /// The data set and split evaluated on.
    pub data: String,
    /// Learnable parameters.
    pub parameters: u64,
    /// Model size at float32 in MB (10^6 bytes).
    pub model_mb: f64,
    /// Paper FLOPs per image at the model's size.
    pub paper_flops: u64,
    /// MACs per image at the model's size.
    pub macs: u64,
    /// Median inference time per image on this machine, in ms.
    pub latency_ms: f64,
    /// Mean L1 on [0, 1] pixels.
    pub l1: f64,
    /// Mean PSNR in dB over images that differ from their target.
    pub psnr: Option<f64>,
    /// Mean SSIM.
    pub ssim: f64,
    /// FCN-score of the generated images.
    #[serde(default)]
    pub fcn: Option<FcnScore>,
    /// FCN-score of the real test images: the upper reference.
    #[serde(default)]
    pub fcn_ground_truth: Option<FcnScore>,
    /// The segmenter behind the FCN-scores.
    #[serde(default)]
    pub segmenter: Option<SegmenterInfo>,
    /// Why there is no FCN-score, when there is none.
    #[serde(default)]
    pub fcn_note: Option<String>,
    /// Images scored.
    pub images: usize,
    /// Scores per image, by pair name.
    pub per_image: Vec<(String, ImageScores)>,
}

/// Scores the finished run in `run_dir` on the test split of `data`, in
/// eval mode (BatchNorm running statistics, no dropout), and saves the
/// result as `RUN_DIR/evaluations/<data>.json`. The FCN-score's segmenter
/// is taken from the cache or trained first (see [`fcn`]).
pub fn evaluate_model(
    run_dir: &Path,
    data: &DataSource,
    fcn_options: &FcnOptions,
) -> Result<ModelEvaluation, EvaluateError> {
    let (config, generator) = load_finished(run_dir)?;
    let device = crate::train::compute_device();
    let mut data_config = config.clone();
    data_config.data = data.clone();
    let test = Arc::new(PairSet::open(
        data,
        Split::Test,
        &data_config.open_settings(),
    )?);

    let (scorer, fcn_note) = match fcn_options.resolve_palette(data)? {
        Ok(palette) => {
            let scorer = FcnScorer::prepare(
                data,
                &data_config.open_settings(),
                &config.preprocess(),
                &palette,
                &fcn_options.segmenter,
                &fcn_options.cache_dir,
            )?;
            (Some(scorer), None)
        }
        Err(note) => (None, Some(note)),
    };

    let loader = BatchLoader::start(
        Arc::clone(&test),
        config.preprocess().deterministic(),
        1,
        Order::Sequential,
        0,
    );
    let mut per_image = Vec::with_capacity(test.len());
    let mut meter = scorer.as_ref().map(FcnMeter::new);
    for batch in loader {
        let batch = batch?;
        let shape = batch.target.shape().to_vec();
        let input = Tensor::<4>::from_data(batch.input.clone(), &device);
        let output = generator.forward(input, &mut Mode::Eval);
        if let (Some(scorer), Some(meter)) = (&scorer, &mut meter) {
            let real = Tensor::<4>::from_data(batch.target.clone(), &device);
            meter.add(scorer, &batch.input, real, output.clone());
        }
        let output = output.into_data();
        let generated = unit_range(output.as_slice::<f32>().expect("float32 output"));
        let target = unit_range(batch.target.as_slice::<f32>().expect("float32 target"));
        let scores = score(&generated, &target, [shape[1], shape[2], shape[3]]);
        per_image.push((batch.names[0].clone(), scores));
    }
    let fcn = meter.as_ref().and_then(|meter| meter.generated.score());
    let fcn_ground_truth = meter.as_ref().and_then(|meter| meter.real.score());
    let fcn_note = match (&scorer, fcn) {
        (Some(_), None) => Some("no labelled pixel in the test split".to_string()),
        _ => fcn_note,
    };

    let cost = Cost::of(&config.plan());
    let side = config.size.side() as usize;
    let evaluation = ModelEvaluation {
        model: run_dir.display().to_string(),
        genome: config.genome.to_string(),
        data: format!("{data} ({})", Split::Test),
        parameters: cost.parameters,
        model_mb: cost.model_megabytes(),
        paper_flops: cost.paper_flops,
        macs: cost.macs,
        latency_ms: latency_ms(
            &generator,
            [1, config.in_channels as usize, side, side],
            &device,
        ),
        l1: mean(per_image.iter().map(|(_, s)| s.l1)),
        psnr: {
            let finite: Vec<f64> = per_image.iter().filter_map(|(_, s)| s.psnr).collect();
            (!finite.is_empty()).then(|| mean(finite.into_iter()))
        },
        ssim: mean(per_image.iter().map(|(_, s)| s.ssim)),
        fcn,
        fcn_ground_truth,
        segmenter: scorer.map(|scorer| scorer.info),
        fcn_note,
        images: per_image.len(),
        per_image,
    };
    save(run_dir, data, &evaluation)?;
    Ok(evaluation)
}

/// The config and inference copy of the generator of the finished training
/// run in `run_dir` (BatchNorm running statistics, no dropout).
pub fn load_finished(
    run_dir: &Path,
) -> Result<(crate::train::TrainConfig, crate::model::Generator), EvaluateError> {
    let not_finished = |reason: String| EvaluateError::NotFinished {
        path: run_dir.to_path_buf(),
        reason,
    };
    let config = load_config(run_dir).map_err(|error| not_finished(error.to_string()))?;
    let state = RunState::load(run_dir).map_err(not_finished)?;
    let checkpoint = match (&state.checkpoint, state.finished) {
        (Some(checkpoint), true) => checkpoint.clone(),
        _ => {
            return Err(not_finished(format!(
                "{} of {} epochs done",
                state.epochs_done, state.total_epochs
            )));
        }
    };
    let device = crate::train::compute_device();
    let generator = load_generator(
        &run_dir.join(checkpoint).join("generator.bpk"),
        &config,
        &device,
    )
    .map_err(EvaluateError::Io)?
    .valid();
    Ok((config, generator))
}

fn unit_range(values: &[f32]) -> Vec<f32> {
    values.iter().map(|v| (v + 1.0) / 2.0).collect()
}

fn mean(values: impl Iterator<Item = f64>) -> f64 {
    let (sum, count) = values.fold((0.0, 0usize), |(sum, count), v| (sum + v, count + 1));
    sum / count.max(1) as f64
}

/// Median time of one forward pass at `shape`.
fn latency_ms(
    generator: &crate::model::Generator,
    shape: [usize; 4],
    device: &burn::tensor::Device,
) -> f64 {
    let input = Tensor::<4>::random(shape, Distribution::Uniform(-1.0, 1.0), device);
    let mut samples: Vec<f64> = (0..=LATENCY_RUNS)
        .map(|_| {
            let started = Instant::now();
            let _ = generator
                .forward(input.clone(), &mut Mode::Eval)
                .into_data();
            started.elapsed().as_secs_f64() * 1000.0
        })
        .skip(1)
        .collect();
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

fn save(
    run_dir: &Path,
    data: &DataSource,
    evaluation: &ModelEvaluation,
) -> Result<(), EvaluateError> {
    let folder = run_dir.join("evaluations");
    std::fs::create_dir_all(&folder)
        .map_err(|error| EvaluateError::Io(format!("{}: {error}", folder.display())))?;
    let name: String = data
        .to_string()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let path = folder.join(format!("{}.json", name.trim_matches('_')));
    let json = serde_json::to_vec_pretty(evaluation)
        .map_err(|error| EvaluateError::Io(error.to_string()))?;
    write_bytes_atomically(&path, &json)
        .map_err(|error| EvaluateError::Io(format!("{}: {error}", path.display())))
}
