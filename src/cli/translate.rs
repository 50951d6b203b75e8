//! `unet-nas translate`: apply a trained generator to images.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::Args;
use image::{DynamicImage, GenericImageView};
use tracing::warn;

use unet_nas::data::Direction;
use unet_nas::io::write_atomically;
use unet_nas::translate::{InferenceMode, Translator};

pub const EXAMPLES: &str = "\
Examples:
  unet-nas translate --model runs/p2p --input photo_labels.png --out translated/
  unet-nas translate --model runs/p2p --input datasets/facades/test --aligned --out results/";

/// Arguments of `unet-nas translate`.
#[derive(Debug, Args)]
pub struct TranslateArgs {
    /// A training run folder (its latest checkpoint is used).
    #[arg(long, value_name = "RUN_DIR")]
    model: PathBuf,

    /// An image, or a folder of images, of any size.
    #[arg(long, value_name = "DIR|IMAGE")]
    input: PathBuf,

    /// Folder for the translated PNGs (created when missing).
    #[arg(long, value_name = "DIR")]
    out: PathBuf,

    /// Inputs are aligned A|B pairs; the half the model reads is translated.
    #[arg(long)]
    aligned: bool,

    /// Use batch statistics and dropout, as pix2pix's test.py does without
    /// --eval (default: eval mode, BatchNorm running statistics).
    #[arg(long)]
    train_mode: bool,

    /// Images with a side above this are translated in overlapping tiles.
    #[arg(long, default_value_t = 1024, value_name = "PIXELS")]
    tile: u32,
}

pub fn run(args: TranslateArgs) -> Result<()> {
    let mode = if args.train_mode {
        InferenceMode::Train
    } else {
        InferenceMode::Eval
    };
    let translator = Translator::open(&args.model, mode, args.tile)?;
    if !translator.finished {
        warn!(
            "{} has not finished training; using its checkpoint after epoch {}",
            args.model.display(),
            translator.epochs
        );
    }
    let inputs = list_inputs(&args.input)?;
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create {}", args.out.display()))?;

    let mut failed = 0;
    for path in &inputs {
        if let Err(error) = translate_one(&translator, path, &args) {
            warn!("skipped {}: {error:#}", path.display());
            failed += 1;
        }
    }
    let mode_name = if args.train_mode {
        "training mode (batch statistics, dropout)"
    } else {
        "eval mode (running statistics)"
    };
    println!(
        "translated {} of {} images into {} in {mode_name}",
        inputs.len() - failed,
        inputs.len(),
        args.out.display()
    );
    if failed == inputs.len() {
        bail!("no image could be translated");
    }
    Ok(())
}

fn translate_one(translator: &Translator, path: &Path, args: &TranslateArgs) -> Result<()> {
    let image = image::open(path).with_context(|| "not a readable image")?;
    let source = if args.aligned {
        input_half(&image, translator.config().direction)?
    } else {
        image
    };
    let output = translator.translate(&source);

    let name = path.file_stem().unwrap_or_default().to_string_lossy();
    let target = args.out.join(format!("{name}.png"));
    write_atomically(&target, |writer| {
        output
            .write_to(writer, image::ImageFormat::Png)
            .map_err(std::io::Error::other)
    })
    .with_context(|| format!("cannot write {}", target.display()))
}

fn input_half(image: &DynamicImage, direction: Direction) -> Result<DynamicImage> {
    let (width, height) = image.dimensions();
    if width % 2 == 1 {
        bail!("aligned image is {width}x{height}; an odd width cannot split into A and B");
    }
    let x = match direction {
        Direction::AtoB => 0,
        Direction::BtoA => width / 2,
    };
    Ok(image.crop_imm(x, 0, width / 2, height))
}

fn list_inputs(input: &Path) -> Result<Vec<PathBuf>> {
    if input.is_file() {
        return Ok(vec![input.to_path_buf()]);
    }
    if !input.is_dir() {
        bail!("{} does not exist", input.display());
    }
    let mut paths = Vec::new();
    for entry in
        std::fs::read_dir(input).with_context(|| format!("cannot list {}", input.display()))?
    {
        let path = entry?.path();
        let is_image = path
            .extension()
            .map(|e| e.to_string_lossy().to_lowercase())
            .is_some_and(|e| ["png", "jpg", "jpeg", "bmp"].contains(&e.as_str()));
        if is_image {
            paths.push(path);
        }
    }
    if paths.is_empty() {
        bail!(
            "{} holds no .png, .jpg, .jpeg or .bmp images",
            input.display()
        );
    }
    paths.sort();
    Ok(paths)
}
