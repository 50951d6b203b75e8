//! Writes a preview grid of the built-in data sets to a PNG (for looking at
//! what the generators draw): `cargo run --release --example synth_preview OUT.png`.

use image::RgbImage;
use unet_nas::data::Split;
use unet_nas::data::synthetic::{Builtin, SynthSettings, generate_rgb};

fn main() {
    let out = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "synth_preview.png".into());
    let settings = SynthSettings {
        size: 128,
        count: 40,
        seed: 1,
    };
    let rows: Vec<_> = [Builtin::Facades, Builtin::Maps]
        .into_iter()
        .map(|builtin| generate_rgb(builtin, Split::Train, &settings))
        .collect();
    let side = settings.size;
    let mut grid = RgbImage::new(side * 8, side * 4);
    for (row, pairs) in rows.iter().enumerate() {
        for (column, (_, a, b)) in pairs.iter().take(4).enumerate() {
            let x = i64::from(side) * 2 * column as i64;
            let y = i64::from(side) * 2 * row as i64;
            image::imageops::replace(&mut grid, a, x, y);
            image::imageops::replace(&mut grid, b, x + i64::from(side), y);
        }
        for (column, (_, a, b)) in pairs.iter().skip(4).take(4).enumerate() {
            let x = i64::from(side) * 2 * column as i64;
            let y = i64::from(side) * (2 * row as i64 + 1);
            image::imageops::replace(&mut grid, a, x, y);
            image::imageops::replace(&mut grid, b, x + i64::from(side), y);
        }
    }
    grid.save(&out).expect("preview written");
    println!("{out}");
}
