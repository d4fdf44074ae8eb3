"""A model's architecture as JSON, for ``chainrule.save``/``load``: what is serialized, not how.

Built-in layers are described by their type name and constructor fields::

    {"type": "Linear", "in_features": 2, "out_features": 64, "dtype": "float64"}
    {"type": "BatchNorm1d", "num_features": 64, "eps": 1e-05, "momentum": 0.1, "affine": true,
     "track_running_stats": true, "dtype": "float64"}

Any other layer (your own subclass or composite, or another chainrule class such as
``autodiff.MLP``) is recorded by class path and constructor arguments::

    {"type": "custom", "class": "mypackage.layers:Swish", "args": [8], "kwargs": {}}

The arguments are those the layer was constructed with (``Layer.__new__`` records them), or
``layer.get_config()`` (a dict of keyword arguments) when the class defines one. Arguments may be
JSON values, tuples, NumPy dtypes and other layers (described recursively); anything else (a
Generator, a function, an array) is refused at save time with the argument named; give the class a
``get_config()`` then. Loading never imports a module named in a file: a custom class must be handed
to ``load(path, custom_layers=[Swish, ...])`` (chainrule's own classes excepted), and the file's
class path is matched against it, first exactly, then by class name.

A layer whose ``get_extra_state()`` returns something (Dropout: its mask generator's state) gets an
``"extra_state"`` field with that JSON value, handed to ``set_extra_state`` after loading, so a
loaded model continues exactly where the saved one was (its next dropout masks included).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Mapping

import numpy as np

from ._validate import check_json_tree
from .nn.activations import Identity, LeakyReLU, ReLU, Sigmoid, Softmax, Tanh
from .nn.dropout import Dropout
from .nn.init import zeros
from .nn.linear import Linear
from .nn.module import Layer
from .nn.normalization import BatchNorm1d, LayerNorm
from .nn.sequential import Sequential

# Built-in layers and the constructor fields that describe them (besides "type").
BUILTIN_FIELDS: dict[type[Layer], tuple[str, ...]] = {
    Linear: ("in_features", "out_features", "dtype"),
    LeakyReLU: ("negative_slope",),
    Dropout: ("p",),
    BatchNorm1d: ("num_features", "eps", "momentum", "affine", "track_running_stats", "dtype"),
    LayerNorm: ("normalized_shape", "eps", "elementwise_affine", "dtype"),
    **{cls: () for cls in (ReLU, Sigmoid, Tanh, Softmax, Identity)},
}
BUILTINS: dict[str, type[Layer]] = {cls.__name__: cls for cls in BUILTIN_FIELDS}


def class_path(cls: type) -> str:
    return f"{cls.__module__}:{cls.__qualname__}"


def _encode(value: object, where: str) -> object:
    """A constructor argument as JSON (tagged where JSON has no type for it)."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        if not np.isfinite(value):
            raise TypeError(f"{where} is {value!r}: only finite numbers can be saved")
        return float(value)
    if isinstance(value, Layer):
        return {"__layer__": describe(value, where)}
    if isinstance(value, tuple):
        return {"__tuple__": [_encode(v, f"{where}[{i}]") for i, v in enumerate(value)]}
    if isinstance(value, list):
        return [_encode(v, f"{where}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        if any(k.startswith("__") for k in value):
            raise TypeError(f"{where} has a key starting with '__', reserved for chainrule's tags")
        return {k: _encode(v, f"{where}[{k!r}]") for k, v in value.items()}
    if isinstance(value, np.dtype) or (isinstance(value, type) and issubclass(value, np.generic)):
        return {"__dtype__": str(np.dtype(value))}
    raise TypeError(f"{where} is a {type(value).__name__}, which cannot be saved as JSON; give the layer's "
                    "class a get_config() returning its constructor's keyword arguments as JSON values, "
                    "tuples, dtypes or layers")


def _decode(value: object, where: str, build_layer: Callable[[object, str], Layer]) -> object:
    if isinstance(value, list):
        return [_decode(v, f"{where}[{i}]", build_layer) for i, v in enumerate(value)]
    if isinstance(value, dict):
        if set(value) == {"__layer__"}:
            return build_layer(value["__layer__"], where)
        if set(value) == {"__tuple__"} and isinstance(value["__tuple__"], list):
            return tuple(_decode(v, f"{where}[{i}]", build_layer) for i, v in enumerate(value["__tuple__"]))
        if set(value) == {"__dtype__"} and value["__dtype__"] in ("float32", "float64", "int64", "uint8"):
            return np.dtype(value["__dtype__"])
        if any(k.startswith("__") for k in value):
            raise ValueError(f"{where}: unknown tag in {sorted(value)}")
        return {k: _decode(v, f"{where}[{k!r}]", build_layer) for k, v in value.items()}
    return value


def _arguments(layer: Layer) -> tuple[list, dict]:
    """The layer's constructor arguments: get_config() when its own class chain defines one (not
    only chainrule's built-in parents), else those recorded by ``Layer.__new__``."""
    kind = type(layer)
    own_config = next((c for c in kind.__mro__ if "get_config" in vars(c)), None)
    if own_config is not None and own_config not in BUILTIN_FIELDS:
        config = layer.get_config()
        if not isinstance(config, dict) or not all(isinstance(k, str) for k in config):
            raise TypeError(f"{kind.__name__}.get_config() must return a dict of keyword arguments, "
                            f"got {type(config).__name__}")
        return [], dict(config)
    args, kwargs = getattr(layer, "_init_args", ((), {}))
    return list(args), dict(kwargs)


def describe(layer: Layer, where: str) -> dict:
    """The JSON description of ``layer`` (``where`` names it in errors, e.g. "layer 2.0")."""
    spec = _describe(layer, where)
    get_extra = getattr(layer, "get_extra_state", None)
    extra = get_extra() if callable(get_extra) else None
    if extra is not None:
        check_json_tree(extra, f"layer {where} ({type(layer).__name__}): get_extra_state()")
        spec["extra_state"] = extra
    return spec


def _describe(layer: Layer, where: str) -> dict:
    kind = type(layer)
    if kind is Sequential:
        return {"type": "Sequential",
                "layers": [describe(sub, f"{where}.{i}") for i, sub in enumerate(layer)]}
    if kind in BUILTIN_FIELDS:
        config = layer.get_config() if BUILTIN_FIELDS[kind] else {}
        fields = {k: _encode(config[k], f"layer {where}: {k}") for k in BUILTIN_FIELDS[kind]}
        return {"type": kind.__name__, **fields}
    args, kwargs = _arguments(layer)
    return {"type": "custom", "class": class_path(kind),
            "args": [_encode(v, f"layer {where} ({kind.__name__}): argument {i}")
                     for i, v in enumerate(args)],
            "kwargs": {k: _encode(v, f"layer {where} ({kind.__name__}): argument {k!r}")
                       for k, v in kwargs.items()}}


def custom_classes(custom_layers: Iterable[type] | Mapping[str, type] | None) -> dict[str, type]:
    """``load``'s ``custom_layers`` as {class path or name: class}, every class a Layer subclass."""
    if custom_layers is None:
        return {}
    if isinstance(custom_layers, (str, bytes)) or not isinstance(custom_layers, (Iterable, Mapping)):
        raise TypeError(f"custom_layers must be a list of Layer classes or a dict name -> class, got "
                        f"{type(custom_layers).__name__} {custom_layers!r:.60}")
    try:
        items = list(custom_layers.items()) if isinstance(custom_layers, Mapping) else \
            [(class_path(c) if isinstance(c, type) else repr(c), c) for c in custom_layers]
    except TypeError as exc:  # a 0-d array is Iterable but cannot be iterated
        raise TypeError(f"custom_layers must be a list of Layer classes or a dict name -> class, got "
                        f"{type(custom_layers).__name__} {custom_layers!r:.60}") from exc
    out = {}
    for key, cls in items:
        if not (isinstance(cls, type) and issubclass(cls, Layer)):
            raise TypeError(f"custom_layers must hold chainrule Layer classes, got {cls!r}")
        out[str(key)] = cls
    return out


def resolve_class(path: str, custom: dict[str, type]) -> type[Layer]:
    """The class for a recorded class path: one the caller handed over (exact path, then the same
    class name), or one of chainrule's own modules. Nothing else is ever imported."""
    if path in custom:
        return custom[path]
    name = path.rpartition(":")[2]
    same_name = [cls for key, cls in custom.items()
                 if key.rpartition(":")[2] == name or cls.__qualname__ == name]
    if len(same_name) == 1:
        return same_name[0]
    module, _, qualname = path.partition(":")
    if module == "chainrule" or module.startswith("chainrule."):
        obj: object = importlib.import_module(module)
        for part in qualname.split("."):
            obj = getattr(obj, part, None)
        if isinstance(obj, type) and issubclass(obj, Layer):
            return obj
    raise LookupError(f"it needs the custom layer class {path!r}; chainrule never imports modules named in "
                      f"a file, so pass the class: chainrule.load(path, custom_layers=[{name}])")


def build(spec: object, where: str, custom: dict[str, type], check_linear: Callable[[str, tuple], None],
          bad: Callable[[str], Exception]) -> Layer:
    """A layer from its description, with parameters to be overwritten by the file's.

    ``check_linear(where, (in, out, dtype))`` may refuse a Linear larger than the file's data;
    ``bad(problem)`` makes the error raised for an invalid description."""
    if not isinstance(spec, dict) or not isinstance(spec.get("type"), str):
        raise bad(f"layer {where}: expected an object with a 'type', got {spec!r}")
    if "extra_state" not in spec:
        return _build(spec, where, custom, check_linear, bad)
    layer = _build({k: v for k, v in spec.items() if k != "extra_state"}, where, custom, check_linear, bad)
    try:
        layer.set_extra_state(spec["extra_state"])
    except (TypeError, ValueError, KeyError) as exc:
        raise bad(f"layer {where} ({type(layer).__name__}): its extra_state was refused: {exc}") from None
    return layer


def _build(spec: dict, where: str, custom: dict[str, type], check_linear: Callable[[str, tuple], None],
           bad: Callable[[str], Exception]) -> Layer:
    kind = spec["type"]
    if kind == "Sequential":
        if set(spec) != {"type", "layers"} or not isinstance(spec["layers"], list):
            raise bad(f"layer {where}: a Sequential needs exactly a 'layers' list, got fields {sorted(spec)}")
        return Sequential(*[build(s, f"{where}.{i}", custom, check_linear, bad)
                            for i, s in enumerate(spec["layers"])])
    if kind == "custom":
        if set(spec) != {"type", "class", "args", "kwargs"} or not isinstance(spec["class"], str) \
                or not isinstance(spec["args"], list) or not isinstance(spec["kwargs"], dict):
            raise bad(f"layer {where}: a custom layer needs 'class', 'args' and 'kwargs', got {sorted(spec)}")
        try:
            cls = resolve_class(spec["class"], custom)
        except LookupError as exc:
            raise bad(f"layer {where}: {exc}") from None

        def nested(s: object, w: str) -> Layer:
            # Layers inside a custom layer's arguments: their entries are named by that layer.
            return build(s, w, custom, lambda *_: None, bad)

        args = _decode(spec["args"], f"layer {where}", nested)
        kwargs = _decode(spec["kwargs"], f"layer {where}", nested)
        try:
            layer = cls(*args, **kwargs)
        except Exception as exc:  # the user's constructor: any failure is a bad description
            raise bad(f"layer {where}: {cls.__name__}(*{args!r}, **{kwargs!r}) raised "
                      f"{type(exc).__name__}: {exc}") from None
        if not isinstance(layer, Layer):
            raise bad(f"layer {where}: {spec['class']} did not build a chainrule Layer")
        return layer
    if kind not in BUILTINS:
        raise bad(f"layer {where}: unknown layer type {kind!r}")
    cls = BUILTINS[kind]
    fields = BUILTIN_FIELDS[cls]
    if set(spec) != {"type", *fields}:
        raise bad(f"layer {where} ({kind}): expected fields {sorted({'type', *fields})}, got {sorted(spec)}")
    config = {k: spec[k] for k in fields}
    if "dtype" in config and config["dtype"] not in ("float32", "float64"):
        raise bad(f"layer {where} ({kind}): dtype must be 'float32' or 'float64', got {config['dtype']!r}")
    if cls is Linear:
        sizes = (config["in_features"], config["out_features"])
        if not all(type(s) is int and s > 0 for s in sizes):
            raise bad(f"layer {where}: invalid Linear description {spec}")
        check_linear(where, (*sizes, np.dtype(config["dtype"])))
        return Linear(*sizes, init=zeros, rng=0, dtype=np.dtype(config["dtype"]))
    if cls is LayerNorm and isinstance(config["normalized_shape"], list):
        config["normalized_shape"] = tuple(config["normalized_shape"])
    for k, v in config.items():  # JSON numbers and flags only: a string where a number goes is refused here
        if k != "dtype" and not (v is None or type(v) in (int, float, bool, tuple)):
            raise bad(f"layer {where} ({kind}): {k} must be a finite number (or a flag), got {v!r}")
    try:
        return cls(**config)
    except (TypeError, ValueError) as exc:
        raise bad(f"layer {where}: invalid {kind} description ({exc})") from None
