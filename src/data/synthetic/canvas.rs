//! A grid of class labels to draw shapes on, and pixel helpers.

use image::{Rgb, RgbImage};

use super::Palette;

/// Class labels of a square image, drawn with shapes in unit coordinates
/// (0..1 across the image) so a layout looks the same at every size.
pub struct Canvas {
    pub side: u32,
    pub labels: Vec<u8>,
}

impl Canvas {
    pub fn new(side: u32, class: u8) -> Self {
        Self {
            side,
            labels: vec![class; (side * side) as usize],
        }
    }

    pub fn get(&self, x: u32, y: u32) -> u8 {
        self.labels[(y * self.side + x) as usize]
    }

    /// Pixel span of `[from, to)` in unit coordinates, at least one pixel.
    fn span(&self, from: f32, to: f32) -> (u32, u32) {
        let side = self.side as f32;
        let start = (from * side).round().clamp(0.0, side - 1.0) as u32;
        let end = ((to * side).round() as u32).clamp(start + 1, self.side);
        (start, end)
    }

    /// Fills a rectangle, overwriting only classes `over` allows.
    pub fn rect(
        &mut self,
        (x0, y0, x1, y1): (f32, f32, f32, f32),
        class: u8,
        over: impl Fn(u8) -> bool,
    ) {
        let (xs, xe) = self.span(x0, x1);
        let (ys, ye) = self.span(y0, y1);
        for y in ys..ye {
            for x in xs..xe {
                let index = (y * self.side + x) as usize;
                if over(self.labels[index]) {
                    self.labels[index] = class;
                }
            }
        }
    }

    /// Fills every pixel whose centre satisfies `inside(u, v)` (unit
    /// coordinates) with `class`, where `over` allows.
    pub fn shape(
        &mut self,
        class: u8,
        inside: impl Fn(f32, f32) -> bool,
        over: impl Fn(u8) -> bool,
    ) {
        let side = self.side as f32;
        for y in 0..self.side {
            for x in 0..self.side {
                let (u, v) = ((x as f32 + 0.5) / side, (y as f32 + 0.5) / side);
                let index = (y * self.side + x) as usize;
                if inside(u, v) && over(self.labels[index]) {
                    self.labels[index] = class;
                }
            }
        }
    }

    /// The label map in the palette's exact colours.
    pub fn to_image(&self, palette: &Palette) -> RgbImage {
        RgbImage::from_fn(self.side, self.side, |x, y| {
            Rgb(palette.colors[self.get(x, y) as usize])
        })
    }
}

/// An RGB colour from float channels in 0..255, clamped.
pub fn rgb(color: [f32; 3]) -> Rgb<u8> {
    Rgb(color.map(|c| c.round().clamp(0.0, 255.0) as u8))
}

/// `color * factor`, channel by channel.
pub fn scale(color: [f32; 3], factor: f32) -> [f32; 3] {
    color.map(|c| c * factor)
}

/// A mix of `a` and `b`, `t` of the way to `b`.
pub fn mix(a: [f32; 3], b: [f32; 3], t: f32) -> [f32; 3] {
    [
        a[0] + (b[0] - a[0]) * t,
        a[1] + (b[1] - a[1]) * t,
        a[2] + (b[2] - a[2]) * t,
    ]
}
