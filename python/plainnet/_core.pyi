"""Types of plainnet._core, the native module built from cpp/bindings/.

Array arguments accept any NumPy array of real numbers (converted to the
working dtype, float64 or float32, taken from the first array argument);
arrays the core writes into (params, dweight, dz, ...) must already have
that dtype and be C-contiguous and writeable.
"""

from typing import Any, Callable, Optional, Sequence

import numpy as np

from ._plan import FitPlan

ACTIVATIONS: tuple[str, ...]
OUTPUT_ACTIVATIONS: tuple[str, ...]
LOSSES: tuple[str, ...]
OPTIMIZERS: tuple[str, ...]
MONITORS: tuple[str, ...]
LEAKY_SLOPE: float
MAX_ELEMENTS: int
PROGRESS_INTERVAL: float

# ---------------------------------------------------------------- kernels

def dense_forward(inp: np.ndarray, weight: np.ndarray, bias: np.ndarray) -> np.ndarray: ...
def dense_backward(dinp: Optional[np.ndarray], dweight: np.ndarray, dbias: np.ndarray,
                   dout: np.ndarray, inp: np.ndarray, weight: np.ndarray,
                   accumulate: bool = ...) -> None: ...
def activation_forward(z: np.ndarray, name: str) -> np.ndarray: ...
def activation_backward(dz: np.ndarray, dout: np.ndarray, z: np.ndarray, a: np.ndarray,
                        name: str) -> None: ...
def loss_forward(z: np.ndarray, a: np.ndarray, y: np.ndarray, name: str) -> float: ...
def loss_backward(d: np.ndarray, z: np.ndarray, a: np.ndarray, y: np.ndarray,
                  name: str) -> None: ...
def softmax_forward(z: np.ndarray) -> np.ndarray: ...
def optimizer_update(params: np.ndarray, grads: np.ndarray, state: list[np.ndarray],
                     optimizer: dict[str, Any], t: int) -> None: ...

# ---------------------------------------------------------------- a whole network

def num_parameters(sizes: Sequence[int]) -> int: ...
def forward(params: np.ndarray, sizes: Sequence[int], activations: Sequence[str], loss: str,
            X: np.ndarray, panels: Optional[tuple[int, np.ndarray]] = None) -> np.ndarray: ...
def row_panels(params: np.ndarray, sizes: Sequence[int]) -> Optional[tuple[int, np.ndarray]]: ...
def forward_trace(params: np.ndarray, sizes: Sequence[int], activations: Sequence[str],
                  loss: str, X: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]: ...
def gradients(params: np.ndarray, sizes: Sequence[int], activations: Sequence[str], loss: str,
              X: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]: ...
def loss_and_gradient(params: np.ndarray, sizes: Sequence[int], activations: Sequence[str],
                      loss: str, X: np.ndarray, y: np.ndarray, sample_weight: Optional[np.ndarray],
                      l2: float, grads: np.ndarray) -> float: ...
def evaluate(params: np.ndarray, sizes: Sequence[int], activations: Sequence[str], loss: str,
             X: np.ndarray, y: np.ndarray) -> tuple[float, int]: ...
def step(params: np.ndarray, sizes: Sequence[int], activations: Sequence[str], loss: str,
         X: np.ndarray, y: np.ndarray, lr: float, dropout: Sequence[float] = (),
         seed: int = 0) -> tuple[float, bool]: ...
def fit(params: np.ndarray, sizes: Sequence[int], activations: Sequence[str], loss: str,
        X: np.ndarray, y: np.ndarray, plan: FitPlan, dropout: Sequence[float] = (),
        ) -> tuple[np.ndarray, int, str, int, np.ndarray, int]: ...
def fit_iterations(m: int, epochs: int, batch_size: int) -> int: ...
def epoch_permutation(m: int, seed: int, epoch: int) -> np.ndarray: ...
def dropout_mask(n: int, p: float, seed: int, epoch: int, batch: int,
                 layer: int) -> np.ndarray: ...

# ---------------------------------------------------------------- build, variants, threads

def build_info() -> dict[str, Any]:
    """How the module was built: "compiler", "flags", "variants" (the compiled
    kernel variants), "supported" (those this CPU runs), "variant" (the one in
    use) and "num_threads"."""

def set_variant(name: str) -> None:
    """Force a kernel variant; ValueError if this CPU does not support it."""

def set_dispatch(name: str) -> None:
    """Deprecated name of set_variant."""

def supported_variants() -> list[str]: ...
def pool_stats() -> dict[str, int]: ...
def set_num_threads(n: int) -> None: ...
def get_num_threads() -> int: ...
