"""plainnet: small dense neural networks you can read, running on plain-loop C++.

    >>> import plainnet as pn
    >>> X, y = pn.datasets.xor()
    >>> net = pn.Network([2, 4, 1], seed=42)
    >>> history = net.fit(X, y, lr=2.0, epochs=10000)

``backend="native"`` (default) runs the C++ core; ``backend="numpy"`` runs the
same math in ``plainnet.reference``, the pure-NumPy twin the core is tested
against.
"""

from . import datasets, optim, reference
from ._diagnostics import Diagnosis, GradCheckResult, Hint, LayerReport, gradcheck
from ._init import INITS
from .network import ACTIVATIONS, BACKENDS, LOSSES, OUTPUT_ACTIVATIONS, History, Network

__version__ = "0.1.0"

from . import experiments  # noqa: E402  (after __version__, which the report uses)

__all__ = ["ACTIVATIONS", "BACKENDS", "Diagnosis", "GradCheckResult", "Hint", "INITS",
           "LOSSES", "LayerReport", "OUTPUT_ACTIVATIONS", "History", "Network", "datasets",
           "experiments", "gradcheck", "optim", "reference", "__version__"]
