//! Loading named tensors (PyTorch `state_dict` names) into a module.

use std::collections::{BTreeSet, HashMap};

use burn::module::{Module, ModuleMapper, Param};
use burn::tensor::{DType, Tensor, TensorData};

/// Why named tensors could not be loaded into a module.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LoadError {
    /// The module has tensors the source does not provide.
    #[error("missing tensors: {}", .0.join(", "))]
    Missing(Vec<String>),
    /// A tensor's shape differs from the module's.
    #[error("tensor {name} has shape {found:?}, the model expects {expected:?}")]
    Shape {
        /// Tensor name.
        name: String,
        /// Shape in the source.
        found: Vec<usize>,
        /// Shape in the module.
        expected: Vec<usize>,
    },
}

/// Replaces every float tensor of `module` (parameters and BatchNorm
/// buffers) with the entry of `tensors` of the same dotted name, cast to
/// float32. Parameter ids and gradient tracking are kept, so optimisers
/// built on the module stay valid. Extra entries in `tensors` are ignored.
pub fn load_named<M: Module>(
    module: M,
    tensors: &HashMap<String, TensorData>,
) -> Result<M, LoadError> {
    let mut loader = Loader {
        tensors,
        path: Vec::new(),
        missing: BTreeSet::new(),
        error: None,
    };
    let module = module.map(&mut loader);

    if let Some(error) = loader.error {
        return Err(error);
    }
    if !loader.missing.is_empty() {
        return Err(LoadError::Missing(loader.missing.into_iter().collect()));
    }
    Ok(module)
}

struct Loader<'a> {
    tensors: &'a HashMap<String, TensorData>,
    path: Vec<String>,
    missing: BTreeSet<String>,
    error: Option<LoadError>,
}

impl ModuleMapper for Loader<'_> {
    fn enter_module(&mut self, name: &str, _container: &str) {
        self.path.push(name.to_string());
    }

    fn exit_module(&mut self, _name: &str, _container: &str) {
        self.path.pop();
    }

    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let name = self.path.join(".");
        let Some(data) = self.tensors.get(&name) else {
            self.missing.insert(name);
            return param;
        };

        let expected = param.lazy_shape().as_slice().to_vec();
        if data.shape().as_slice() != expected.as_slice() {
            self.error.get_or_insert(LoadError::Shape {
                name,
                found: data.shape().as_slice().to_vec(),
                expected,
            });
            return param;
        }
        let data = data.clone().convert_dtype(DType::F32);
        param.map(|old| {
            let fresh = Tensor::from_data(data, &old.device());
            if old.is_require_grad() {
                fresh.require_grad()
            } else {
                fresh
            }
        })
    }
}
