//! The generator and the PatchGAN compute PyTorch's function.
//!
//! The reference tensors in `tests/fixtures/unet-reference` were made by
//! PyTorch 2.15 in float64 from an independent implementation of the same
//! rules (see its README). We load the weights, cast to float32, run the
//! same input and require a relative error ||ours - ref|| / ||ref|| below
//! 1e-4 for outputs, the L1 loss, every gradient and every running
//! statistic after one training-mode forward.

use std::collections::HashMap;
use std::path::Path;

use burn::optim::GradientsParams;
use burn::tensor::{DType, Device, Tensor, TensorData};
use rand::SeedableRng;
use rand::rngs::ChaCha8Rng;

use unet_nas::genome::Genome;
use unet_nas::model::{
    Generator, GeneratorOptions, Mode, PatchGan, PatchGanConfig, load_named, named_tensors,
};
use unet_nas::plan::{ImageChannels, LayerPlan};

const FIXTURES: &str = "tests/fixtures/unet-reference";
const TOLERANCE: f64 = 1e-4;

struct Fixture {
    tensors: HashMap<String, TensorData>,
    metadata: HashMap<String, String>,
}

impl Fixture {
    fn load(name: &str) -> Self {
        let bytes = std::fs::read(Path::new(FIXTURES).join(name)).unwrap();
        let file = safetensors::SafeTensors::deserialize(&bytes).unwrap();
        let tensors = file
            .tensors()
            .into_iter()
            .map(|(name, view)| (name, to_tensor_data(&view)))
            .collect();
        let (_, metadata) = safetensors::SafeTensors::read_metadata(&bytes).unwrap();
        Self {
            tensors,
            metadata: metadata.metadata().clone().unwrap_or_default(),
        }
    }

    fn tensor<const D: usize>(&self, name: &str, device: &Device) -> Tensor<D> {
        let data = self.tensors[name].clone().convert_dtype(DType::F32);
        Tensor::from_data(data, device)
    }

    /// Entries whose name starts with `prefix`, with the prefix removed.
    fn with_prefix(&self, prefix: &str) -> HashMap<String, TensorData> {
        self.tensors
            .iter()
            .filter_map(|(name, data)| Some((name.strip_prefix(prefix)?.to_string(), data.clone())))
            .collect()
    }
}

fn to_tensor_data(view: &safetensors::tensor::TensorView) -> TensorData {
    assert_eq!(
        view.dtype(),
        safetensors::Dtype::F64,
        "fixtures are float64"
    );
    let values: Vec<f64> = view
        .data()
        .chunks_exact(8)
        .map(|bytes| f64::from_le_bytes(bytes.try_into().unwrap()))
        .collect();
    TensorData::new(values, view.shape().to_vec())
}

fn relative_error(ours: &TensorData, reference: &TensorData) -> f64 {
    assert_eq!(ours.shape(), reference.shape());
    let ours = ours.clone().convert_dtype(DType::F64);
    let reference = reference.clone().convert_dtype(DType::F64);
    let ours = ours.as_slice::<f64>().unwrap();
    let reference = reference.as_slice::<f64>().unwrap();

    let difference: f64 = ours
        .iter()
        .zip(reference)
        .map(|(a, b)| (a - b).powi(2))
        .sum();
    let norm: f64 = reference.iter().map(|b| b * b).sum();
    (difference / norm).sqrt()
}

fn assert_close(what: &str, ours: &TensorData, reference: &TensorData) {
    let error = relative_error(ours, reference);
    assert!(error < TOLERANCE, "{what}: relative error {error:e}");
}

fn fixture_generator(fixture: &Fixture, device: &Device) -> Generator {
    let channels: Vec<u32> = serde_json::from_str(&fixture.metadata["channels"]).unwrap();
    let skips: Vec<u8> = serde_json::from_str(&fixture.metadata["skips"]).unwrap();
    let genome = Genome::new(channels, skips.iter().map(|&bit| bit == 1).collect()).unwrap();
    let plan = LayerPlan::decode(&genome, genome.size(), ImageChannels::default());

    // The fixtures have no dropout (README), so it is turned off here.
    let options = GeneratorOptions { dropout: false };
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let generator = Generator::new(&plan, options, &mut rng, device);
    load_named(generator, &fixture.tensors).unwrap()
}

fn check_generator(name: &str) {
    let fixture = Fixture::load(name);
    let device = Device::flex().autodiff();
    let generator = fixture_generator(&fixture, &device);
    let input: Tensor<4> = fixture.tensor("input", &device);
    let target: Tensor<4> = fixture.tensor("target", &device);

    let eval = generator.forward(input.clone(), &mut Mode::Eval);
    assert_close(
        &format!("{name} output_eval"),
        &eval.to_data(),
        &fixture.tensors["output_eval"],
    );

    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let train = generator.forward(
        input,
        &mut Mode::Train {
            dropout_rng: &mut rng,
        },
    );
    assert_close(
        &format!("{name} output_train"),
        &train.to_data(),
        &fixture.tensors["output_train"],
    );

    let loss = (train - target).abs().mean();
    assert_close(
        &format!("{name} loss_l1"),
        &loss.to_data(),
        &fixture.tensors["loss_l1"],
    );

    let gradients = GradientsParams::from_grads(loss.backward(), &generator);
    let expected_gradients = fixture.with_prefix("grad.");
    let after = fixture.with_prefix("after.");
    let mut checked = 0;
    for tensor in named_tensors(&generator) {
        if let Some(expected) = expected_gradients.get(&tensor.name) {
            let gradient = gradient_data(&gradients, &tensor);
            assert_close(&format!("{name} grad.{}", tensor.name), &gradient, expected);
            checked += 1;
        }
        if let Some(expected) = after.get(&tensor.name) {
            assert_close(
                &format!("{name} after.{}", tensor.name),
                &tensor.data,
                expected,
            );
            checked += 1;
        }
    }
    assert_eq!(
        checked,
        expected_gradients.len() + after.len(),
        "{name}: every reference used"
    );
}

fn gradient_data(gradients: &GradientsParams, tensor: &unet_nas::model::NamedTensor) -> TensorData {
    match tensor.data.shape().len() {
        4 => gradients.get::<4>(tensor.id).map(|g| g.to_data()),
        1 => gradients.get::<1>(tensor.id).map(|g| g.to_data()),
        rank => panic!("unexpected rank {rank} for {}", tensor.name),
    }
    .unwrap_or_else(|| panic!("no gradient for {}", tensor.name))
}

#[test]
fn generator_without_skips_16px() {
    check_generator("no-skips-16px.safetensors");
}

#[test]
fn generator_with_pix2pix_widths_32px() {
    check_generator("pix2pix-widths-32px.safetensors");
}

#[test]
fn generator_with_sparse_skips_32px() {
    check_generator("sparse-skips-32px.safetensors");
}

/// PyTorch's `nn.Sequential` indices (conv, activation, norm, ...) renamed to
/// our blocks: `layers.{block}.conv` and `layers.{block}.norm`.
fn patchgan_names(fixture: &Fixture, prefix: &str) -> HashMap<String, TensorData> {
    let blocks = [
        ("0", "0.conv"),
        ("2", "1.conv"),
        ("3", "1.norm"),
        ("5", "2.conv"),
        ("6", "2.norm"),
        ("8", "3.conv"),
        ("9", "3.norm"),
        ("11", "4.conv"),
    ];
    let mut renamed = HashMap::new();
    for (name, data) in fixture.with_prefix(prefix) {
        let Some(rest) = name.strip_prefix("layers.") else {
            continue;
        };
        let (index, field) = rest.split_once('.').unwrap();
        let block = blocks.iter().find(|(torch, _)| *torch == index).unwrap().1;
        renamed.insert(format!("layers.{block}.{field}"), data);
    }
    renamed
}

#[test]
fn patchgan_ndf8() {
    let fixture = Fixture::load("patchgan-ndf8.safetensors");
    let device = Device::flex().autodiff();
    let config = PatchGanConfig {
        input_channels: 6,
        ndf: 8,
        n_layers: 3,
    };
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let discriminator = PatchGan::new(&config, &mut rng, &device);
    let discriminator = load_named(discriminator, &patchgan_names(&fixture, "")).unwrap();
    let input: Tensor<4> = fixture.tensor("input", &device);

    let output = discriminator.forward(
        input,
        &Mode::Train {
            dropout_rng: &mut rng,
        },
    );
    assert_close(
        "patchgan output_train",
        &output.to_data(),
        &fixture.tensors["output_train"],
    );

    let after = patchgan_names(&fixture, "after.");
    let mut checked = 0;
    for tensor in named_tensors(&discriminator) {
        if let Some(expected) = after.get(&tensor.name) {
            assert_close(
                &format!("patchgan after.{}", tensor.name),
                &tensor.data,
                expected,
            );
            checked += 1;
        }
    }
    assert_eq!(checked, 6);
}
