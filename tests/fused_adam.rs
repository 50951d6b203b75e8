//! The fused Adam computes exactly what burn's Adam computes.

use burn::optim::{AdamConfig, Optimizer};
use burn::tensor::{DType, Device, Distribution, Tensor};
use rand::SeedableRng;
use rand::rngs::ChaCha8Rng;

use unet_nas::genome::Genome;
use unet_nas::model::named_tensors;
use unet_nas::train::{FusedAdam, GanMode, Objective, Pix2Pix, TrainConfig};

/// burn's Adam with the settings every test gives the fused one.
fn burns_adam() -> AdamConfig {
    AdamConfig::new()
        .with_beta_1(0.5)
        .with_beta_2(0.999)
        .with_epsilon(1e-8)
}

fn trainer(fused: bool, device: &Device) -> Pix2Pix {
    let genome: Genome = "16-32-32-32:101".parse().unwrap();
    let config = TrainConfig::new(
        "builtin:facades".parse().unwrap(),
        genome,
        "16".parse().unwrap(),
        9,
    );
    let mut trainer = Pix2Pix::new(&config, 9, device);
    let build = || {
        if fused {
            FusedAdam::new(0.5, 0.999, 1e-8).into_module_optimizer()
        } else {
            burns_adam().init()
        }
    };
    trainer.optimizer_g = build();
    trainer.optimizer_d = build();
    trainer.objective = Objective {
        gan_mode: GanMode::Vanilla,
        lambda_l1: 100.0,
    };
    trainer
}

/// Four real pix2pix iterations leave every weight, bias and running
/// statistic bit-identical.
#[test]
fn four_real_iterations_match_burns_adam_bit_for_bit() {
    let device = Device::flex().autodiff();
    let (mut ours, mut burns) = (trainer(true, &device), trainer(false, &device));

    for iteration in 0..4 {
        let input = Tensor::<4>::random([2, 3, 16, 16], Distribution::Uniform(-1.0, 1.0), &device);
        let target = Tensor::<4>::random([2, 3, 16, 16], Distribution::Uniform(-1.0, 1.0), &device);
        let lr = 2e-4 * (1.0 + iteration as f64);
        let (next, _) = ours.step(
            input.clone(),
            target.clone(),
            lr,
            &mut ChaCha8Rng::seed_from_u64(iteration),
        );
        ours = next;
        let (next, _) = burns.step(input, target, lr, &mut ChaCha8Rng::seed_from_u64(iteration));
        burns = next;
    }

    let pairs = named_tensors(&ours.generator)
        .into_iter()
        .zip(named_tensors(&burns.generator))
        .chain(
            named_tensors(&ours.discriminator)
                .into_iter()
                .zip(named_tensors(&burns.discriminator)),
        );
    let mut compared = 0;
    for (a, b) in pairs {
        assert_eq!(a.name, b.name);
        assert_eq!(a.data.as_bytes(), b.data.as_bytes(), "{} differs", a.name);
        compared += 1;
    }
    assert!(compared > 20);
    let initial = trainer(true, &device);
    assert_ne!(
        named_tensors(&initial.generator)[0].data.as_bytes(),
        named_tensors(&ours.generator)[0].data.as_bytes(),
        "the parameters did move"
    );
}

/// Float64 tensors take the unfused path, which must agree with burn too.
#[test]
fn the_fallback_path_matches_burns_adam() {
    let device = Device::flex();
    let shape = [3, 5];
    let parameter =
        Tensor::<2>::random(shape, Distribution::Normal(0.0, 1.0), &device).cast(DType::F64);
    let ours = FusedAdam::new(0.5, 0.999, 1e-8);
    let burns = burns_adam().build();
    let (mut a, mut b) = (parameter.clone(), parameter);
    let (mut state_a, mut state_b) = (None, None);

    for step in 0..3 {
        let grad =
            Tensor::<2>::random(shape, Distribution::Normal(0.0, 1.0), &device).cast(DType::F64);
        let lr = 1e-2 / (step + 1) as f64;
        (a, state_a) = ours.step(lr, a, grad.clone(), state_a);
        (b, state_b) = burns.step(lr, b, grad, state_b);
    }

    assert_eq!(a.dtype(), DType::F64);
    assert_eq!(a.to_data().as_bytes(), b.to_data().as_bytes());
}

/// A gradient that arrives as a transposed view (as burn's own conv weight
/// gradients do on flex: `[a, b, 4, 4]` with strides `[16, 16 b, 4, 1]`)
/// takes the strided reader, which must agree with burn's Adam bit for bit.
#[test]
fn transposed_gradients_match_burns_adam_bit_for_bit() {
    let device = Device::flex();
    let shape = [6, 5, 4, 4];
    let parameter = Tensor::<4>::random(shape, Distribution::Normal(0.0, 1.0), &device);
    let ours = FusedAdam::new(0.5, 0.999, 1e-8);
    let burns = burns_adam().build();
    let (mut a, mut b) = (parameter.clone(), parameter.clone());
    let (mut state_a, mut state_b) = (None, None);

    for step in 0..3 {
        let grad = Tensor::<4>::random([5, 6, 4, 4], Distribution::Normal(0.0, 1.0), &device)
            .swap_dims(0, 1); // [6, 5, 4, 4], a strided view
        let lr = 1e-2 / (step + 1) as f64;
        (a, state_a) = ours.step(lr, a, grad.clone(), state_a);
        (b, state_b) = burns.step(lr, b, grad, state_b);
    }

    assert_eq!(a.to_data().as_bytes(), b.to_data().as_bytes());
    assert_ne!(a.to_data().as_bytes(), parameter.to_data().as_bytes());
}
