//! `builtin:maps`: a top-down street map -> an aerial-like view.

use image::RgbImage;
use rand::rngs::ChaCha8Rng;
use rand::{RngExt, SeedableRng};

use super::Palette;
use super::canvas::{Canvas, mix, rgb, scale};
use super::noise;

const LAND: u8 = 0;
const ROAD: u8 = 1;
const WATER: u8 = 2;
const PARK: u8 = 3;
const BUILDING: u8 = 4;

/// The map classes and their label colours (map-style rendering).
pub static PALETTE: Palette = Palette {
    names: &["land", "road", "water", "park", "building"],
    colors: &[
        [236, 232, 222],
        [252, 252, 252],
        [160, 200, 240],
        [180, 225, 160],
        [205, 192, 180],
    ],
};

/// Roof colours buildings are drawn in from above.
const ROOFS: [[f32; 3]; 5] = [
    [150.0, 150.0, 155.0],
    [140.0, 75.0, 60.0],
    [90.0, 90.0, 95.0],
    [200.0, 195.0, 185.0],
    [120.0, 110.0, 90.0],
];

/// Draws one pair of side `size` from `seed`.
pub fn draw(size: u32, seed: u64) -> (RgbImage, RgbImage) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let canvas = layout(size, &mut rng);
    let aerial = render(&canvas, &mut rng, seed);
    (canvas.to_image(&PALETTE), aerial)
}

fn layout(size: u32, rng: &mut ChaCha8Rng) -> Canvas {
    let mut canvas = Canvas::new(size, LAND);
    for _ in 0..rng.random_range(0..=3) {
        let (cx, cy) = (rng.random_range(0.0..1.0), rng.random_range(0.0..1.0));
        let (rx, ry) = (rng.random_range(0.08..0.25), rng.random_range(0.08..0.25));
        canvas.shape(
            PARK,
            |u, v| ((u - cx) / rx).powi(2) + ((v - cy) / ry).powi(2) < 1.0,
            |_| true,
        );
    }

    if rng.random_bool(0.6) {
        let (offset, width) = (rng.random_range(0.2..0.8), rng.random_range(0.06..0.15));
        let (amplitude, frequency) = (rng.random_range(0.03..0.12), rng.random_range(3.0..9.0));
        let vertical = rng.random_bool(0.5);
        canvas.shape(
            WATER,
            |u, v| {
                let (along, across) = if vertical { (v, u) } else { (u, v) };
                (across - offset - amplitude * (along * frequency).sin()).abs() < width / 2.0
            },
            |_| true,
        );
    } else if rng.random_bool(0.4) {
        let (cx, cy, r) = (
            rng.random_range(0.2..0.8),
            rng.random_range(0.2..0.8),
            rng.random_range(0.1..0.2),
        );
        canvas.shape(
            WATER,
            |u, v| (u - cx).powi(2) + (v - cy).powi(2) < r * r,
            |_| true,
        );
    }

    for _ in 0..rng.random_range(12..30) {
        let (x, y) = (rng.random_range(0.0..0.95), rng.random_range(0.0..0.95));
        let (w, h) = (rng.random_range(0.03..0.1), rng.random_range(0.03..0.1));
        canvas.rect((x, y, x + w, y + h), BUILDING, |c| c == LAND);
    }

    let width = rng.random_range(0.025..0.05);
    for _ in 0..rng.random_range(2..=4) {
        let y = rng.random_range(0.05..0.95);
        canvas.rect((0.0, y, 1.0, y + width), ROAD, |_| true);
    }
    for _ in 0..rng.random_range(2..=4) {
        let x = rng.random_range(0.05..0.95);
        canvas.rect((x, 0.0, x + width, 1.0), ROAD, |_| true);
    }
    canvas
}

/// Colours and light of one aerial view.
struct Look {
    ground: [f32; 3],
    grass: [f32; 3],
    water: [f32; 3],
    asphalt: [f32; 3],
    brightness: f32,
    noise_seed: u64,
}

fn render(canvas: &Canvas, rng: &mut ChaCha8Rng, seed: u64) -> RgbImage {
    let look = Look {
        ground: [
            rng.random_range(110.0..150.0),
            rng.random_range(110.0..140.0),
            rng.random_range(80.0..105.0),
        ],
        grass: [
            rng.random_range(50.0..90.0),
            rng.random_range(95.0..130.0),
            rng.random_range(40.0..60.0),
        ],
        water: [
            rng.random_range(30.0..50.0),
            rng.random_range(60.0..85.0),
            rng.random_range(80.0..110.0),
        ],
        asphalt: [rng.random_range(75.0..105.0); 3],
        brightness: rng.random_range(0.85..1.15),
        noise_seed: seed ^ 0x0a3a1,
    };
    let side = canvas.side;
    RgbImage::from_fn(side, side, |x, y| rgb(shade(canvas, &look, x, y)))
}

fn shade(canvas: &Canvas, look: &Look, x: u32, y: u32) -> [f32; 3] {
    let side = canvas.side as f32;
    let (fx, fy) = (x as f32, y as f32);
    let grain = noise::fractal(fx, fy, side / 5.0, look.noise_seed) - 0.5;
    let fine = noise::value(fx, fy, 1.5, look.noise_seed ^ 0x77) - 0.5;

    let color = match canvas.get(x, y) {
        LAND => scale(look.ground, 1.0 + grain * 0.4),
        PARK => {
            let tree = noise::value(fx, fy, (side / 20.0).max(1.5), look.noise_seed ^ 0x3) > 0.55;
            scale(look.grass, if tree { 0.65 } else { 1.0 + grain * 0.3 })
        }
        WATER => mix(look.water, [120.0, 150.0, 160.0], (grain + 0.5) * 0.25),
        ROAD => scale(look.asphalt, 1.0 + fine * 0.25),
        _ => roof(canvas, x, y, side),
    };

    let shadowed =
        canvas.get(x, y) != BUILDING && x >= 1 && y >= 1 && canvas.get(x - 1, y - 1) == BUILDING;
    scale(color, look.brightness * if shadowed { 0.55 } else { 1.0 })
}

/// Each building gets a roof colour from where its top-left corner is.
fn roof(canvas: &Canvas, x: u32, y: u32, side: f32) -> [f32; 3] {
    let (mut left, mut top) = (x, y);
    while left > 0 && canvas.get(left - 1, y) == BUILDING {
        left -= 1;
    }
    while top > 0 && canvas.get(x, top - 1) == BUILDING {
        top -= 1;
    }
    let pick = ((left * 31 + top * 17) as usize) % ROOFS.len();
    let ridge = if (x as f32 - left as f32) < side / 64.0 {
        1.15
    } else {
        1.0
    };
    scale(ROOFS[pick], ridge)
}
