//! The convolutions of the networks on the `flex` backend, each as one
//! large matrix product over the whole batch around a gather (`im2col`) or
//! a scatter (`col2im`) of the image. Batch items sit side by side in the
//! columns, so the deep layers (a few pixels, millions of weights) read
//! their weights once per batch instead of once per item.
//!
//! Every 2-D convolution the networks need, forward or backward, is one of
//! three products between a kernel's taps and a source image:
//!
//! - [`convolve`]: `y[o, p] = sum_(c, tap) W[o, c, tap] * src[c, p * s - pad
//!   + tap * d]`: a convolution, and the input gradient of a transposed
//!   convolution. The source is gathered into `columns [(c, tap), p]` and
//!   multiplied by the kernel `[o, (c, tap)]`.
//! - [`convolve_transposed`]: the adjoint, `y[c, p * s - pad + tap * d] +=
//!   W[o, c, tap] * src[o, p]`: a transposed convolution, and the input
//!   gradient of a convolution. The product `W^T src` gives the columns,
//!   which are scattered into the output plane by plane.
//! - [`correlate`]: `dW[m, c, tap] = sum_(b, p) lhs[b, m, p] * src[b, c, p *
//!   s - pad + tap * d]`: the weight gradient of either, written straight
//!   into the contiguous weight layout. burn's own weight gradient comes
//!   back as a transposed view that every later pass reads through a slow
//!   strided path, and flex's convolution runs its products in 512-pixel
//!   tiles after a single-threaded layout change, which leaves the deep,
//!   small layers of a U-Net on one core.
//!
//! All three take float32 tensors and return `None` for anything else, so
//! the caller falls back to burn.

use burn::backend::flex::FlexTensor;
use burn::tensor::{DType, TensorData};
use rayon::prelude::*;

mod narrow;

/// How a kernel's taps line up with the image they read or write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Geometry {
    /// Kernel height and width.
    pub kernel: [usize; 2],
    /// Step in the image between neighbouring positions of the other side.
    pub stride: [usize; 2],
    /// Zero rows and columns before the image.
    pub padding: [usize; 2],
    /// Step between kernel taps.
    pub dilation: [usize; 2],
}

impl Geometry {
    fn taps(&self) -> usize {
        self.kernel[0] * self.kernel[1]
    }

    /// Positions a convolution over an image of `size` produces, per axis.
    pub fn output_size(&self, [height, width]: [usize; 2]) -> Option<[usize; 2]> {
        let axis = |size: usize, axis: usize| {
            let reach = self.dilation[axis] * (self.kernel[axis] - 1) + 1;
            (size + 2 * self.padding[axis])
                .checked_sub(reach)
                .map(|span| span / self.stride[axis] + 1)
        };
        Some([axis(height, 0)?, axis(width, 1)?])
    }
}

/// A contiguous float32 `[batch, channels, height, width]` tensor's
/// elements and dimensions.
struct Image<'a> {
    data: &'a [f32],
    dims: [usize; 4],
}

impl Image<'_> {
    fn plane(&self) -> usize {
        self.dims[2] * self.dims[3]
    }

    fn item(&self, batch: usize) -> &[f32] {
        let len = self.dims[1] * self.plane();
        &self.data[batch * len..(batch + 1) * len]
    }
}

/// Runs `work` on contiguous float32 copies (views where already so) of
/// the tensors, or returns `None` when any is not float32.
fn with_images<const N: usize>(
    tensors: [&FlexTensor; N],
    work: impl FnOnce([Image<'_>; N]) -> Vec<f32>,
) -> Option<Vec<f32>> {
    if tensors.iter().any(|tensor| tensor.dtype() != DType::F32) {
        return None;
    }
    let contiguous = tensors.map(FlexTensor::to_contiguous);
    let images = contiguous.each_ref().map(|tensor| Image {
        data: tensor
            .as_slice::<f32>()
            .expect("float32 and contiguous, checked above"),
        dims: tensor.layout().shape().dims(),
    });
    Some(work(images))
}

fn tensor(values: Vec<f32>, shape: [usize; 4]) -> FlexTensor {
    FlexTensor::from_data(TensorData::new(values, shape))
}

/// `y [B, O, oh, ow]` with `y[b, o, p] = sum_(c, tap) weight[o, c, tap] *
/// src[b, c, p * stride - padding + tap * dilation]` (zero outside `src`),
/// for a `weight [O, C, kh, kw]`.
pub(crate) fn convolve(
    src: &FlexTensor,
    weight: &FlexTensor,
    geometry: Geometry,
) -> Option<FlexTensor> {
    let mut shape = [0; 4];
    let values = with_images([src, weight], |[src, weight]| {
        let [batch, _, height, width] = src.dims;
        let [out_h, out_w] = geometry
            .output_size([height, width])
            .expect("checked by the caller");
        shape = [batch, weight.dims[0], out_h, out_w];
        convolve_f32(&src, &weight, [out_h, out_w], geometry)
    })?;
    Some(tensor(values, shape))
}

fn convolve_f32(
    src: &Image,
    weight: &Image,
    [out_h, out_w]: [usize; 2],
    geometry: Geometry,
) -> Vec<f32> {
    let [batch, channels, ..] = src.dims;
    let outputs = weight.dims[0];
    let positions = batch * out_h * out_w;
    let depth = channels * geometry.taps();
    let mut columns = vec![0.0f32; depth * positions];
    let mut output = vec![0.0f32; outputs * positions];

    gather_columns(&mut columns, src, [out_h, out_w], geometry);

    // [O, (b, p)] = weight [O, depth] x columns [depth, (b, p)]
    product(
        Destination::new(&mut output, [positions, 1]),
        Operand::new(weight.data, [depth, 1]),
        Operand::new(&columns, [positions, 1]),
        [outputs, positions, depth],
        false,
    );

    batch_major(output, [batch, outputs, out_h * out_w])
}

/// `y [B, C, size]` with `y[b, c, p * stride - padding + tap * dilation] +=
/// weight[o, c, tap] * src[b, o, p]`: the adjoint of [`convolve`], for a
/// `weight [O, C, kh, kw]` and an output of `size` (which the geometry
/// alone does not fix when the stride is above 1).
pub(crate) fn convolve_transposed(
    src: &FlexTensor,
    weight: &FlexTensor,
    geometry: Geometry,
    size: [usize; 2],
) -> Option<FlexTensor> {
    let mut shape = [0; 4];
    let values = with_images([src, weight], |[src, weight]| {
        shape = [src.dims[0], weight.dims[1], size[0], size[1]];
        convolve_transposed_f32(&src, &weight, size, geometry)
    })?;
    Some(tensor(values, shape))
}

fn convolve_transposed_f32(
    src: &Image,
    weight: &Image,
    [out_h, out_w]: [usize; 2],
    geometry: Geometry,
) -> Vec<f32> {
    let [batch, inputs, height, width] = src.dims;
    let channels = weight.dims[1];
    let positions = batch * height * width;
    let depth = channels * geometry.taps();
    let src = channel_major(src);
    let mut columns = vec![0.0f32; depth * positions];
    let mut output = vec![0.0f32; batch * channels * out_h * out_w];

    // [depth, (b, p)] = weight^T [depth, O] x src [O, (b, p)]
    product(
        Destination::new(&mut columns, [positions, 1]),
        Operand::new(weight.data, [1, depth]),
        Operand::new(&src, [positions, 1]),
        [depth, positions, inputs],
        false,
    );

    let dims = [batch, channels, out_h, out_w];
    scatter_columns(&mut output, &columns, dims, [height, width], geometry);
    output
}

/// `dW [M, C, kh, kw]` with `dW[m, c, tap] = sum_b sum_p lhs[b, m, p] *
/// src[b, c, p * stride - padding + tap * dilation]` (zero outside `src`).
pub(crate) fn correlate(
    lhs: &FlexTensor,
    src: &FlexTensor,
    geometry: Geometry,
) -> Option<FlexTensor> {
    let mut shape = [0; 4];
    let values = with_images([lhs, src], |[lhs, src]| {
        shape = [
            lhs.dims[1],
            src.dims[1],
            geometry.kernel[0],
            geometry.kernel[1],
        ];
        correlate_f32(&lhs, &src, geometry)
    })?;
    Some(tensor(values, shape))
}

fn correlate_f32(lhs: &Image, src: &Image, geometry: Geometry) -> Vec<f32> {
    let [batch, m, out_h, out_w] = lhs.dims;
    let positions = batch * out_h * out_w;
    let n = src.dims[1] * geometry.taps();
    let lhs = channel_major(lhs);
    let mut columns = vec![0.0f32; n * positions];
    let mut gradient = vec![0.0f32; m * n];

    gather_columns(&mut columns, src, [out_h, out_w], geometry);

    // [m, n] = lhs [m, (b, p)] x columns^T [(b, p), n]
    product(
        Destination::new(&mut gradient, [n, 1]),
        Operand::new(&lhs, [positions, 1]),
        Operand::new(&columns, [1, positions]),
        [m, n, positions],
        false,
    );
    gradient
}

/// A `[B, C, P]` image as the `[C, (b, p)]` matrix of the products: every
/// batch item's plane side by side in its channel's row. Borrowed as it is
/// for one item.
fn channel_major<'a>(image: &Image<'a>) -> std::borrow::Cow<'a, [f32]> {
    let [batch, channels, ..] = image.dims;
    let plane = image.plane();
    if batch == 1 {
        return std::borrow::Cow::Borrowed(image.data);
    }
    let mut matrix = vec![0.0f32; image.data.len()];
    matrix
        .par_chunks_mut(batch * plane)
        .enumerate()
        .for_each(|(channel, row)| {
            for (b, segment) in row.chunks_exact_mut(plane).enumerate() {
                segment.copy_from_slice(&image.data[(b * channels + channel) * plane..][..plane]);
            }
        });
    std::borrow::Cow::Owned(matrix)
}

/// The inverse of [`channel_major`]: a `[C, (b, p)]` product back to the
/// `[B, C, P]` layout of a tensor.
fn batch_major(matrix: Vec<f32>, [batch, channels, plane]: [usize; 3]) -> Vec<f32> {
    if batch == 1 {
        return matrix;
    }
    let mut image = vec![0.0f32; matrix.len()];
    image
        .par_chunks_mut(plane)
        .enumerate()
        .for_each(|(index, segment)| {
            let (b, channel) = (index / channels, index % channels);
            segment.copy_from_slice(&matrix[(channel * batch + b) * plane..][..plane]);
        });
    image
}

/// Rows of columns handed to one parallel task at least, so that the deep
/// layers (a few pixels per row) do not pay a task per row.
fn rows_per_task(pixels: usize) -> usize {
    (4096 / pixels.max(1)).max(1)
}

/// Fills `columns[(channel, ky, kx), (b, y, x)]` with the pixel of batch
/// item `b` that tap `(ky, kx)` of position `(y, x)` reads, or zero in the
/// padding.
fn gather_columns(
    columns: &mut [f32],
    image: &Image,
    [out_h, out_w]: [usize; 2],
    geometry: Geometry,
) {
    let [batch, _, in_h, in_w] = image.dims;
    let [kh, kw] = geometry.kernel;
    let pixels = out_h * out_w;

    columns
        .par_chunks_mut(batch * pixels)
        .with_min_len(rows_per_task(batch * pixels))
        .enumerate()
        .for_each(|(row, items)| {
            let (channel, tap) = (row / (kh * kw), row % (kh * kw));
            let (ky, kx) = (tap / kw, tap % kw);
            let xs = source_range(kx, out_w, in_w, geometry, 1);

            for (b, column) in items.chunks_exact_mut(pixels).enumerate() {
                let plane = &image.item(b)[channel * in_h * in_w..][..in_h * in_w];
                for (y, line) in column.chunks_exact_mut(out_w).enumerate() {
                    let Some(source_y) = source_index(y, ky, in_h, geometry, 0) else {
                        line.fill(0.0);
                        continue;
                    };
                    let source = &plane[source_y * in_w..(source_y + 1) * in_w];
                    line[..xs.start].fill(0.0);
                    line[xs.end..].fill(0.0);
                    if xs.is_empty() {
                        continue;
                    }
                    let first = first_source(xs.start, kx, geometry, 1);
                    for (x, value) in line[xs.clone()].iter_mut().enumerate() {
                        *value = source[first + x * geometry.stride[1]];
                    }
                }
            }
        });
}

/// Adds `columns[(channel, ky, kx), (b, y, x)]` into the pixel of batch
/// item `b` of an `image [B, C, h, w]` that tap `(ky, kx)` of position
/// `(y, x)` reads in [`gather_columns`] (its adjoint), after zeroing the
/// image. Planes are independent, so they run in parallel; within a plane
/// the taps are added in a fixed order.
fn scatter_columns(
    image: &mut [f32],
    columns: &[f32],
    [batch, channels, in_h, in_w]: [usize; 4],
    [out_h, out_w]: [usize; 2],
    geometry: Geometry,
) {
    let [kh, kw] = geometry.kernel;
    let taps = kh * kw;
    let pixels = out_h * out_w;

    image
        .par_chunks_mut(in_h * in_w)
        .with_min_len(rows_per_task(in_h * in_w))
        .enumerate()
        .for_each(|(index, plane)| {
            let (b, channel) = (index / channels, index % channels);
            plane.fill(0.0);
            for tap in 0..taps {
                let (ky, kx) = (tap / kw, tap % kw);
                let row = &columns[((channel * taps + tap) * batch + b) * pixels..][..pixels];
                let xs = source_range(kx, out_w, in_w, geometry, 1);
                if xs.is_empty() {
                    continue;
                }
                let first = first_source(xs.start, kx, geometry, 1);

                for (y, line) in row.chunks_exact(out_w).enumerate() {
                    let Some(target_y) = source_index(y, ky, in_h, geometry, 0) else {
                        continue;
                    };
                    let target = &mut plane[target_y * in_w..(target_y + 1) * in_w];
                    for (x, value) in line[xs.clone()].iter().enumerate() {
                        target[first + x * geometry.stride[1]] += value;
                    }
                }
            }
        });
}

/// The image index that position `out` reads through tap `k` on `axis`,
/// if it is inside an image of `size`.
fn source_index(
    out: usize,
    k: usize,
    size: usize,
    geometry: Geometry,
    axis: usize,
) -> Option<usize> {
    (out * geometry.stride[axis] + k * geometry.dilation[axis])
        .checked_sub(geometry.padding[axis])
        .filter(|&index| index < size)
}

/// The image index of position `out` through tap `k`, for a position known
/// to be inside.
fn first_source(out: usize, k: usize, geometry: Geometry, axis: usize) -> usize {
    out * geometry.stride[axis] + k * geometry.dilation[axis] - geometry.padding[axis]
}

/// The positions among `0..out` whose image index through tap `k` is
/// inside an image of `size`, as one range (the valid positions of a
/// strided line are contiguous).
fn source_range(
    k: usize,
    out: usize,
    size: usize,
    geometry: Geometry,
    axis: usize,
) -> std::ops::Range<usize> {
    let inside = |o: usize| source_index(o, k, size, geometry, axis).is_some();
    let start = (0..out).find(|&o| inside(o)).unwrap_or(out);
    let end = (start..out).find(|&o| !inside(o)).unwrap_or(out);
    start..end
}

/// A row-major view of a matrix operand: its elements and its row and
/// column strides.
struct Operand<'a> {
    data: &'a [f32],
    strides: [usize; 2],
}

impl<'a> Operand<'a> {
    fn new(data: &'a [f32], strides: [usize; 2]) -> Self {
        Self { data, strides }
    }

    /// Whether a `rows x cols` matrix with these strides lies inside the
    /// buffer, the condition for handing its pointer to `gemm`.
    fn fits(&self, [rows, cols]: [usize; 2]) -> bool {
        let last = (rows.max(1) - 1) * self.strides[0] + (cols.max(1) - 1) * self.strides[1];
        rows == 0 || cols == 0 || last < self.data.len()
    }
}

/// The written operand of [`product`].
struct Destination<'a> {
    data: &'a mut [f32],
    strides: [usize; 2],
}

impl<'a> Destination<'a> {
    fn new(data: &'a mut [f32], strides: [usize; 2]) -> Self {
        Self { data, strides }
    }
}

/// `dst [m, n] (+)= lhs [m, k] x rhs [k, n]`: overwrites unless
/// `accumulate`. Products big enough to share run on every thread of the
/// current rayon pool (so one per job in a parallel search); narrow ones
/// with a large kernel take [`narrow::product`].
fn product(
    mut dst: Destination,
    lhs: Operand,
    rhs: Operand,
    [m, n, k]: [usize; 3],
    accumulate: bool,
) {
    let written = Operand::new(dst.data, dst.strides);
    assert!(
        written.fits([m, n]) && lhs.fits([m, k]) && rhs.fits([k, n]),
        "matrix product operands outside their buffers"
    );
    if narrow::product(&mut dst, &lhs, &rhs, [m, n, k], accumulate) {
        return;
    }
    let parallelism = if m * n * k >= 1 << 16 {
        gemm::Parallelism::Rayon(0)
    } else {
        gemm::Parallelism::None
    };
    let stride = |s: usize| s as isize;

    // SAFETY: the assertion above checked that every element the three
    // strided views address lies inside its slice; `dst` is borrowed
    // mutably, so it aliases neither operand.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.data.as_mut_ptr(),
            stride(dst.strides[1]),
            stride(dst.strides[0]),
            accumulate,
            lhs.data.as_ptr(),
            stride(lhs.strides[1]),
            stride(lhs.strides[0]),
            rhs.data.as_ptr(),
            stride(rhs.strides[1]),
            stride(rhs.strides[0]),
            1.0f32,
            1.0f32,
            false,
            false,
            false,
            parallelism,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The image index of `out` through tap `k`, signed, for the naive sums.
    fn signed_source(out: usize, k: usize, geometry: Geometry, axis: usize) -> isize {
        (out * geometry.stride[axis] + k * geometry.dilation[axis]) as isize
            - geometry.padding[axis] as isize
    }

    /// Every (image index, position index, tap) triple the geometry links,
    /// for an image `[h, w]` and positions `[oh, ow]`.
    fn links(g: Geometry, [h, w]: [usize; 2], [oh, ow]: [usize; 2]) -> Vec<(usize, usize, usize)> {
        let [kh, kw] = g.kernel;
        let mut links = Vec::new();
        for ky in 0..kh {
            for kx in 0..kw {
                for y in 0..oh {
                    for x in 0..ow {
                        let (sy, sx) = (signed_source(y, ky, g, 0), signed_source(x, kx, g, 1));
                        if sy >= 0 && sx >= 0 && sy < h as isize && sx < w as isize {
                            links.push((sy as usize * w + sx as usize, y * ow + x, ky * kw + kx));
                        }
                    }
                }
            }
        }
        links
    }

    fn values(count: usize, seed: u32) -> Vec<f32> {
        (0..count)
            .map(|i| {
                ((i as u32).wrapping_mul(2654435761).wrapping_add(seed) % 1000) as f32 / 500.0 - 1.0
            })
            .collect()
    }

    fn image(data: &[f32], dims: [usize; 4]) -> Image<'_> {
        assert_eq!(data.len(), dims.iter().product::<usize>());
        Image { data, dims }
    }

    fn assert_close(fast: &[f32], slow: &[f64], case: impl std::fmt::Debug) {
        assert_eq!(fast.len(), slow.len(), "{case:?}: lengths");
        for (index, (&a, &b)) in fast.iter().zip(slow).enumerate() {
            let b = b as f32;
            assert!(
                (a - b).abs() <= 1e-4 * (1.0 + b.abs()),
                "{case:?}, element {index}: {a} vs {b}"
            );
        }
    }

    /// batch, channels of the image side, channels of the position side,
    /// image side, position side, kernel, stride, padding, dilation: the
    /// pix2pix layers (4x4, stride 2, padding 1) and odd ones.
    type Case = [usize; 9];
    const CASES: [Case; 8] = [
        [1, 2, 3, 8, 4, 4, 2, 1, 1],
        [2, 3, 4, 9, 4, 4, 2, 1, 1],
        [3, 5, 2, 6, 6, 3, 1, 1, 1],
        [1, 2, 5, 7, 3, 3, 2, 0, 1],
        [2, 2, 3, 9, 5, 3, 1, 0, 2],
        [1, 3, 2, 5, 7, 4, 1, 2, 1],
        [2, 4, 3, 2, 1, 4, 2, 1, 1],
        // A deep layer: a kernel large and a product narrow enough for the
        // `narrow` path, both layouts.
        [2, 128, 128, 4, 2, 4, 2, 1, 1],
    ];

    fn geometry(k: usize, s: usize, p: usize, d: usize) -> Geometry {
        Geometry {
            kernel: [k, k],
            stride: [s, s],
            padding: [p, p],
            dilation: [d, d],
        }
    }

    #[test]
    fn correlate_matches_the_defining_sum() {
        for case @ [batch, c, m, side, out, k, s, p, d] in CASES {
            let g = geometry(k, s, p, d);
            let (lhs_dims, src_dims) = ([batch, m, out, out], [batch, c, side, side]);
            let lhs = values(lhs_dims.iter().product(), 7);
            let src = values(src_dims.iter().product(), 11);

            let fast = correlate_f32(&image(&lhs, lhs_dims), &image(&src, src_dims), g);

            let mut slow = vec![0.0f64; m * c * k * k];
            for (b, o, i) in triples(batch, m, c) {
                for &(source, position, tap) in &links(g, [side, side], [out, out]) {
                    let l = lhs[(b * m + o) * out * out + position] as f64;
                    let v = src[(b * c + i) * side * side + source] as f64;
                    slow[(o * c + i) * k * k + tap] += l * v;
                }
            }
            assert_close(&fast, &slow, case);
        }
    }

    #[test]
    fn convolve_matches_the_defining_sum() {
        for case @ [batch, c, o_count, side, _, k, s, p, d] in CASES {
            let g = geometry(k, s, p, d);
            let Some([oh, ow]) = g.output_size([side, side]) else {
                continue;
            };
            let (src_dims, weight_dims) = ([batch, c, side, side], [o_count, c, k, k]);
            let src = values(src_dims.iter().product(), 3);
            let weight = values(weight_dims.iter().product(), 5);

            let fast = convolve_f32(
                &image(&src, src_dims),
                &image(&weight, weight_dims),
                [oh, ow],
                g,
            );

            let mut slow = vec![0.0f64; batch * o_count * oh * ow];
            for (b, o, i) in triples(batch, o_count, c) {
                for &(source, position, tap) in &links(g, [side, side], [oh, ow]) {
                    let w = weight[(o * c + i) * k * k + tap] as f64;
                    slow[(b * o_count + o) * oh * ow + position] +=
                        w * src[(b * c + i) * side * side + source] as f64;
                }
            }
            assert_close(&fast, &slow, case);
        }
    }

    #[test]
    fn convolve_transposed_matches_the_defining_sum() {
        for case @ [batch, c, o_count, side, out, k, s, p, d] in CASES {
            let g = geometry(k, s, p, d);
            let (src_dims, weight_dims) = ([batch, o_count, out, out], [o_count, c, k, k]);
            let src = values(src_dims.iter().product(), 13);
            let weight = values(weight_dims.iter().product(), 17);

            let fast = convolve_transposed_f32(
                &image(&src, src_dims),
                &image(&weight, weight_dims),
                [side, side],
                g,
            );

            let mut slow = vec![0.0f64; batch * c * side * side];
            for (b, o, i) in triples(batch, o_count, c) {
                for &(target, position, tap) in &links(g, [side, side], [out, out]) {
                    let w = weight[(o * c + i) * k * k + tap] as f64;
                    slow[(b * c + i) * side * side + target] +=
                        w * src[(b * o_count + o) * out * out + position] as f64;
                }
            }
            assert_close(&fast, &slow, case);
        }
    }

    /// Every `(a, b, c)` below the three bounds.
    fn triples(a: usize, b: usize, c: usize) -> Vec<(usize, usize, usize)> {
        (0..a)
            .flat_map(|i| (0..b).flat_map(move |j| (0..c).map(move |k| (i, j, k))))
            .collect()
    }

    #[test]
    fn source_ranges_cover_exactly_the_inside_taps() {
        for (k, out, size, s, p, d) in [
            (0, 4, 8, 2, 1, 1),
            (3, 4, 8, 2, 1, 1),
            (2, 5, 9, 1, 0, 2),
            (0, 3, 2, 1, 0, 1),
        ] {
            let g = geometry(4, s, p, d);
            let range = source_range(k, out, size, g, 0);
            for o in 0..out {
                let inside = source_index(o, k, size, g, 0).is_some();
                assert_eq!(inside, range.contains(&o), "tap {k}, output {o}");
            }
        }
    }

    #[test]
    fn output_size_follows_the_convolution_formula() {
        assert_eq!(geometry(4, 2, 1, 1).output_size([256, 64]), Some([128, 32]));
        assert_eq!(geometry(4, 1, 1, 1).output_size([8, 8]), Some([7, 7]));
        assert_eq!(geometry(3, 1, 0, 2).output_size([9, 9]), Some([5, 5]));
        assert_eq!(geometry(4, 1, 0, 1).output_size([2, 2]), None);
    }
}
