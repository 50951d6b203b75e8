//! Sample grids: input | output | target for a few fixed pairs.

use std::path::Path;

use burn::tensor::{Device, Tensor, TensorData};
use image::{DynamicImage, RgbImage};

use crate::data::{Batch, chw_to_image};
use crate::io::write_atomically;
use crate::model::{Generator, Mode};

/// Renders the generator's output for `batch` (eval mode) as one row per
/// pair: input, output, target side by side. Written atomically as PNG.
pub fn write_grid(
    path: &Path,
    generator: &Generator,
    batch: &Batch,
    device: &Device,
) -> std::io::Result<()> {
    let input = Tensor::<4>::from_data(batch.input.clone(), device);
    let output = generator.forward(input, &mut Mode::Eval).into_data();
    let grid = compose(&batch.input, &output, &batch.target);
    write_atomically(path, |writer| {
        grid.write_to(writer, image::ImageFormat::Png)
            .map_err(std::io::Error::other)
    })
}

fn compose(input: &TensorData, output: &TensorData, target: &TensorData) -> RgbImage {
    let [batch, _, height, width] = dims(input);
    let mut grid = RgbImage::new(3 * width as u32, (batch * height) as u32);
    for (column, data) in [input, output, target].into_iter().enumerate() {
        for row in 0..batch {
            let tile = tile(data, row).to_rgb8();
            let x = (column * width) as i64;
            let y = (row * height) as i64;
            image::imageops::replace(&mut grid, &tile, x, y);
        }
    }
    grid
}

/// Example `index` of a `[batch, c, h, w]` tensor as an image.
fn tile(data: &TensorData, index: usize) -> DynamicImage {
    let [_, channels, height, width] = dims(data);
    let values = data.as_slice::<f32>().expect("float32 images");
    let size = channels * height * width;
    chw_to_image(
        &values[index * size..(index + 1) * size],
        [channels, height, width],
    )
}

fn dims(data: &TensorData) -> [usize; 4] {
    let shape = data.shape();
    [shape[0], shape[1], shape[2], shape[3]]
}
