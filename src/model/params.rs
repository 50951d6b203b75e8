//! Walking a module's tensors by name.

use burn::module::{Module, ModuleVisitor, Param, ParamId};
use burn::tensor::{Tensor, TensorData};

/// Names of the buffers BatchNorm keeps; they are saved but never trained.
const BUFFER_NAMES: [&str; 2] = ["running_mean", "running_var"];

/// One float tensor of a module, named by its path (`encoder.1.norm.weight`).
#[derive(Debug, Clone)]
pub struct NamedTensor {
    /// Dotted path, as PyTorch's `state_dict` would name it.
    pub name: String,
    /// The parameter's id, which keys gradients and optimiser state.
    pub id: ParamId,
    /// Whether it is trained (false for BatchNorm running statistics).
    pub learnable: bool,
    /// Its current value.
    pub data: TensorData,
}

/// Every float tensor of `module` in visiting order, with its values.
pub fn named_tensors<M: Module>(module: &M) -> Vec<NamedTensor> {
    let mut collector = Collector::default();
    module.visit(&mut collector);
    collector.tensors
}

/// Learnable parameters of `module`: burn's `num_params` also counts
/// BatchNorm running statistics, which are buffers, not parameters.
pub fn learnable_parameters<M: Module>(module: &M) -> u64 {
    let mut counter = Counter::default();
    module.visit(&mut counter);
    counter.count
}

#[derive(Default)]
struct Collector {
    path: Vec<String>,
    tensors: Vec<NamedTensor>,
}

impl ModuleVisitor for Collector {
    fn enter_module(&mut self, name: &str, _container: &str) {
        self.path.push(name.to_string());
    }

    fn exit_module(&mut self, _name: &str, _container: &str) {
        self.path.pop();
    }

    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        self.tensors.push(NamedTensor {
            name: self.path.join("."),
            id: param.id,
            learnable: !is_buffer(&self.path),
            data: param.val().to_data(),
        });
    }
}

#[derive(Default)]
struct Counter {
    path: Vec<String>,
    count: u64,
}

impl ModuleVisitor for Counter {
    fn enter_module(&mut self, name: &str, _container: &str) {
        self.path.push(name.to_string());
    }

    fn exit_module(&mut self, _name: &str, _container: &str) {
        self.path.pop();
    }

    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        if !is_buffer(&self.path) {
            self.count += param.lazy_shape().num_elements() as u64;
        }
    }
}

fn is_buffer(path: &[String]) -> bool {
    path.last()
        .is_some_and(|name| BUFFER_NAMES.contains(&name.as_str()))
}
