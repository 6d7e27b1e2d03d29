"""twinlab.io: save and load twins, parameter sets and any pytree of arrays, safely.

A twinlab file is one safetensors file: the arrays as safetensors tensors, and in its metadata a JSON *spec* (the
tree's structure, scalars, strings and the name of each registered type), with ``format = "twinlab"`` and a
``format_version`` (now 1). Files are written atomically (a temporary file beside the target, fsynced, renamed
over it), so a crash mid-save leaves the previous complete file. Loading parses JSON and raw array bytes only; it
never unpickles, never imports a module named by the file and never runs code from it, so a damaged or foreign file
is a `FormatError` with the reason.

The type registry. A type is saveable once registered under a stable name, with a layout version:

* ``register_dataclass(cls, name)`` for dataclasses and flax structs: saved by their ``__init__`` fields.
* ``register(cls, name, to_data=..., from_data=..., version=...)`` for anything else: ``to_data(obj)`` returns a
  tree of saveable things; ``from_data(tree, version)`` rebuilds the object, and may upgrade older layouts.

Registered here: ``tl.glucose.PatientParams``, ``Therapy``, ``Schedule`` and ``GlucoseRecord``, the model and its
states, ``tl.bayes.Prior``, ``Diagnostics`` and ``Posterior``, and ``tl.Twin`` (arrays load as NumPy; JAX takes them
as they are). Later types (posteriors, twins, trained networks) register themselves the same
way in their own modules.

Example:
    >>> import numpy as np, tempfile, pathlib
    >>> from twinlab import io
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "x.twinlab"
    >>> _ = io.save({"w": np.arange(3.0), "name": "demo"}, path)
    >>> io.load(path)["w"].tolist()
    [0.0, 1.0, 2.0]
"""

from twinlab.io._bayes import register_bayes_types
from twinlab.io._format import FORMAT, FORMAT_VERSION, FormatError, dumps, load, loads, save
from twinlab.io._glucose import register_glucose_types
from twinlab.io._registry import Codec, codec_for, codec_named, register, register_dataclass

register_glucose_types()
register_bayes_types()

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "Codec",
    "FormatError",
    "codec_for",
    "codec_named",
    "dumps",
    "load",
    "loads",
    "register",
    "register_dataclass",
    "save",
]
