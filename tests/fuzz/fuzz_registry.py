# ruff: noqa: E501  (tables of cases: one case per line reads best)
"""Every public entry point of chainrule, with a valid call to start from and the arguments to fuzz.

An ``Entry`` calls ``fn(**args)`` where ``args`` is a fresh valid set of arguments (``make()``);
the fuzzer replaces one of the ``fuzz`` arguments by a bad value. ``names`` lists, per argument,
the words an error message may use to name it (the argument's own name always counts).
Enumerated from the namespaces chainrule, chainrule.nn, chainrule.autodiff, chainrule.dlai,
chainrule.data, chainrule.io, chainrule.optim and chainrule.gradcheck;
``test_registry_covers_the_public_namespaces`` keeps the list complete.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

import chainrule as cr
from chainrule import autodiff as ad
from chainrule import data, dlai, gradcheck, io, nn, optim

TMP = tempfile.mkdtemp(prefix="chainrule-fuzz-")
MODEL_PATH = os.path.join(TMP, "model.npz")
cr.save(cr.Sequential(cr.Linear(2, 3, rng=0), cr.ReLU(), cr.Linear(3, 2, rng=1)), MODEL_PATH)


def _write_idx(path, arr):
    codes = {np.dtype(np.uint8): 0x08, np.dtype(">i4"): 0x0C}
    header = bytes([0, 0, codes[arr.dtype], arr.ndim]) + np.array(arr.shape, ">u4").tobytes()
    with open(path, "wb") as f:
        f.write(header + arr.tobytes())


MNIST_DIR = os.path.join(TMP, "mnist")
os.makedirs(MNIST_DIR)
_write_idx(os.path.join(MNIST_DIR, "train-images-idx3-ubyte"), np.arange(4 * 28 * 28, dtype=np.uint8).reshape(4, 28, 28))
_write_idx(os.path.join(MNIST_DIR, "train-labels-idx1-ubyte"), np.array([5, 0, 4, 1], np.uint8))
IDX_PATH = os.path.join(MNIST_DIR, "train-labels-idx1-ubyte")
CKPT_PATH = os.path.join(TMP, "ckpt.npz")
_ckpt_opt = optim.Adam(0.1)
cr.save(cr.Sequential(cr.Linear(2, 3, rng=0), cr.ReLU(), cr.Linear(3, 2, rng=1)), CKPT_PATH,
        optimizer=_ckpt_opt, lr_scheduler=optim.StepLR(_ckpt_opt, step_size=2))


@dataclass
class Entry:
    name: str
    fn: Callable
    make: Callable[[], dict]
    fuzz: tuple[str, ...]
    names: dict[str, tuple[str, ...]] = field(default_factory=dict)
    domain_nan: bool = False  # NaN is a correct answer for some finite inputs (log(-1))
    counts: tuple[str, ...] = ()  # iteration counts: a huge one is a long run, not a bad input
    # a huge learning rate or a tiny loss bound is a run that diverges: TrainingDiverged is the answer
    diverges: tuple[str, ...] = ()

    def words(self, arg: str) -> tuple[str, ...]:
        return (arg, *self.names.get(arg, ()))


RNG = np.random.default_rng(0)
X2 = RNG.standard_normal((6, 2))
Y2 = np.array([0, 1, 0, 1, 1, 0])
X3 = RNG.standard_normal((5, 3))


def _model():
    return cr.Sequential(cr.Linear(2, 3, rng=0), cr.ReLU(), cr.Linear(3, 2, rng=1))


def _course():
    params = dlai.initialize_parameters_deep([3, 4, 1], rng=1)
    X = RNG.standard_normal((3, 5))
    Y = np.array([[1.0, 0, 1, 0, 1]])
    return params, X, Y


def _course_caches():
    params, X, Y = _course()
    AL, caches = dlai.L_model_forward(X, params)
    return params, X, Y, AL, caches


def _gradcheck_n():
    params = dlai.initialize_parameters_deep([4, 5, 3, 1], rng=1)
    X = RNG.standard_normal((4, 3))
    Y = np.array([[1.0, 1, 0]])
    cost, cache = dlai.forward_propagation_n(X, Y, params)
    grads = dlai.backward_propagation_n(X, Y, cache)
    return params, grads, X, Y, cache


def _layer_call(make_layer, method="forward"):
    def call(x):
        return getattr(make_layer(), method)(x)
    return call


def _backward_call(make_layer, x):
    def call(dout):
        layer = make_layer()
        layer.forward(x)
        return layer.backward(dout)
    return call


def _loss_call(make_loss):
    def call(logits, target):
        return make_loss().forward(logits, target)
    return call


def _opt_step(make_opt):
    def call(params, grads):
        make_opt().step(params, grads)
        return params
    return call


def _tensor_backward(gradient):
    x = ad.Tensor(np.array([1.0, 2.0, 3.0]), requires_grad=True)
    y = x * 2.0
    y.backward(gradient)
    return x.grad


def _grad_of(f, argnums):
    return ad.grad(f, argnums)(np.array([1.0, 2.0]), np.array([3.0, 4.0]))


def _cost_fn(params):
    return float(np.sum(params["w"] ** 2))


LAYERS = {"Linear": lambda: cr.Linear(2, 3, rng=0), "ReLU": cr.ReLU, "LeakyReLU": cr.LeakyReLU,
          "Sigmoid": cr.Sigmoid, "Tanh": cr.Tanh, "Softmax": cr.Softmax, "Identity": cr.Identity,
          "Sequential": _model, "Dropout": lambda: cr.Dropout(0.5, rng=0), "BatchNorm1d": lambda: cr.BatchNorm1d(2),
          "LayerNorm": lambda: cr.LayerNorm(2)}
LOSSES = {"CrossEntropyLoss": cr.CrossEntropyLoss, "BCEWithLogitsLoss": cr.BCEWithLogitsLoss,
          "MSELoss": cr.MSELoss}
LOSS_TARGETS = {"CrossEntropyLoss": Y2, "BCEWithLogitsLoss": np.ones((6, 2)) * 0.5,
                "MSELoss": np.zeros((6, 2))}


def _entries() -> list[Entry]:
    E = Entry
    out = [
        # ---- layers and losses (chainrule, chainrule.nn) ------------------------------------------
        E("Linear", cr.Linear, lambda: dict(in_features=2, out_features=3, rng=0),
          ("in_features", "out_features", "init", "rng", "dtype")),
        E("LeakyReLU", cr.LeakyReLU, lambda: dict(negative_slope=0.1), ("negative_slope",)),
        E("Sequential", lambda layers: cr.Sequential(*layers) if isinstance(layers, list) else cr.Sequential(layers),
          lambda: dict(layers=[cr.ReLU()]), ("layers",)),
        E("mlp", cr.mlp, lambda: dict(sizes=[2, 3, 2], rng=0),
          ("sizes", "activation", "output", "init", "rng", "dtype")),
        E("nn.get_activation", nn.get_activation, lambda: dict(name="relu"), ("name",), {"name": ("activation",)}),
    ]
    for name, make in LAYERS.items():
        x = X2
        out.append(E(f"{name}.forward", _layer_call(make), lambda x=x: dict(x=x), ("x",)))
        dout_shape = make().forward(x).shape
        out.append(E(f"{name}.backward", _backward_call(make, x),
                     lambda s=dout_shape: dict(dout=np.ones(s)), ("dout",)))
    for name, make in LOSSES.items():
        out.append(E(f"{name}.forward", _loss_call(make),
                     lambda n=name: dict(logits=X2.copy(), target=LOSS_TARGETS[n].copy()), ("logits", "target")))
    out += [
        # ---- optimizers ------------------------------------------------------------------------------
        E("SGD", optim.SGD, lambda: dict(lr=0.1, momentum=0.5), ("lr", "momentum")),
        E("Adam", optim.Adam, lambda: dict(lr=0.1, betas=(0.9, 0.99), eps=1e-8), ("lr", "betas", "eps")),
        E("SGD.step", _opt_step(lambda: optim.SGD(0.1)),
          lambda: dict(params={"W": np.ones(2)}, grads={"W": np.ones(2)}), ("params", "grads")),
        E("Adam.step", _opt_step(lambda: optim.Adam(0.1)),
          lambda: dict(params={"W": np.ones(2)}, grads={"W": np.ones(2)}), ("params", "grads")),
        # ---- training ----------------------------------------------------------------------------------
        E("fit", cr.fit, lambda: dict(model=_model(), loss=cr.CrossEntropyLoss(), X=X2, y=Y2,
                                      optimizer=cr.SGD(0.1), epochs=1, batch_size=3),
          ("model", "loss", "X", "y", "optimizer", "epochs", "batch_size", "validation_data", "rng"),
          counts=("epochs",)),
        E("evaluate", cr.evaluate, lambda: dict(model=_model(), loss=cr.CrossEntropyLoss(), X=X2, y=Y2),
          ("model", "loss", "X", "y")),
        E("predict", cr.predict, lambda: dict(model=_model(), X=X2), ("model", "X")),
        E("predict_proba", cr.predict_proba, lambda: dict(model=_model(), X=X2), ("model", "X")),
        # ---- persistence -------------------------------------------------------------------------------
        E("save", cr.save, lambda: dict(model=_model(), path=os.path.join(TMP, "out.npz")),
          ("model", "path", "metadata")),
        E("load", cr.load, lambda: dict(path=MODEL_PATH), ("path",)),
        E("io.load_metadata", io.load_metadata, lambda: dict(path=MODEL_PATH), ("path",)),
        # ---- gradient checking -------------------------------------------------------------------------
        E("check_gradients", gradcheck.check_gradients,
          lambda: dict(cost=_cost_fn, params={"w": np.array([1.0, 2.0])}, grads={"w": np.array([2.0, 4.0])}),
          ("cost", "params", "grads", "eps", "method", "threshold", "sample", "rng", "directions")),
        E("check_layer", gradcheck.check_layer, lambda: dict(layer=cr.Linear(2, 3, rng=0), x=X2),
          ("layer", "x", "dout", "eps", "method", "threshold", "sample", "rng")),
        E("check_loss", gradcheck.check_loss,
          lambda: dict(loss=cr.CrossEntropyLoss(), logits=X2.copy(), target=Y2.copy()),
          ("loss", "logits", "target", "eps", "threshold")),
        E("check_model", gradcheck.check_model,
          lambda: dict(model=_model(), loss=cr.CrossEntropyLoss(), X=X2, y=Y2),
          ("model", "loss", "X", "y", "eps", "method", "threshold", "sample", "rng")),
        E("gradcheck.relative_difference", gradcheck.relative_difference,
          lambda: dict(a=np.ones(3), n=np.ones(3)), ("a", "n")),
        # ---- data --------------------------------------------------------------------------------------
        E("make_spiral", data.make_spiral, lambda: dict(n_samples=30, n_classes=3, noise=0.2, rng=0),
          ("n_samples", "n_classes", "noise", "rng")),
        E("make_moons", data.make_moons, lambda: dict(n_samples=30, noise=0.1, rng=0), ("n_samples", "noise", "rng")),
        E("make_circles", data.make_circles, lambda: dict(n_samples=30, noise=0.1, factor=0.5, rng=0),
          ("n_samples", "noise", "factor", "rng")),
        E("make_flower", data.make_flower, lambda: dict(n_samples=30, noise=0.2, radius=4.0, rng=0),
          ("n_samples", "noise", "radius", "rng")),
        E("load_dataset", data.load_dataset, lambda: dict(name="moons", n_samples=20, rng=0), ("name", "n_samples"),
          {"name": ("dataset",)}),
        E("train_test_split", data.train_test_split, lambda: dict(X=X2, y=Y2, test_size=0.5, rng=0),
          ("X", "y", "test_size", "rng", "stratify")),
        # ---- autodiff ----------------------------------------------------------------------------------
        E("ad.Tensor", ad.Tensor, lambda: dict(data=np.ones(3), requires_grad=True), ("data", "requires_grad", "name")),
        E("Tensor.backward", _tensor_backward, lambda: dict(gradient=np.ones(3)), ("gradient",)),
        E("ad.MLP", ad.MLP, lambda: dict(sizes=[2, 3, 2], rng=0), ("sizes", "activation", "output", "rng", "dtype")),
        E("ad.grad", _grad_of, lambda: dict(f=lambda a, b: ad.sum(a * b), argnums=0), ("f", "argnums")),
        E("ad.concatenate", ad.concatenate, lambda: dict(tensors=[ad.Tensor(np.ones(2)), np.ones(3)], axis=0),
          ("tensors", "axis")),
        E("ad.reshape", ad.reshape, lambda: dict(a=ad.Tensor(np.ones(6)), shape=(2, 3)), ("a", "shape")),
        E("ad.transpose", ad.transpose, lambda: dict(a=ad.Tensor(np.ones((2, 3))), axes=(1, 0)), ("a", "axes")),
        E("ad.getitem", ad.getitem, lambda: dict(a=ad.Tensor(np.arange(4.0)), index=1), ("a", "index")),
        E("ad.cross_entropy", ad.cross_entropy, lambda: dict(logits=ad.Tensor(X2), target=Y2), ("logits", "target")),
        E("ad.leaky_relu", ad.leaky_relu, lambda: dict(a=np.ones(3), negative_slope=0.1), ("a", "negative_slope")),
        E("ad.layer_gradients", ad.layer_gradients, lambda: dict(layer=cr.Linear(2, 3, rng=0), x=X2,
                                                                dout=np.ones((6, 3))), ("layer", "x", "dout")),
        E("ad.loss_graph", ad.loss_graph, lambda: dict(loss=cr.CrossEntropyLoss(), logits=ad.Tensor(X2), target=Y2),
          ("loss", "logits", "target")),
        E("ad.loss_gradient", ad.loss_gradient, lambda: dict(loss=cr.CrossEntropyLoss(), logits=X2, target=Y2),
          ("loss", "logits", "target")),
        E("ad.model_gradients", ad.model_gradients, lambda: dict(model=_model(), loss=cr.CrossEntropyLoss(),
                                                                X=X2, y=Y2), ("model", "loss", "X", "y")),
        E("ad.to_dot", ad.to_dot, lambda: dict(root=ad.sum(ad.Tensor(np.ones(2), requires_grad=True) * 2)),
          ("root", "max_elements", "rankdir")),
    ]
    for op in ("add", "sub", "mul", "div", "matmul", "maximum", "power"):
        out.append(E(f"ad.{op}", getattr(ad, op), lambda: dict(a=np.ones((2, 2)), b=np.full((2, 2), 2.0)),
                     ("a", "b"), domain_nan=op in ("div", "power")))
    for op in ("exp", "log", "sqrt", "tanh", "sigmoid", "relu", "abs", "sin", "cos", "softplus", "neg"):
        out.append(E(f"ad.{op}", getattr(ad, op), lambda: dict(a=np.ones((2, 2))), ("a",),
                     domain_nan=op in ("log", "sqrt")))
    for op in ("sum", "mean"):
        out.append(E(f"ad.{op}", getattr(ad, op), lambda: dict(a=np.ones((2, 3)), axis=0), ("a", "axis", "keepdims")))
    for op in ("logsumexp", "log_softmax", "softmax"):
        out.append(E(f"ad.{op}", getattr(ad, op), lambda: dict(a=np.ones((2, 3)), axis=-1), ("a", "axis")))
    # ---- the course API (chainrule.dlai) -----------------------------------------------------------
    out += [
        E("dlai.initialize_parameters", dlai.initialize_parameters, lambda: dict(n_x=3, n_h=2, n_y=1, rng=1),
          ("n_x", "n_h", "n_y", "rng", "dtype")),
        E("dlai.initialize_parameters_deep", dlai.initialize_parameters_deep,
          lambda: dict(layer_dims=[3, 2, 1], rng=3), ("layer_dims", "init", "rng", "dtype")),
        E("dlai.linear_forward", dlai.linear_forward,
          lambda: dict(A=np.ones((3, 4)), W=np.ones((2, 3)), b=np.zeros((2, 1))), ("A", "W", "b")),
        E("dlai.linear_activation_forward", dlai.linear_activation_forward,
          lambda: dict(A_prev=np.ones((3, 4)), W=np.ones((2, 3)), b=np.zeros((2, 1)), activation="relu"),
          ("A_prev", "W", "b", "activation")),
        E("dlai.L_model_forward", dlai.L_model_forward, lambda: dict(X=_course()[1], parameters=_course()[0]),
          ("X", "parameters")),
        E("dlai.compute_cost", dlai.compute_cost, lambda: dict(AL=np.array([[0.8, 0.2, 0.6]]),
                                                              Y=np.array([[1.0, 0, 1]])), ("AL", "Y")),
        E("dlai.linear_backward", dlai.linear_backward,
          lambda: dict(dZ=np.ones((2, 4)), cache=(np.ones((3, 4)), np.ones((2, 3)), np.zeros((2, 1)))),
          ("dZ", "cache")),
        E("dlai.linear_activation_backward", dlai.linear_activation_backward,
          lambda: dict(dA=np.ones((2, 4)), cache=((np.ones((3, 4)), np.ones((2, 3)), np.zeros((2, 1))),
                                                  np.ones((2, 4))), activation="relu"),
          ("dA", "cache", "activation")),
        E("dlai.L_model_backward", dlai.L_model_backward,
          lambda: dict(zip(("AL", "Y", "caches"), (_course_caches()[3], _course_caches()[2],
                                                    _course_caches()[4]), strict=True)), ("AL", "Y", "caches"),
          {"caches": ("cache",)}),
        E("dlai.update_parameters", dlai.update_parameters,
          lambda: dict(parameters={"W1": np.ones((2, 3)), "b1": np.zeros((2, 1))},
                       grads={"dW1": np.ones((2, 3)), "db1": np.ones((2, 1))}, learning_rate=0.1),
          ("parameters", "grads", "learning_rate")),
        E("dlai.L_layer_model", dlai.L_layer_model,
          lambda: dict(X=_course()[1], Y=_course()[2], layers_dims=[3, 2, 1], num_iterations=2),
          ("X", "Y", "layers_dims", "learning_rate", "num_iterations", "print_cost", "init", "rng"),
          counts=("num_iterations",)),
        E("dlai.two_layer_model", dlai.two_layer_model,
          lambda: dict(X=_course()[1], Y=_course()[2], layers_dims=(3, 2, 1), num_iterations=2),
          ("X", "Y", "layers_dims", "learning_rate", "num_iterations", "rng"), counts=("num_iterations",)),
        E("dlai.predict", dlai.predict, lambda: dict(X=_course()[1], y=_course()[2], parameters=_course()[0]),
          ("X", "y", "parameters")),
        E("dlai.accuracy", dlai.accuracy, lambda: dict(p=np.array([[1.0, 0, 1]]), y=np.array([[1.0, 1, 1]])),
          ("p", "y")),
        E("dlai.dictionary_to_vector", dlai.dictionary_to_vector, lambda: dict(parameters=_course()[0]),
          ("parameters",)),
        E("dlai.vector_to_dictionary", dlai.vector_to_dictionary,
          lambda: dict(theta=np.ones((11, 1)), shapes={"W1": (2, 3), "b1": (2, 1), "W2": (1, 2), "b2": (1, 1)}), ("theta", "shapes")),
        E("dlai.gradients_to_vector", dlai.gradients_to_vector,
          lambda: dict(gradients={"dW1": np.ones((2, 3)), "db1": np.ones((2, 1))}), ("gradients",)),
        E("dlai.forward_propagation_n", dlai.forward_propagation_n,
          lambda: dict(X=_gradcheck_n()[2], Y=_gradcheck_n()[3], parameters=_gradcheck_n()[0]),
          ("X", "Y", "parameters")),
        E("dlai.backward_propagation_n", dlai.backward_propagation_n,
          lambda: dict(X=_gradcheck_n()[2], Y=_gradcheck_n()[3], cache=_gradcheck_n()[4]), ("X", "Y", "cache")),
        E("dlai.gradient_check_n", dlai.gradient_check_n,
          lambda: dict(zip(("parameters", "gradients", "X", "Y"), _gradcheck_n()[:4], strict=True)),
          ("parameters", "gradients", "X", "Y", "epsilon")),
        E("dlai.gradient_check", dlai.gradient_check, lambda: dict(x=2.0, theta=4.0), ("x", "theta", "epsilon")),
        E("dlai.forward_propagation", dlai.forward_propagation, lambda: dict(x=2.0, theta=4.0), ("x", "theta")),
        E("dlai.backward_propagation", dlai.backward_propagation, lambda: dict(x=2.0, theta=4.0), ("x", "theta")),
        E("dlai.to_sequential", dlai.to_sequential, lambda: dict(parameters=_course()[0]),
          ("parameters", "activation", "output")),
        E("dlai.from_sequential", dlai.from_sequential, lambda: dict(model=_model()), ("model",)),
    ]
    for act in ("sigmoid", "relu", "tanh"):
        out.append(E(f"dlai.{act}", getattr(dlai, act), lambda: dict(Z=np.ones((2, 3))), ("Z",)))
        out.append(E(f"dlai.{act}_backward", getattr(dlai, f"{act}_backward"),
                     lambda: dict(dA=np.ones((2, 3)), cache=np.ones((2, 3))), ("dA", "cache")))
    return out


OPTIMIZERS = {"SGD": lambda: optim.SGD(0.1, momentum=0.5), "RMSprop": lambda: optim.RMSprop(0.01),
              "Adam": lambda: optim.Adam(0.1), "AdamW": lambda: optim.AdamW(0.1)}
SCHEDULES = {"StepLR": dict(step_size=2, gamma=0.5), "ExponentialLR": dict(gamma=0.9),
             "CosineAnnealingLR": dict(T_max=5, eta_min=0.0), "InverseTimeDecay": dict(decay_rate=0.5, time_interval=1)}


def _stepped(make_opt):
    opt = make_opt()
    opt.step({"W": np.ones(2)}, {"W": np.ones(2)})
    return opt


def _load_opt_state(make_opt):
    def call(state_dict):
        make_opt().load_state_dict(state_dict)
    return call


def _schedule(name):
    def call(**kw):
        return getattr(optim, name)(**kw)
    return call


def _load_schedule_state(name):
    def call(state):
        getattr(optim, name)(optim.SGD(0.1), **SCHEDULES[name]).load_state_dict(state)
    return call


def _clip(fn):
    def call(grads, **kw):
        fn(grads, **kw)
        return grads
    return call


def _l2_forward(logits, target):
    return cr.L2Regularized(cr.CrossEntropyLoss(), _model(), 0.5).forward(logits, target)


def _mlpc_fit(X, y, **kw):
    return cr.MLPClassifier(**{"hidden_layer_sizes": (4,), "max_iter": 2, "random_state": 0, **kw}).fit(X, y)


def _mlpc_method(method):
    fitted = cr.MLPClassifier((4,), max_iter=2, random_state=0).fit(X2, Y2)

    def call(**kw):
        return getattr(fitted, method)(**kw)
    return call


def _fit_with(**kw):
    base = dict(model=_model(), loss=cr.CrossEntropyLoss(), X=X2, y=Y2, optimizer=cr.SGD(0.1), epochs=2, batch_size=3)
    return cr.fit(**{**base, **kw})


def _early_stopping(**kw):
    cb = cr.EarlyStopping(**kw)
    return _fit_with(callback=cb, validation_data=(X2, Y2)).history


def _save_with(optimizer, lr_scheduler):
    return cr.save(_model(), os.path.join(TMP, "ckpt-out.npz"), optimizer=optimizer, lr_scheduler=lr_scheduler)


def _load_with(**kw):
    return cr.load(CKPT_PATH, **kw)


def _ckpt_objects():
    opt = optim.Adam(0.1)
    return dict(optimizer=opt, lr_scheduler=optim.StepLR(opt, step_size=2))


def _more_entries() -> list[Entry]:
    """The team's later public API: regularization, clipping, data files, summaries, optimizers,
    schedules, callbacks, checkpoints and the scikit-learn style classifier."""
    E = Entry
    grads = lambda: dict(grads={"W": np.ones((2, 3)), "b": np.ones(3)})  # noqa: E731
    out = [
        E("dlai.compute_cost_with_regularization", dlai.compute_cost_with_regularization,
          lambda: dict(A3=np.array([[0.8, 0.2, 0.6]]), Y=np.array([[1.0, 0, 1]]),
                       parameters={"W1": np.ones((2, 3)), "b1": np.zeros((2, 1)), "W2": np.ones((1, 2))}, lambd=0.7),
          ("A3", "Y", "parameters", "lambd")),
        E("dlai.backward_propagation_with_regularization", dlai.backward_propagation_with_regularization,
          lambda: dict(X=_gradcheck_n()[2], Y=_gradcheck_n()[3], cache=_gradcheck_n()[4], lambd=0.7),
          ("X", "Y", "cache", "lambd")),
        E("optim.clip_grad_norm", _clip(optim.clip_grad_norm), lambda: dict(**grads(), max_norm=1.0),
          ("grads", "max_norm")),
        E("optim.clip_grad_value", _clip(optim.clip_grad_value), lambda: dict(**grads(), clip_value=0.5),
          ("grads", "clip_value")),
        E("nn.freeze_masks", nn.freeze_masks, lambda: dict(model=cr.Sequential(cr.Dropout(0.5, rng=0), cr.ReLU()),
                                                          frozen=True), ("model", "frozen")),
        E("nn.l2_penalty", nn.l2_penalty, lambda: dict(params={"0.W": np.ones((2, 3)), "0.b": np.ones(3)},
                                                      lambd=0.5, m=4), ("params", "lambd", "m", "select")),
        E("nn.l2_penalty_grads", nn.l2_penalty_grads,
          lambda: dict(params={"0.W": np.ones((2, 3)), "0.b": np.ones(3)}, lambd=0.5, m=4),
          ("params", "lambd", "m", "select")),
        E("nn.summary", nn.summary, lambda: dict(model=_model(), input_shape=(2,)), ("model", "input_shape")),
        E("data.load_digits", data.load_digits, lambda: dict(n_class=3, images=False),
          ("n_class", "images", "dtype")),
        E("data.load_mnist", data.load_mnist, lambda: dict(path=MNIST_DIR, split="train"),
          ("path", "split", "flatten", "dtype")),
        E("data.read_idx", data.read_idx, lambda: dict(path=IDX_PATH), ("path",)),
        # ---- optimizers and schedules ----------------------------------------------------------------
        E("SGD+", optim.SGD, lambda: dict(lr=0.1, momentum=0.5),
          ("dampening", "nesterov", "weight_decay", "clip_grad_norm", "clip_grad_value")),
        E("RMSprop", optim.RMSprop, lambda: dict(lr=0.1),
          ("lr", "alpha", "eps", "weight_decay", "momentum", "centered", "clip_grad_norm", "clip_grad_value")),
        E("AdamW", optim.AdamW, lambda: dict(lr=0.1),
          ("lr", "betas", "eps", "weight_decay", "amsgrad", "clip_grad_norm", "clip_grad_value")),
        E("Adam+", optim.Adam, lambda: dict(lr=0.1), ("weight_decay", "amsgrad", "clip_grad_norm", "clip_grad_value")),
    ]
    for name, make in OPTIMIZERS.items():
        if name in ("RMSprop", "AdamW"):
            out.append(E(f"{name}.step", _opt_step(make),
                         lambda: dict(params={"W": np.ones(2)}, grads={"W": np.ones(2)}), ("params", "grads")))
        out.append(E(f"{name}.load_state_dict", _load_opt_state(make),
                     lambda make=make: dict(state_dict=_stepped(make).state_dict()), ("state_dict",)))
    for name, hyper in SCHEDULES.items():
        out.append(E(name, _schedule(name), lambda hyper=hyper: dict(optimizer=optim.SGD(0.1), **hyper),
                     ("optimizer", *hyper)))
        out.append(E(f"{name}.load_state_dict", _load_schedule_state(name),
                     lambda name=name: dict(state=getattr(optim, name)(optim.SGD(0.1), **SCHEDULES[name]).state_dict()),
                     ("state",)))
    out += [
        # ---- layers, losses and the classifier -------------------------------------------------------
        E("Dropout", cr.Dropout, lambda: dict(p=0.5, rng=0), ("p", "rng")),
        E("BatchNorm1d", cr.BatchNorm1d, lambda: dict(num_features=2),
          ("num_features", "eps", "momentum", "affine", "track_running_stats", "dtype")),
        E("LayerNorm", cr.LayerNorm, lambda: dict(normalized_shape=2), ("normalized_shape", "eps",
                                                                          "elementwise_affine", "dtype")),
        E("L2Regularized", cr.L2Regularized, lambda: dict(loss=cr.CrossEntropyLoss(), model=_model(), lambd=0.5),
          ("loss", "model", "lambd", "select")),
        E("L2Regularized.forward", _l2_forward, lambda: dict(logits=X2.copy(), target=Y2.copy()), ("logits", "target")),
        E("MLPClassifier.fit", _mlpc_fit, lambda: dict(X=X2, y=Y2),
          ("X", "y", "hidden_layer_sizes", "activation", "solver", "alpha", "batch_size", "learning_rate",
           "learning_rate_init", "power_t", "max_iter", "random_state", "tol", "momentum", "early_stopping",
           "validation_fraction", "beta_1", "beta_2", "epsilon", "n_iter_no_change", "dtype", "shuffle"),
          counts=("max_iter", "n_iter_no_change"), diverges=("learning_rate_init",)),
        E("MLPClassifier.predict", _mlpc_method("predict"), lambda: dict(X=X2), ("X",)),
        E("MLPClassifier.predict_proba", _mlpc_method("predict_proba"), lambda: dict(X=X2), ("X",)),
        E("MLPClassifier.score", _mlpc_method("score"), lambda: dict(X=X2, y=Y2, sample_weight=np.ones(6)),
          ("X", "y", "sample_weight")),
        # ---- training extras, checkpoints --------------------------------------------------------------
        E("fit+", _fit_with, lambda: dict(lr_scheduler=None, initial_epoch=0),
          ("callback", "lr_scheduler", "validation_split", "initial_epoch", "max_loss", "progress"),
          diverges=("max_loss",)),
        E("EarlyStopping", _early_stopping, lambda: dict(monitor="val_loss", patience=1),
          ("monitor", "patience", "min_delta", "mode", "restore_best_weights")),
        E("save+", _save_with, _ckpt_objects, ("optimizer", "lr_scheduler")),
        E("load+", _load_with, _ckpt_objects, ("optimizer", "lr_scheduler", "custom_layers")),
    ]
    return out


ENTRIES = _entries() + _more_entries()
