//! Smooth value noise for textures, from a seed and nothing else.

/// A hash of a lattice point to [0, 1).
fn lattice(x: i64, y: i64, seed: u64) -> f32 {
    let mut h = seed ^ (x as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    h ^= (y as u64).wrapping_mul(0xc2b2_ae3d_27d4_eb4f);
    h = (h ^ (h >> 31)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h ^= h >> 29;
    (h >> 40) as f32 / (1u64 << 24) as f32
}

/// Value noise at `(x, y)` with lattice spacing `scale` pixels, in [0, 1).
pub fn value(x: f32, y: f32, scale: f32, seed: u64) -> f32 {
    let (fx, fy) = (x / scale, y / scale);
    let (x0, y0) = (fx.floor(), fy.floor());
    let (tx, ty) = (smooth(fx - x0), smooth(fy - y0));
    let (ix, iy) = (x0 as i64, y0 as i64);

    let top = lerp(lattice(ix, iy, seed), lattice(ix + 1, iy, seed), tx);
    let bottom = lerp(lattice(ix, iy + 1, seed), lattice(ix + 1, iy + 1, seed), tx);
    lerp(top, bottom, ty)
}

/// Three octaves of value noise, in [0, 1).
pub fn fractal(x: f32, y: f32, scale: f32, seed: u64) -> f32 {
    let coarse = value(x, y, scale, seed);
    let middle = value(x, y, scale / 2.0, seed ^ 0x5555);
    let fine = value(x, y, scale / 4.0, seed ^ 0xaaaa);
    (coarse * 4.0 + middle * 2.0 + fine) / 7.0
}

fn smooth(t: f32) -> f32 {
    t * t * (3.0 - 2.0 * t)
}

fn lerp(a: f32, b: f32, t: f32) -> f32 {
    a + (b - a) * t
}
