//! The grid of test translations: input, original U-Net, searched
//! generator, target, one row per test image.

use std::path::Path;

use burn::tensor::Tensor;
use image::DynamicImage;

use crate::data::{DataSource, PairSet, Split, chw_to_image};
use crate::evaluate::load_finished;
use crate::model::{Generator, Mode};

/// One row of the grid.
pub struct Row {
    /// The pair's name.
    pub name: String,
    /// What the generators read.
    pub input: DynamicImage,
    /// The original U-Net's output, when it was trained.
    pub original: Option<DynamicImage>,
    /// The searched generator's output.
    pub searched: DynamicImage,
    /// The real target.
    pub target: DynamicImage,
}

/// The grid, and the split it came from.
pub struct Grid {
    /// Rows in test-split order.
    pub rows: Vec<Row>,
    /// `builtin:facades (test)`.
    pub source: String,
    /// Why the original column is empty, when it is.
    pub original_note: Option<String>,
}

/// Translates the first `count` test pairs of the search's data with the
/// finished final models under `run_dir/final`.
pub fn translation_grid(run_dir: &Path, data: &DataSource, count: usize) -> Result<Grid, String> {
    let best_dir = run_dir.join("final/best");
    let (config, searched) = load_finished(&best_dir).map_err(|error| {
        format!("the final training of the best genome is not available: {error}")
    })?;
    let original_dir = run_dir.join("final/original");
    let (original, original_note) = if original_dir.exists() {
        match load_finished(&original_dir) {
            Ok((_, generator)) => (Some(generator), None),
            Err(error) => (None, Some(error.to_string())),
        }
    } else {
        (
            None,
            Some(
                "the search ran without compare-original, so no original U-Net was trained".into(),
            ),
        )
    };

    let settings = config.open_settings();
    let (set, split) = match PairSet::open(data, Split::Test, &settings) {
        Ok(set) => (set, Split::Test),
        Err(test_error) => {
            let set = PairSet::open(data, Split::Val, &settings)
                .map_err(|_| format!("no test or val split to translate: {test_error}"))?;
            (set, Split::Val)
        }
    };
    let preprocess = config.preprocess().deterministic();
    let device = crate::train::compute_device();
    let mut rows = Vec::new();
    for index in 0..set.len().min(count) {
        let pair = set.get(index).map_err(|error| error.to_string())?;
        let prepared = preprocess
            .apply(&pair, None)
            .map_err(|error| error.to_string())?;
        let input_shape = prepared.input_shape;
        let run = |generator: &Generator| {
            let dims = [1, input_shape[0], input_shape[1], input_shape[2]];
            let input = Tensor::<4>::from_data(
                burn::tensor::TensorData::new(prepared.input.clone(), dims),
                &device,
            );
            let output = generator.forward(input, &mut Mode::Eval).into_data();
            let values = output.as_slice::<f32>().expect("float32 output").to_vec();
            chw_to_image(&values, prepared.target_shape)
        };
        rows.push(Row {
            name: pair.name.clone(),
            input: chw_to_image(&prepared.input, input_shape),
            original: original.as_ref().map(&run),
            searched: run(&searched),
            target: chw_to_image(&prepared.target, prepared.target_shape),
        });
    }
    Ok(Grid {
        rows,
        source: format!("{data} ({split})"),
        original_note,
    })
}
