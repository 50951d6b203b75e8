//! Matrix products with a few columns and a large left operand: the deep
//! layers of a U-Net, where a 512-channel 4x4 kernel (16-34 MB) meets a
//! few pixels.
//!
//! `gemm` packs the left operand into its own layout before multiplying,
//! which for these shapes costs more than the multiplication: it reads and
//! writes the whole kernel once more, and the product ran at a third of the
//! memory bandwidth. Here the kernel is read once, in place, and each of
//! its rows meets every column while it is in cache. Two layouts occur:
//!
//! - rows of `lhs` contiguous (a convolution, or a transposed
//!   convolution's input gradient): each output is a dot product of a
//!   kernel row with a column of `rhs`;
//! - columns of `lhs` contiguous (a transposed convolution, or a
//!   convolution's input gradient, which multiply by the kernel's
//!   transpose): each kernel row is added, scaled, into every output
//!   column.

use rayon::prelude::*;

use super::{Destination, Operand};

/// Products with at most this many columns take this path. Measured on
/// the deep layers' shapes, it took 35-65% of `gemm`'s time at 1 to 8
/// columns and 110-150% at 16, where the products stop being bound by
/// reading the kernel.
pub(super) const MAX_COLUMNS: usize = 8;

/// Left operands smaller than this (in elements) stay with `gemm`, whose
/// packing is cheap for them.
const MIN_LHS: usize = 1 << 18;

/// Pieces a product is split into for the thread pool: a fixed number, so
/// that the order of the sums, and the results, do not depend on how many
/// threads there are.
const TASKS: usize = 8;

/// `dst [m, n] (+)= lhs [m, k] x rhs [k, n]` for a narrow product with a
/// large, row- or column-contiguous `lhs`, or `false` (nothing written)
/// when the shape or layout is not one this path is for. The caller has
/// checked that every operand fits its buffer.
pub(super) fn product(
    dst: &mut Destination,
    lhs: &Operand,
    rhs: &Operand,
    [m, n, k]: [usize; 3],
    accumulate: bool,
) -> bool {
    if n == 0 || n > MAX_COLUMNS || m * k < MIN_LHS {
        return false;
    }
    if lhs.strides[1] == 1 {
        let columns = columns_of(rhs, [k, n]);
        let (rows_per_task, blocks) = in_pieces(m, |rows| {
            vectorised(
                #[inline(always)]
                || dot_rows(lhs, &columns, rows, [n, k]),
            )
        });
        write_blocks(dst, &blocks, rows_per_task, [m, n], accumulate);
    } else if lhs.strides[0] == 1 {
        let scales = rows_of(rhs, [k, n]);
        let (_, partials) = in_pieces(k, |depth| {
            vectorised(
                #[inline(always)]
                || scaled_sums(lhs, &scales, depth, [m, n]),
            )
        });
        write_blocks(dst, &[sum(partials)], m, [m, n], accumulate);
    } else {
        return false;
    }
    true
}

/// `work` on each of the [`TASKS`] pieces `0..len` is cut into, in
/// parallel, with the results in order and the length of a piece.
fn in_pieces(
    len: usize,
    work: impl Fn(std::ops::Range<usize>) -> Vec<f32> + Sync,
) -> (usize, Vec<Vec<f32>>) {
    let per_piece = len.div_ceil(TASKS).max(1);
    let results = (0..len.div_ceil(per_piece))
        .into_par_iter()
        .map(|piece| work(piece * per_piece..((piece + 1) * per_piece).min(len)))
        .collect();
    (per_piece, results)
}

/// `rhs [k, n]` as `n` contiguous columns of `k`.
fn columns_of(rhs: &Operand, [k, n]: [usize; 2]) -> Vec<f32> {
    let mut columns = vec![0.0f32; n * k];
    for (j, column) in columns.chunks_exact_mut(k).enumerate() {
        for (i, value) in column.iter_mut().enumerate() {
            *value = rhs.data[i * rhs.strides[0] + j * rhs.strides[1]];
        }
    }
    columns
}

/// `rhs [k, n]` as `k` contiguous rows of `n`.
fn rows_of(rhs: &Operand, [k, n]: [usize; 2]) -> Vec<f32> {
    let mut rows = vec![0.0f32; k * n];
    for (i, row) in rows.chunks_exact_mut(n).enumerate() {
        for (j, value) in row.iter_mut().enumerate() {
            *value = rhs.data[i * rhs.strides[0] + j * rhs.strides[1]];
        }
    }
    rows
}

/// Output rows `rows` as `[n, rows.len()]`, each entry the dot product of
/// a row of `lhs` (contiguous) with a column. Rows meet columns two by
/// four, so that each load feeds several multiply-adds; a short last pair
/// or group repeats its last member.
#[inline(always)]
fn dot_rows(
    lhs: &Operand,
    columns: &[f32],
    rows: std::ops::Range<usize>,
    [n, k]: [usize; 2],
) -> Vec<f32> {
    let width = rows.len();
    let mut out = vec![0.0f32; n * width];
    let row = |i: usize| &lhs.data[i * lhs.strides[0]..][..k];
    let column = |j: usize| &columns[j * k..][..k];

    for first in rows.clone().step_by(ROWS) {
        let count = (rows.end - first).min(ROWS);
        let pair = std::array::from_fn(|p| row(first + p.min(count - 1)));
        for start in (0..n).step_by(COLUMNS) {
            let group = (n - start).min(COLUMNS);
            let sums = dot_block(
                pair,
                std::array::from_fn(|q| column(start + q.min(group - 1))),
            );
            for (p, sums) in sums.iter().enumerate().take(count) {
                for (q, &sum) in sums.iter().enumerate().take(group) {
                    out[(start + q) * width + first - rows.start + p] = sum;
                }
            }
        }
    }
    out
}

/// Rows of `lhs` per dot block.
const ROWS: usize = 2;

/// Columns per dot block.
const COLUMNS: usize = 4;

/// Lanes of one vector register.
const LANES: usize = 8;

/// The dot product of every row with every column, over one accumulator
/// register per pair, which the compiler keeps in vector registers.
#[inline(always)]
fn dot_block(rows: [&[f32]; ROWS], columns: [&[f32]; COLUMNS]) -> [[f32; COLUMNS]; ROWS] {
    let k = rows[0].len();
    let full = k / LANES * LANES;
    let mut lanes = [[[0.0f32; LANES]; COLUMNS]; ROWS];
    let lane = |x: &[f32], i: usize| -> [f32; LANES] {
        x[i..i + LANES]
            .try_into()
            .expect("a slice of LANES elements")
    };

    for i in (0..full).step_by(LANES) {
        let r = rows.map(|row| lane(row, i));
        let c = columns.map(|column| lane(column, i));
        for (lanes, r) in lanes.iter_mut().zip(&r) {
            for (lanes, c) in lanes.iter_mut().zip(&c) {
                for l in 0..LANES {
                    lanes[l] += r[l] * c[l];
                }
            }
        }
    }

    let mut sums = [[0.0f32; COLUMNS]; ROWS];
    for p in 0..ROWS {
        for q in 0..COLUMNS {
            let tail: f32 = (full..k).map(|i| rows[p][i] * columns[q][i]).sum();
            sums[p][q] = lanes[p][q].iter().sum::<f32>() + tail;
        }
    }
    sums
}

/// Accumulator elements per tile (16 KB), which stay in the first-level
/// cache while every source row of the piece passes through them.
const TILE_ELEMENTS: usize = 4096;

/// The whole output as `[n, m]`, summed over `depth` only: each row `t`
/// of `lhs^T` (the contiguous `lhs[.., t]`) times `scales[t, j]` added
/// into column `j`. Splitting by depth rather than by output rows keeps
/// each task's reads to whole rows, which the prefetcher follows.
///
/// A tile of the output at a time, in the first-level cache, while each
/// source row's matching slice passes once; four rows at a time, so each
/// accumulator load feeds four multiply-adds.
#[inline(always)]
fn scaled_sums(
    lhs: &Operand,
    scales: &[f32],
    depth: std::ops::Range<usize>,
    [m, n]: [usize; 2],
) -> Vec<f32> {
    let mut out = vec![0.0f32; n * m];
    let tile_width = (TILE_ELEMENTS / n).max(LANES);
    let quads = depth.start + (depth.len() / 4) * 4;

    for start in (0..m).step_by(tile_width) {
        let tile = start..(start + tile_width).min(m);
        let source = |t: usize| &lhs.data[t * lhs.strides[1]..][tile.clone()];
        for t in (depth.start..quads).step_by(4) {
            let sources: [&[f32]; 4] = std::array::from_fn(|q| source(t + q));
            for (j, column) in out.chunks_exact_mut(m).enumerate() {
                let s: [f32; 4] = std::array::from_fn(|q| scales[(t + q) * n + j]);
                let y = &mut column[tile.clone()];
                // Slices of one length, so the loop runs without bounds checks.
                let w = sources.map(|source| &source[..y.len()]);
                for i in 0..y.len() {
                    y[i] += s[0] * w[0][i] + s[1] * w[1][i] + s[2] * w[2][i] + s[3] * w[3][i];
                }
            }
        }
        for t in quads..depth.end {
            for (j, column) in out.chunks_exact_mut(m).enumerate() {
                let s = scales[t * n + j];
                for (y, w) in column[tile.clone()].iter_mut().zip(source(t)) {
                    *y += s * w;
                }
            }
        }
    }
    out
}

/// Runs `kernel` compiled for AVX2 where the processor has it (the build
/// targets baseline x86-64, whose vectors are half as wide), inlined into
/// a function that enables the feature; elsewhere as built.
#[inline(always)]
fn vectorised<R>(kernel: impl FnOnce() -> R) -> R {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        #[target_feature(enable = "avx2")]
        fn with_avx2<R>(kernel: impl FnOnce() -> R) -> R {
            kernel()
        }
        // SAFETY: the processor has AVX2, checked just above.
        return unsafe { with_avx2(kernel) };
    }
    kernel()
}

/// The partial sums added in a fixed order, so results do not depend on
/// the number of threads.
fn sum(partials: Vec<Vec<f32>>) -> Vec<f32> {
    let mut partials = partials.into_iter();
    let mut total = partials.next().unwrap_or_default();
    for partial in partials {
        for (t, p) in total.iter_mut().zip(partial) {
            *t += p;
        }
    }
    total
}

/// Writes the `[n, rows]` blocks of `rows_per_block` rows (the last one
/// shorter), in row order, into `dst [m, n]`.
fn write_blocks(
    dst: &mut Destination,
    blocks: &[Vec<f32>],
    rows_per_block: usize,
    [m, n]: [usize; 2],
    accumulate: bool,
) {
    for (block, values) in blocks.iter().enumerate() {
        let start = block * rows_per_block;
        let width = (m - start).min(rows_per_block);
        for (j, column) in values.chunks_exact(width).enumerate().take(n) {
            for (r, &value) in column.iter().enumerate() {
                let target = &mut dst.data[(start + r) * dst.strides[0] + j * dst.strides[1]];
                *target = if accumulate { *target + value } else { value };
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(count: usize, seed: u32) -> Vec<f32> {
        (0..count)
            .map(|i| {
                ((i as u32).wrapping_mul(2654435761).wrapping_add(seed) % 1000) as f32 / 500.0 - 1.0
            })
            .collect()
    }

    /// The defining sum in f64, `dst[i, j] = sum_t lhs[i, t] * rhs[t, j]`.
    fn naive(lhs: &Operand, rhs: &Operand, [m, n, k]: [usize; 3]) -> Vec<f64> {
        let mut out = vec![0.0f64; m * n];
        for i in 0..m {
            for j in 0..n {
                out[i * n + j] = (0..k)
                    .map(|t| {
                        lhs.data[i * lhs.strides[0] + t * lhs.strides[1]] as f64
                            * rhs.data[t * rhs.strides[0] + j * rhs.strides[1]] as f64
                    })
                    .sum();
            }
        }
        out
    }

    #[test]
    fn narrow_products_match_the_defining_sum_in_both_layouts() {
        // m not a multiple of the task size, k not of the lanes.
        let [m, n, k] = [1101, 5, 300];
        let lhs = values(m * k, 1);
        let rhs = values(k * n, 2);
        let before = values(m * n, 3);
        for (lhs_strides, rhs_strides) in [([k, 1], [n, 1]), ([1, m], [1, k])] {
            for accumulate in [false, true] {
                let (a, b) = (
                    Operand::new(&lhs, lhs_strides),
                    Operand::new(&rhs, rhs_strides),
                );
                let mut out = before.clone();
                let taken = product(
                    &mut Destination::new(&mut out, [n, 1]),
                    &a,
                    &b,
                    [m, n, k],
                    accumulate,
                );

                assert!(taken, "{lhs_strides:?}: the narrow path was not taken");
                for (index, (&got, want)) in out.iter().zip(naive(&a, &b, [m, n, k])).enumerate() {
                    let want = want
                        + if accumulate {
                            before[index] as f64
                        } else {
                            0.0
                        };
                    assert!(
                        (got as f64 - want).abs() < 1e-3,
                        "{lhs_strides:?} accumulate {accumulate}: element {index}: {got} vs {want}"
                    );
                }
            }
        }
    }

    #[test]
    fn wide_small_or_strided_products_are_left_to_gemm() {
        let lhs = values(1 << 19, 1);
        let rhs = values(1 << 14, 2);
        let mut out = vec![7.0f32; 1 << 14];
        let cases = [
            ([1 << 10, MAX_COLUMNS + 1, 256], [256, 1]),
            ([1 << 6, 4, 256], [256, 1]),
            ([1 << 10, 4, 256], [512, 2]),
        ];
        for ([m, n, k], lhs_strides) in cases {
            let taken = product(
                &mut Destination::new(&mut out, [n, 1]),
                &Operand::new(&lhs, lhs_strides),
                &Operand::new(&rhs, [n, 1]),
                [m, n, k],
                false,
            );
            assert!(!taken, "{m}x{n}x{k} {lhs_strides:?} took the narrow path");
        }
        assert!(out.iter().all(|&v| v == 7.0), "a declined product wrote");
    }
}
