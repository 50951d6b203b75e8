//! `builtin:facades`: a building front's label map -> a rendered photo.

use image::RgbImage;
use rand::rngs::ChaCha8Rng;
use rand::{RngExt, SeedableRng};

use super::Palette;
use super::canvas::{Canvas, mix, rgb, scale};
use super::noise;

const SKY: u8 = 0;
const WALL: u8 = 1;
const WINDOW: u8 = 2;
const DOOR: u8 = 3;
const BALCONY: u8 = 4;
const CORNICE: u8 = 5;
const PILLAR: u8 = 6;
const SHOP: u8 = 7;

/// The facade classes and their label colours.
pub static PALETTE: Palette = Palette {
    names: &[
        "sky", "wall", "window", "door", "balcony", "cornice", "pillar", "shop",
    ],
    colors: &[
        [30, 30, 140],
        [60, 110, 255],
        [255, 200, 40],
        [200, 40, 40],
        [40, 200, 120],
        [170, 255, 80],
        [255, 120, 220],
        [120, 40, 200],
    ],
};

/// Wall colours facades are painted in (beige, brick, grey, ochre, white).
const WALL_COLORS: [[f32; 3]; 5] = [
    [205.0, 190.0, 160.0],
    [165.0, 80.0, 60.0],
    [150.0, 150.0, 150.0],
    [200.0, 160.0, 80.0],
    [230.0, 228.0, 220.0],
];

/// Draws one pair of side `size` from `seed`.
pub fn draw(size: u32, seed: u64) -> (RgbImage, RgbImage) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let canvas = layout(size, &mut rng);
    let photo = render(&canvas, &mut rng, seed);
    (canvas.to_image(&PALETTE), photo)
}

fn layout(size: u32, rng: &mut ChaCha8Rng) -> Canvas {
    let mut canvas = Canvas::new(size, WALL);
    let sky = if rng.random_bool(0.8) {
        rng.random_range(0.04..0.18)
    } else {
        0.0
    };
    canvas.rect((0.0, 0.0, 1.0, sky), SKY, |_| true);

    let floors = rng.random_range(3..=6);
    let columns = rng.random_range(2..=6);
    let floor_height = (1.0 - sky) / (floors as f32 + 0.3);
    let ground_top = 1.0 - floor_height * 1.3;
    let column_width = 1.0 / columns as f32;

    if rng.random_bool(0.4) {
        let width = rng.random_range(0.03..0.06);
        canvas.rect((0.0, sky, width, 1.0), PILLAR, |c| c == WALL);
        canvas.rect((1.0 - width, sky, 1.0, 1.0), PILLAR, |c| c == WALL);
    }
    let cornices = rng.random_bool(0.5);
    canvas.rect((0.0, sky, 1.0, sky + floor_height * 0.12), CORNICE, |c| {
        c != SKY
    });

    let window_width = column_width * rng.random_range(0.4..0.7);
    let window_height = floor_height * rng.random_range(0.45..0.7);
    for floor in 0..floors - 1 {
        let top = sky + floor_height * (floor as f32 + 0.3);
        if cornices && floor > 0 {
            canvas.rect(
                (
                    0.0,
                    top - floor_height * 0.12,
                    1.0,
                    top - floor_height * 0.04,
                ),
                CORNICE,
                |c| c == WALL,
            );
        }
        let balcony = rng.random_bool(0.35);
        for column in 0..columns {
            let centre = column_width * (column as f32 + 0.5);
            let (left, right) = (centre - window_width / 2.0, centre + window_width / 2.0);
            canvas.rect((left, top, right, top + window_height), WINDOW, |c| {
                c == WALL
            });
            if balcony {
                let bottom = top + window_height;
                let reach = window_width * 0.15;
                canvas.rect(
                    (
                        left - reach,
                        bottom - floor_height * 0.12,
                        right + reach,
                        bottom,
                    ),
                    BALCONY,
                    |c| c != SKY,
                );
            }
        }
    }

    let door_column = rng.random_range(0..columns);
    let shops = rng.random_bool(0.5);
    for column in 0..columns {
        let centre = column_width * (column as f32 + 0.5);
        if column == door_column {
            let half = column_width * 0.22;
            canvas.rect(
                (
                    centre - half,
                    ground_top + floor_height * 0.35,
                    centre + half,
                    1.0,
                ),
                DOOR,
                |_| true,
            );
        } else if shops {
            let half = column_width * 0.4;
            canvas.rect(
                (
                    centre - half,
                    ground_top + floor_height * 0.25,
                    centre + half,
                    1.0 - floor_height * 0.1,
                ),
                SHOP,
                |_| true,
            );
        } else {
            let half = window_width / 2.0;
            let top = ground_top + floor_height * 0.3;
            canvas.rect(
                (centre - half, top, centre + half, top + window_height),
                WINDOW,
                |c| c == WALL,
            );
        }
    }
    canvas
}

/// Colours, textures and light of one photo.
struct Look {
    wall: [f32; 3],
    glass: [f32; 3],
    door: [f32; 3],
    metal: [f32; 3],
    sky_top: [f32; 3],
    brick: bool,
    light_slope: f32,
    noise_seed: u64,
}

fn render(canvas: &Canvas, rng: &mut ChaCha8Rng, seed: u64) -> RgbImage {
    let base = WALL_COLORS[rng.random_range(0..WALL_COLORS.len())];
    let look = Look {
        wall: base.map(|c| c * rng.random_range(0.85..1.1)),
        glass: [
            rng.random_range(40.0..80.0),
            rng.random_range(55.0..90.0),
            rng.random_range(70.0..120.0),
        ],
        door: [
            rng.random_range(70.0..120.0),
            rng.random_range(40.0..70.0),
            rng.random_range(20.0..40.0),
        ],
        metal: [rng.random_range(40.0..90.0); 3],
        sky_top: [
            rng.random_range(90.0..140.0),
            rng.random_range(150.0..190.0),
            rng.random_range(210.0..250.0),
        ],
        brick: rng.random_bool(0.4),
        light_slope: rng.random_range(-0.25..0.25),
        noise_seed: seed ^ 0xfacade,
    };
    let side = canvas.side;
    RgbImage::from_fn(side, side, |x, y| rgb(shade(canvas, &look, x, y)))
}

fn shade(canvas: &Canvas, look: &Look, x: u32, y: u32) -> [f32; 3] {
    let side = canvas.side as f32;
    let (u, v) = (x as f32 / side, y as f32 / side);
    let grain = noise::fractal(x as f32, y as f32, side / 6.0, look.noise_seed) - 0.5;
    let class = canvas.get(x, y);

    let color = match class {
        SKY => mix(look.sky_top, [235.0, 240.0, 245.0], v * 3.0),
        WALL | PILLAR | CORNICE => {
            let mut wall = look.wall;
            if look.brick && (y.is_multiple_of(4) || (x + 4 * (y / 4 % 2)).is_multiple_of(8)) {
                wall = scale(wall, 0.8);
            }
            match class {
                PILLAR => scale(wall, 0.9 + 0.15 * (u * 25.0).sin().abs()),
                CORNICE => scale(mix(wall, [255.0; 3], 0.35), 1.0),
                _ => wall,
            }
        }
        WINDOW | SHOP => {
            let frame = is_edge(canvas, x, y);
            let glass = if class == SHOP {
                mix(look.glass, [220.0, 190.0, 120.0], 0.4)
            } else {
                look.glass
            };
            if frame {
                [225.0, 225.0, 220.0]
            } else {
                mix(glass, [200.0, 210.0, 230.0], (1.0 - v) * 0.3)
            }
        }
        DOOR => look.door,
        BALCONY => scale(look.metal, if x.is_multiple_of(3) { 0.6 } else { 1.0 }),
        _ => look.wall,
    };

    let shadow = if class == WALL && below(canvas, x, y, &[CORNICE, BALCONY]) {
        0.65
    } else {
        1.0
    };
    let light = 1.0 + look.light_slope * (u - 0.5) * 2.0;
    let texture = if class == SKY {
        1.0 + grain * 0.1
    } else {
        1.0 + grain * 0.35
    };
    scale(color, shadow * light * texture)
}

/// Whether a neighbour of `(x, y)` has another class (a frame pixel).
fn is_edge(canvas: &Canvas, x: u32, y: u32) -> bool {
    let class = canvas.get(x, y);
    let side = canvas.side;
    [
        (x.wrapping_sub(1), y),
        (x + 1, y),
        (x, y.wrapping_sub(1)),
        (x, y + 1),
    ]
    .into_iter()
    .any(|(nx, ny)| nx < side && ny < side && canvas.get(nx, ny) != class)
}

/// Whether one of the two pixels above `(x, y)` is of a class in `casters`.
fn below(canvas: &Canvas, x: u32, y: u32, casters: &[u8]) -> bool {
    (1..=2).any(|up| y >= up && casters.contains(&canvas.get(x, y - up)))
}
