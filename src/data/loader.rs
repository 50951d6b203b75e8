//! Batches prepared on a background thread.

use std::sync::Arc;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::JoinHandle;

use burn::tensor::TensorData;
use rand::SeedableRng;
use rand::rngs::ChaCha8Rng;
use rand::seq::SliceRandom;
use rayon::prelude::*;

use super::preprocess::Prepared;
use super::{DataError, PairSet, Preprocess};
use crate::seed::derive_seed;

/// Batches prepared ahead of the one training now.
const PREFETCH: usize = 2;

/// One batch: `input` `[batch, in_channels, h, w]` and `target`
/// `[batch, out_channels, h, w]`, pixels in [-1, 1].
#[derive(Debug, Clone)]
pub struct Batch {
    /// The generator's input.
    pub input: TensorData,
    /// What it should produce.
    pub target: TensorData,
    /// Names of the pairs, in batch order.
    pub names: Vec<String>,
}

/// Which pairs go into which batch.
#[derive(Debug, Clone, Copy)]
pub enum Order {
    /// A random permutation drawn from `(seed, epoch)`, random crops and
    /// flips drawn per example from `(seed, epoch, position)`.
    Shuffled {
        /// The run's data seed.
        seed: u64,
        /// Epoch number, counted from 0.
        epoch: u64,
    },
    /// Pairs in order, deterministic preprocessing (validation, testing).
    Sequential,
}

/// An iterator over one epoch's batches, filled by a background thread so
/// that decoding and resizing overlap training.
pub struct BatchLoader {
    receiver: Option<Receiver<Result<Batch, DataError>>>,
    worker: Option<JoinHandle<()>>,
    batches: usize,
}

impl BatchLoader {
    /// Starts preparing the batches of one pass over `set`, skipping the
    /// first `skip` batches (to resume inside an epoch).
    pub fn start(
        set: Arc<PairSet>,
        preprocess: Preprocess,
        batch_size: usize,
        order: Order,
        skip: usize,
    ) -> Self {
        let indices = ordering(set.len(), order);
        let batches: Vec<Vec<usize>> = indices
            .chunks(batch_size.max(1))
            .map(<[usize]>::to_vec)
            .collect();
        let count = batches.len();
        let (sender, receiver) = sync_channel(PREFETCH);

        let worker = std::thread::Builder::new()
            .name("batch-loader".into())
            .spawn(move || produce(&set, &preprocess, order, batches, skip, &sender))
            .expect("the batch loader thread starts");
        Self {
            receiver: Some(receiver),
            worker: Some(worker),
            batches: count,
        }
    }

    /// Batches in a whole pass (skipped ones included).
    pub fn batches_per_pass(&self) -> usize {
        self.batches
    }
}

impl Iterator for BatchLoader {
    type Item = Result<Batch, DataError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.receiver.as_ref()?.recv().ok()
    }
}

impl Drop for BatchLoader {
    fn drop(&mut self) {
        // Dropping the receiver makes the worker's next send fail, so it
        // stops instead of preparing batches nobody will read.
        self.receiver.take();
        if let Some(worker) = self.worker.take() {
            let _ = worker.join();
        }
    }
}

fn ordering(count: usize, order: Order) -> Vec<usize> {
    let mut indices: Vec<usize> = (0..count).collect();
    if let Order::Shuffled { seed, epoch } = order {
        let mut rng = ChaCha8Rng::seed_from_u64(derive_seed(seed, &[epoch]));
        indices.shuffle(&mut rng);
    }
    indices
}

fn produce(
    set: &PairSet,
    preprocess: &Preprocess,
    order: Order,
    batches: Vec<Vec<usize>>,
    skip: usize,
    sender: &SyncSender<Result<Batch, DataError>>,
) {
    let mut position = skip * batches.first().map_or(0, Vec::len);
    for members in batches.into_iter().skip(skip) {
        let batch = assemble(set, preprocess, order, &members, position);
        position += members.len();
        let failed = batch.is_err();
        if sender.send(batch).is_err() || failed {
            return;
        }
    }
}

/// Prepares the examples of one batch in parallel and stacks them.
fn assemble(
    set: &PairSet,
    preprocess: &Preprocess,
    order: Order,
    members: &[usize],
    first_position: usize,
) -> Result<Batch, DataError> {
    let examples = members
        .par_iter()
        .enumerate()
        .map(|(offset, &index)| {
            let pair = set.get(index)?;
            let mut rng = match order {
                Order::Shuffled { seed, epoch } => Some(ChaCha8Rng::seed_from_u64(derive_seed(
                    seed,
                    &[epoch, (first_position + offset) as u64, 1],
                ))),
                Order::Sequential => None,
            };
            let prepared = preprocess.apply(&pair, rng.as_mut())?;
            Ok((pair.name.clone(), prepared))
        })
        .collect::<Result<Vec<_>, DataError>>()?;
    stack(examples)
}

fn stack(examples: Vec<(String, Prepared)>) -> Result<Batch, DataError> {
    let (input_shape, target_shape) = (examples[0].1.input_shape, examples[0].1.target_shape);
    let batch = examples.len();
    let mut inputs = Vec::with_capacity(batch * input_shape.iter().product::<usize>());
    let mut targets = Vec::with_capacity(batch * target_shape.iter().product::<usize>());
    let mut names = Vec::with_capacity(batch);

    for (name, prepared) in examples {
        let shape = prepared.input_shape;
        if shape[1..] != input_shape[1..] {
            return Err(DataError::BatchSizeMismatch {
                first: format!("{}x{}", input_shape[2], input_shape[1]),
                second: format!("{}x{}", shape[2], shape[1]),
            });
        }
        inputs.extend(prepared.input);
        targets.extend(prepared.target);
        names.push(name);
    }
    let [ci, h, w] = input_shape;
    let [co, _, _] = target_shape;
    Ok(Batch {
        input: TensorData::new(inputs, [batch, ci, h, w]),
        target: TensorData::new(targets, [batch, co, h, w]),
        names,
    })
}
