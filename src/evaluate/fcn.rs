//! The FCN-score: how well a segmenter trained on real photos recognises
//! the label map in generated ones.
//!
//! pix2pix scores a label-to-photo translator by segmenting its outputs
//! with FCN-8s (trained on real photos) and comparing the predicted labels
//! with the input label map: if the photo is realistic and faithful, the
//! segmenter finds the classes where the map put them. We train our own
//! segmenter ([`Segmenter`]) on the real target images of the training
//! split, labelled by the palette from their input images, and cache it per
//! data set, size and settings, so every model evaluated on a data set is
//! judged by the same segmenter. Its score on the real test images is the
//! upper reference row (the paper's "ground truth").
//!
//! Scores follow the FCN evaluation code pix2pix uses, from one confusion
//! matrix over all test pixels (unlabelled pixels left out):
//! pixel accuracy = correct / labelled; class accuracy = mean over classes
//! present in the labels of their recall; mean IoU = mean over classes
//! present in the labels or the predictions of TP / (TP + FP + FN).

use std::path::{Path, PathBuf};

use burn::module::Module;
use burn::optim::GradientsParams;
use burn::tensor::activation::log_softmax;
use burn::tensor::{Device, Tensor, TensorData};
use indicatif::{ProgressBar, ProgressStyle};
use rand::rngs::ChaCha8Rng;
use rand::{RngExt, SeedableRng};
use serde::{Deserialize, Serialize};

use super::palette::{Palette, UNLABELLED, hex};
use crate::data::{DataError, DataSource, OpenSettings, PairSet, Preprocess, Split};
use crate::io::write_bytes_atomically;
use crate::model::{Mode, Segmenter, SegmenterShape};
use crate::seed::{stable_hash, stream};
use crate::train::FusedAdam;

/// Share of unlabelled input pixels above which the palette is judged not
/// to be the data set's.
const MAX_UNLABELLED_SHARE: f64 = 0.5;

/// How the segmenter is trained; part of its cache key.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct SegmenterSettings {
    /// Width of the first stage.
    pub width: usize,
    /// Adam steps.
    pub iterations: usize,
    /// Images per step.
    pub batch_size: usize,
    /// Initial learning rate, decayed linearly to 0.
    pub lr: f64,
    /// Seed of the weights, batches and flips.
    pub seed: u64,
}

impl Default for SegmenterSettings {
    fn default() -> Self {
        Self {
            width: 16,
            iterations: 800,
            batch_size: 4,
            lr: 2e-3,
            seed: 0,
        }
    }
}

/// Why the FCN-score cannot be computed.
#[derive(Debug, thiserror::Error)]
pub enum FcnError {
    /// The data cannot be read.
    #[error(transparent)]
    Data(#[from] DataError),
    /// The palette does not describe the data set's label maps.
    #[error("palette {palette} on {data}: {message}")]
    Palette {
        /// The palette's source.
        palette: String,
        /// The data set.
        data: String,
        /// What does not fit.
        message: String,
    },
    /// The cache could not be written.
    #[error("segmenter cache {path}: {message}")]
    Cache {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// Training diverged.
    #[error("the segmenter's loss became {loss} at step {step}; try a lower --segmenter-lr")]
    Diverged {
        /// The step.
        step: usize,
        /// The loss.
        loss: f32,
    },
}

/// Pixel accuracy, class accuracy and mean IoU of one set of predictions.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct FcnScore {
    /// Correct labelled pixels / labelled pixels.
    pub pixel_accuracy: f64,
    /// Mean per-class recall.
    pub class_accuracy: f64,
    /// Mean per-class intersection over union.
    pub mean_iou: f64,
    /// Labelled pixels scored.
    pub pixels: u64,
}

/// Counts of (true label, predicted label) pairs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Confusion {
    classes: usize,
    counts: Vec<u64>,
}

impl Confusion {
    /// An empty matrix for `classes` classes.
    pub fn new(classes: usize) -> Self {
        Self {
            classes,
            counts: vec![0; classes * classes],
        }
    }

    /// Adds pixels; unlabelled truths are left out.
    pub fn add(&mut self, truth: &[u8], predicted: &[u8]) {
        for (&t, &p) in truth.iter().zip(predicted) {
            let (t, p) = (usize::from(t), usize::from(p));
            if t < self.classes && p < self.classes {
                self.counts[t * self.classes + p] += 1;
            }
        }
    }

    /// The scores, or `None` when no pixel was labelled.
    pub fn score(&self) -> Option<FcnScore> {
        let k = self.classes;
        let at = |t: usize, p: usize| self.counts[t * k + p] as f64;
        let total: f64 = self.counts.iter().map(|&c| c as f64).sum();
        if total == 0.0 {
            return None;
        }
        let correct: f64 = (0..k).map(|c| at(c, c)).sum();
        let truth = |c: usize| (0..k).map(|p| at(c, p)).sum::<f64>();
        let predicted = |c: usize| (0..k).map(|t| at(t, c)).sum::<f64>();

        let recalls: Vec<f64> = (0..k)
            .filter(|&c| truth(c) > 0.0)
            .map(|c| at(c, c) / truth(c))
            .collect();
        let ious: Vec<f64> = (0..k)
            .filter_map(|c| {
                let union = truth(c) + predicted(c) - at(c, c);
                (union > 0.0).then(|| at(c, c) / union)
            })
            .collect();
        Some(FcnScore {
            pixel_accuracy: correct / total,
            class_accuracy: recalls.iter().sum::<f64>() / recalls.len() as f64,
            mean_iou: ious.iter().sum::<f64>() / ious.len() as f64,
            pixels: total as u64,
        })
    }
}

/// What the cache records beside a segmenter's weights.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SegmenterInfo {
    /// The data set it was trained on.
    pub data: String,
    /// The palette's source.
    pub palette: String,
    /// Its class names.
    pub classes: Vec<String>,
    /// Its shape.
    pub shape: SegmenterShape,
    /// How it was trained.
    pub settings: SegmenterSettings,
    /// Training pairs used.
    pub train_pairs: usize,
    /// Labelled pixels per class in the training label maps.
    pub class_pixels: Vec<u64>,
    /// Share of training pixels no palette colour matched.
    pub unlabelled_share: f64,
    /// Mean cross-entropy of the last tenth of the steps.
    pub final_loss: f64,
}

/// A trained segmenter and the palette that labels its inputs.
pub struct FcnScorer {
    segmenter: Segmenter,
    palette: Palette,
    /// How it was made.
    pub info: SegmenterInfo,
    /// Where it is cached.
    pub folder: PathBuf,
    /// Whether it came from the cache rather than being trained now.
    pub from_cache: bool,
}

/// Where segmenters are cached: `$UNET_NAS_CACHE`, else
/// `$XDG_CACHE_HOME/unet-nas`, else `~/.cache/unet-nas`, else a folder in
/// the system's temporary directory.
pub fn default_cache_dir() -> PathBuf {
    let from_env = |name: &str| std::env::var_os(name).filter(|value| !value.is_empty());
    if let Some(dir) = from_env("UNET_NAS_CACHE") {
        return PathBuf::from(dir);
    }
    if let Some(dir) = from_env("XDG_CACHE_HOME") {
        return PathBuf::from(dir).join("unet-nas");
    }
    match from_env("HOME") {
        Some(home) => PathBuf::from(home).join(".cache").join("unet-nas"),
        None => std::env::temp_dir().join("unet-nas-cache"),
    }
}

/// The labelled training set of a segmenter.
struct LabelledSet {
    images: Vec<(Vec<f32>, [usize; 3])>,
    labels: Vec<Vec<u8>>,
    class_pixels: Vec<u64>,
    unlabelled_share: f64,
}

impl FcnScorer {
    /// Loads the segmenter for `data` at `preprocess`'s size from the
    /// cache under `cache_dir`, or trains and caches it.
    pub fn prepare(
        data: &DataSource,
        open: &OpenSettings,
        preprocess: &Preprocess,
        palette: &Palette,
        settings: &SegmenterSettings,
        cache_dir: &Path,
    ) -> Result<Self, FcnError> {
        let train = PairSet::open(data, Split::Train, open)?;
        let key = cache_key(data, open, preprocess, palette, settings, &train);
        let folder = cache_dir.join("segmenters").join(format!("{key:016x}"));
        let device = crate::train::compute_device();

        if let Some((segmenter, info)) = load_cached(&folder, &device) {
            tracing::info!("segmenter for {data} loaded from {}", folder.display());
            return Ok(Self {
                segmenter,
                palette: palette.clone(),
                info,
                folder,
                from_cache: true,
            });
        }

        let labelled = label_training_set(&train, preprocess, palette, data)?;
        let side = labelled.images[0].1[1].min(labelled.images[0].1[2]);
        let shape = SegmenterShape {
            in_channels: labelled.images[0].1[0],
            classes: palette.len(),
            width: settings.width,
            stages: SegmenterShape::stages_for(side),
        };
        let (segmenter, final_loss) = train_segmenter(&labelled, &shape, settings)?;
        let info = SegmenterInfo {
            data: data.to_string(),
            palette: palette.source.clone(),
            classes: palette.classes.iter().map(|c| c.name.clone()).collect(),
            shape,
            settings: *settings,
            train_pairs: labelled.images.len(),
            class_pixels: labelled.class_pixels,
            unlabelled_share: labelled.unlabelled_share,
            final_loss,
        };
        store(&folder, &segmenter, &info)?;
        Ok(Self {
            segmenter: segmenter.valid(),
            palette: palette.clone(),
            info,
            folder,
            from_cache: false,
        })
    }

    /// Label maps of a batch of input images `[b, c, h, w]` in [-1, 1].
    pub fn labels_of_inputs(&self, input: &TensorData) -> Vec<Vec<u8>> {
        let shape = input.shape().to_vec();
        let values = input.as_slice::<f32>().expect("float32 inputs");
        let plane = shape[1] * shape[2] * shape[3];
        let mut labeller = self.palette.labeller();
        values
            .chunks_exact(plane)
            .map(|image| {
                let bytes = hwc_bytes(image, shape[1]);
                labeller.label_pixels(&bytes, shape[1])
            })
            .collect()
    }

    /// Predicted label maps of images `[b, c, h, w]` in [-1, 1].
    pub fn segment(&self, images: Tensor<4>) -> Vec<Vec<u8>> {
        let [batch, _, h, w] = images.dims();
        let predicted = self
            .segmenter
            .forward(images, &Mode::Eval)
            .argmax(1)
            .into_data();
        let labels: Vec<u8> = predicted.iter::<i64>().map(|label| label as u8).collect();
        labels
            .chunks_exact(h * w)
            .take(batch)
            .map(<[u8]>::to_vec)
            .collect()
    }

    /// Number of classes.
    pub fn classes(&self) -> usize {
        self.palette.len()
    }
}

/// CHW float32 in [-1, 1] to HWC bytes, as the images were stored.
fn hwc_bytes(chw: &[f32], channels: usize) -> Vec<u8> {
    let plane = chw.len() / channels;
    let byte = |v: f32| ((v + 1.0) * 127.5).round().clamp(0.0, 255.0) as u8;
    (0..plane)
        .flat_map(|pixel| (0..channels).map(move |c| byte(chw[c * plane + pixel])))
        .collect()
}

fn cache_key(
    data: &DataSource,
    open: &OpenSettings,
    preprocess: &Preprocess,
    palette: &Palette,
    settings: &SegmenterSettings,
    train: &PairSet,
) -> u64 {
    let names: Vec<String> = (0..train.len()).map(|index| train.name(index)).collect();
    let synth = match data {
        DataSource::Builtin(_) => Some(open.synth),
        DataSource::Folder(_) => None,
    };
    let description = serde_json::json!({
        "version": 1,
        "data": data.to_string(),
        "direction": open.direction,
        "channels": format!("{:?}", open.channels),
        "synth": synth,
        "preprocess": preprocess,
        "palette": palette,
        "settings": settings,
        "pairs": names,
    });
    stable_hash(&description.to_string())
}

fn load_cached(folder: &Path, device: &Device) -> Option<(Segmenter, SegmenterInfo)> {
    let text = std::fs::read_to_string(folder.join("segmenter.json")).ok()?;
    let info: SegmenterInfo = serde_json::from_str(&text).ok()?;
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let segmenter = Segmenter::new(&info.shape, &mut rng, device)
        .try_load_file(folder.join("segmenter.bpk"))
        .ok()?;
    Some((segmenter, info))
}

/// Writes weights, then the info file atomically: the info file is what
/// marks a cache entry complete.
fn store(folder: &Path, segmenter: &Segmenter, info: &SegmenterInfo) -> Result<(), FcnError> {
    let cache_error = |path: &Path, message: String| FcnError::Cache {
        path: path.to_path_buf(),
        message,
    };
    std::fs::create_dir_all(folder).map_err(|e| cache_error(folder, e.to_string()))?;
    let weights = folder.join("segmenter.bpk");
    segmenter
        .clone()
        .save_file(&weights)
        .map_err(|e| cache_error(&weights, e.to_string()))?;
    let path = folder.join("segmenter.json");
    let json = serde_json::to_vec_pretty(info).map_err(|e| cache_error(&path, e.to_string()))?;
    write_bytes_atomically(&path, &json).map_err(|e| cache_error(&path, e.to_string()))
}

/// Prepares every training pair and labels its input through the palette,
/// checking that the palette fits the data.
fn label_training_set(
    train: &PairSet,
    preprocess: &Preprocess,
    palette: &Palette,
    data: &DataSource,
) -> Result<LabelledSet, FcnError> {
    let preprocess = preprocess.deterministic();
    let mut labeller = palette.labeller();
    let mut images = Vec::with_capacity(train.len());
    let mut labels = Vec::with_capacity(train.len());
    let mut class_pixels = vec![0u64; palette.len()];
    let mut unlabelled = 0u64;
    for index in 0..train.len() {
        let prepared = preprocess.apply(train.get(index)?.as_ref(), None)?;
        let channels = prepared.input_shape[0];
        let map = labeller.label_pixels(&hwc_bytes(&prepared.input, channels), channels);
        for &label in &map {
            match label {
                UNLABELLED => unlabelled += 1,
                class => class_pixels[usize::from(class)] += 1,
            }
        }
        labels.push(map);
        images.push((prepared.target, prepared.target_shape));
    }

    let total = unlabelled + class_pixels.iter().sum::<u64>();
    let unlabelled_share = unlabelled as f64 / total.max(1) as f64;
    let misfit = |message: String| FcnError::Palette {
        palette: palette.source.clone(),
        data: data.to_string(),
        message,
    };
    if unlabelled_share > MAX_UNLABELLED_SHARE {
        return Err(misfit(format!(
            "{:.0}% of the input pixels of the training split are farther than {} from every palette colour; is this the data set's palette, and are its label maps the input side (see --direction)?",
            unlabelled_share * 100.0,
            palette.tolerance
        )));
    }
    let unused: Vec<String> = palette
        .classes
        .iter()
        .zip(&class_pixels)
        .filter(|(_, count)| **count == 0)
        .map(|(class, _)| format!("'{}' {}", class.name, hex(class.color)))
        .collect();
    if palette.require_all_classes && !unused.is_empty() {
        return Err(misfit(format!(
            "no input image of the training split uses {}",
            unused.join(", ")
        )));
    }
    if !unused.is_empty() {
        tracing::warn!(
            "palette {}: classes absent from the training split of {data}: {}",
            palette.source,
            unused.join(", ")
        );
    }
    Ok(LabelledSet {
        images,
        labels,
        class_pixels,
        unlabelled_share,
    })
}

/// Trains a segmenter with pixel-wise cross-entropy (unlabelled pixels left
/// out), random batches and horizontal flips; returns it and the mean loss
/// of the last tenth of the steps.
fn train_segmenter(
    set: &LabelledSet,
    shape: &SegmenterShape,
    settings: &SegmenterSettings,
) -> Result<(Segmenter, f64), FcnError> {
    let device = crate::train::compute_device().autodiff();
    let mut init_rng = stream(settings.seed, &[1]);
    let mut batch_rng = stream(settings.seed, &[2]);
    let mut unused_dropout = stream(settings.seed, &[3]);
    let mut segmenter = Segmenter::new(shape, &mut init_rng, &device);
    let mut optimizer = FusedAdam::new(0.9, 0.999, 1e-8).into_module_optimizer();

    let progress = ProgressBar::new(settings.iterations as u64).with_style(
        ProgressStyle::with_template("segmenter {bar:30} {pos}/{len} steps, loss {msg} ({eta})")
            .expect("valid template"),
    );
    let tail_start = settings.iterations - settings.iterations.div_ceil(10);
    let mut tail_loss = (0.0, 0usize);
    for step in 0..settings.iterations {
        let (images, targets, labelled) = batch(set, shape.classes, settings, &mut batch_rng);
        let images = Tensor::<4>::from_data(images, &device);
        let targets = Tensor::<4>::from_data(targets, &device);
        let mode = Mode::Train {
            dropout_rng: &mut unused_dropout,
        };
        let logits = segmenter.forward(images, &mode);
        let loss = -(log_softmax(logits, 1) * targets).sum() / labelled.max(1) as f64;
        let value = loss.clone().into_scalar::<f32>();
        if !value.is_finite() {
            progress.abandon();
            return Err(FcnError::Diverged { step, loss: value });
        }
        if step >= tail_start {
            tail_loss = (tail_loss.0 + f64::from(value), tail_loss.1 + 1);
        }

        let lr = settings.lr * (1.0 - step as f64 / settings.iterations as f64);
        let gradients = GradientsParams::from_grads(loss.backward(), &segmenter);
        segmenter = optimizer.step(lr, segmenter, gradients);
        progress.set_message(format!("{value:.3}"));
        progress.inc(1);
    }
    progress.finish_and_clear();
    Ok((segmenter, tail_loss.0 / tail_loss.1.max(1) as f64))
}

/// A random batch of images of one shape, their one-hot label maps (all
/// zero where unlabelled) and the count of labelled pixels.
fn batch(
    set: &LabelledSet,
    classes: usize,
    settings: &SegmenterSettings,
    rng: &mut ChaCha8Rng,
) -> (TensorData, TensorData, usize) {
    let first = rng.random_range(0..set.images.len());
    let shape = set.images[first].1;
    let mut chosen = vec![first];
    for _ in 1..settings.batch_size {
        let index = rng.random_range(0..set.images.len());
        if set.images[index].1 == shape {
            chosen.push(index);
        }
    }

    let [channels, h, w] = shape;
    let mut images = Vec::with_capacity(chosen.len() * channels * h * w);
    let mut one_hot = vec![0.0f32; chosen.len() * classes * h * w];
    let mut labelled = 0;
    for (slot, &index) in chosen.iter().enumerate() {
        let flip = rng.random_bool(0.5);
        let source = |x: usize| if flip { w - 1 - x } else { x };
        let image = &set.images[index].0;
        for c in 0..channels {
            for y in 0..h {
                images.extend((0..w).map(|x| image[(c * h + y) * w + source(x)]));
            }
        }
        let map = &set.labels[index];
        for y in 0..h {
            for x in 0..w {
                let label = map[y * w + source(x)];
                if label != UNLABELLED {
                    one_hot[((slot * classes + usize::from(label)) * h + y) * w + x] = 1.0;
                    labelled += 1;
                }
            }
        }
    }
    let count = chosen.len();
    (
        TensorData::new(images, [count, channels, h, w]),
        TensorData::new(one_hot, [count, classes, h, w]),
        labelled,
    )
}

/// Ground truth and predictions accumulated over a test split.
pub struct FcnMeter {
    /// Real test images against their labels.
    pub real: Confusion,
    /// Generated images against the labels of their inputs.
    pub generated: Confusion,
}

impl FcnMeter {
    /// Empty matrices for `scorer`.
    pub fn new(scorer: &FcnScorer) -> Self {
        Self {
            real: Confusion::new(scorer.classes()),
            generated: Confusion::new(scorer.classes()),
        }
    }

    /// Scores one batch: `input` gives the labels, `real` and `generated`
    /// are segmented.
    pub fn add(
        &mut self,
        scorer: &FcnScorer,
        input: &TensorData,
        real: Tensor<4>,
        generated: Tensor<4>,
    ) {
        let truth = scorer.labels_of_inputs(input);
        for (truth, predicted) in truth.iter().zip(scorer.segment(real)) {
            self.real.add(truth, &predicted);
        }
        for (truth, predicted) in truth.iter().zip(scorer.segment(generated)) {
            self.generated.add(truth, &predicted);
        }
    }
}

impl std::fmt::Debug for FcnScorer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FcnScorer")
            .field("info", &self.info)
            .field("folder", &self.folder)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_follow_the_fcn_evaluation_formulas() {
        // truth:     0 0 0 1 1 2, predicted: 0 0 1 1 2 2, one unlabelled.
        let mut confusion = Confusion::new(4);
        confusion.add(&[0, 0, 0, 1, 1, 2, UNLABELLED], &[0, 0, 1, 1, 2, 2, 3]);
        let score = confusion.score().unwrap();
        assert_eq!(score.pixels, 6);
        assert!((score.pixel_accuracy - 4.0 / 6.0).abs() < 1e-12);
        // Recalls 2/3, 1/2, 1/1 (class 3 absent from the truth).
        assert!((score.class_accuracy - (2.0 / 3.0 + 0.5 + 1.0) / 3.0).abs() < 1e-12);
        // IoUs: 2/3, 1/3, 1/2; class 3 has an empty union.
        assert!((score.mean_iou - (2.0 / 3.0 + 1.0 / 3.0 + 0.5) / 3.0).abs() < 1e-12);
    }

    #[test]
    fn a_class_only_predicted_counts_as_zero_iou() {
        let mut confusion = Confusion::new(2);
        confusion.add(&[0, 0], &[0, 1]);
        let score = confusion.score().unwrap();
        assert!((score.mean_iou - 0.25).abs() < 1e-12, "{score:?}");
        assert!((score.class_accuracy - 0.5).abs() < 1e-12);
        assert_eq!(Confusion::new(3).score(), None);
    }

    #[test]
    fn bytes_round_trip_through_the_model_scaling() {
        let bytes: Vec<u8> = (0..=255).collect();
        let scaled: Vec<f32> = bytes.iter().map(|&b| f32::from(b) / 127.5 - 1.0).collect();
        assert_eq!(hwc_bytes(&scaled, 1), bytes);
    }
}
