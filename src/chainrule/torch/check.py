"""``check_function`` and ``check_module``: PyTorch code as a cost on float64 arrays for
``check_gradients``.

What is checked is a scalar. A function's outputs are projected on a fixed random upstream
gradient ``u`` (standard normal, one per output, from a stream spawned from ``rng``): the cost is
``sum_k sum(u_k * out_k)``, whose gradient is exactly what backward returns when handed ``u`` as
its ``grad_output``s, so every element of every output's Jacobian takes part and a backward that
mixes up two outputs' gradients fails. ``outputs="each"`` checks every output on its own instead
(results keyed ``"d<output>/d<input>"``), at one forward pass per output per evaluation. A module
may be checked on its ``loss`` instead of the projection.

For ``SomeFunction.apply`` the analytic gradients are what ``SomeFunction.backward`` itself
returned (called through the autograd node, before torch validates them), so a gradient of the
wrong shape or returned in the wrong order is diagnosed ("transposed", "swapped", "shape") rather
than lost in torch's "returned an invalid gradient" error. Gradients whose shape torch would
sum-reduce (a broadcast input's) are reduced the same way.

The caller's tensors and module are never modified: inputs are read into float64 NumPy copies,
a module is deep-copied and cast to float64 (a float32 one with a ``PrecisionWarning``), its
buffers are restored before each evaluation, and torch's random state is fixed during the check
(a Dropout draws the same mask in every evaluation) and given back afterwards, as is its thread
count (evaluations run on one thread: see ``_evaluation_state``).
"""

from __future__ import annotations

import copy
import dataclasses
import inspect
import warnings
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager

import numpy as np

try:
    import torch
except ImportError:  # pragma: no cover - exercised only without the extra
    raise ImportError('chainrule.torch needs PyTorch; install it with: '
                      'pip install "chainrule[torch]"') from None

from .._validate import as_rng, check_choice
from ..gradcheck import (
    DEFAULT_EPS,
    DEFAULT_THRESHOLD,
    GradientReport,
    LayerResult,
    PrecisionWarning,
    check_gradients,
)
from ..gradcheck import assert_gradients as _assert_report
from ..gradcheck.check import combine

__all__ = ["OUTPUTS", "assert_gradients", "check_function", "check_module"]

#: How a function with several outputs is reduced to the scalar that is checked.
OUTPUTS = ("project", "each")
_SEED = 0x5EED  # torch's random state in every evaluation: random ops repeat their draws
_FIXED_STATE = torch.Generator().manual_seed(_SEED).get_state()


# -- what the caller gave ------------------------------------------------------------------------

def _function_class(fn: object) -> type | None:
    """The ``torch.autograd.Function`` subclass behind ``fn`` (the class itself or its ``apply``)."""
    if isinstance(fn, type) and issubclass(fn, torch.autograd.Function):
        return fn
    owner = getattr(fn, "__self__", None)
    if (inspect.ismethod(fn) and getattr(fn, "__name__", "") == "apply" and isinstance(owner, type)
            and issubclass(owner, torch.autograd.Function)):
        return owner
    return None


def _argument_names(target: Callable, n: int, skip_first: bool) -> list[str]:
    """The names of ``target``'s first ``n`` positional parameters; ``input<i>`` where there is none
    (``*args``, a builtin), or where a name would be ambiguous (repeated, or ``x`` beside ``dx``,
    which reads as the course's gradient key)."""
    try:
        params = list(inspect.signature(target).parameters.values())
    except (TypeError, ValueError):
        params = []
    params = params[1:] if skip_first else params
    positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    names = [params[i].name if i < len(params) and params[i].kind in positional else f"input{i}"
             for i in range(n)]
    return _unique(names, reserved=())


def _unique(names: list[str], reserved: tuple[str, ...]) -> list[str]:
    out: list[str] = []
    for i, name in enumerate(names):
        taken = set(out) | set(reserved)
        if name in taken or f"d{name}" in taken or (name.startswith("d") and name[1:] in taken):
            name = f"input{i}"
        out.append(name)
    return out


def _floating(value: object) -> bool:
    return isinstance(value, torch.Tensor) and value.is_floating_point()


def _checked_positions(inputs: tuple) -> list[int]:
    """The inputs to check: the floating-point tensors that require grad, as in torch's gradcheck;
    when none does, every floating-point tensor."""
    floating = [i for i, a in enumerate(inputs) if _floating(a)]
    wanted = [i for i in floating if inputs[i].requires_grad]
    return wanted or floating


def _kind(v: object) -> str:
    return f"tensor({v.dtype})" if isinstance(v, torch.Tensor) else type(v).__name__


def _frozen(inputs: tuple) -> list[object]:
    """The arguments as every evaluation starts from them: floating tensors in float64 (the function
    sees one dtype), every tensor detached; ``_arguments`` clones them per call, so a function that
    writes into an argument cannot corrupt the next evaluation."""
    return [a.detach().to(torch.float64) if _floating(a) else a.detach() if isinstance(a, torch.Tensor) else a
            for a in inputs]


def _arguments(tensors: Mapping[str, torch.Tensor], names: list[str], fixed: list[object]) -> list[object]:
    """The call's arguments: the checked ones from ``tensors``, the others fresh from ``fixed``."""
    return [tensors[n] if n in tensors else f.clone() if isinstance(f, torch.Tensor) else f
            for n, f in zip(names, fixed, strict=True)]


def _as_float64(t: torch.Tensor) -> np.ndarray:
    return np.array(t.detach().cpu().to(torch.float64).numpy(), dtype=np.float64, copy=True)


def _precision(low: list[str], what: str, notes: list[str]) -> None:
    if low:
        msg = (f"{what} {low} are float32 or lower: checking a float64 copy, where finite differences keep "
               "about twice the digits")
        warnings.warn(msg, PrecisionWarning, stacklevel=3)
        notes.append(msg)


def _tensor_outputs(out: object) -> list[tuple[str, torch.Tensor]]:
    """The floating-point tensor outputs with their names ("out" alone, else "out0", "out1", ...,
    or a named tuple's fields)."""
    if isinstance(out, torch.Tensor):
        items: list[tuple[str, object]] = [("out", out)]
    elif isinstance(out, (tuple, list)):
        fields = getattr(out, "_fields", None)
        items = [(fields[i] if fields else f"out{i}", v) for i, v in enumerate(out)]
    else:
        raise TypeError(f"the function must return a tensor or a tuple of tensors, got {type(out).__name__}")
    found = [(name, v) for name, v in items if _floating(v)]
    if not found:
        kinds = ", ".join(_kind(v) for _, v in items)
        raise TypeError(f"the function returned no floating-point tensor to check (got {kinds})")
    return found  # type: ignore[return-value]


@contextmanager
def _evaluation_state() -> Iterator[None]:
    """Torch's global state during a check, given back after: the random state (every evaluation
    starts from the same one) and one intra-op thread. A check makes thousands of small forward
    passes, for which a thread pool costs far more than it gives (measured: BatchNorm1d on 8x5,
    70 us on one thread, 0.6-4.5 ms on two on a loaded 2-core machine)."""
    saved, threads = torch.get_rng_state(), torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_rng_state(saved)
        torch.set_num_threads(threads)


# -- the check shared by functions and modules ---------------------------------------------------

class _Backward(Exception):
    """The code under test failed while computing its gradients: a finding, not a usage error."""


def _upstreams(gen: np.random.Generator, outs: list[tuple[str, torch.Tensor]]) -> list[np.ndarray]:
    # a child stream: inputs drawn from default_rng(0) must not equal the upstream of rng=0
    child = gen.spawn(1)[0]
    return [child.standard_normal(tuple(t.shape)) for _, t in outs]


def _sum_to(grad: torch.Tensor, shape: tuple[int, ...]) -> torch.Tensor:
    """A gradient of a broadcast input, summed to the input's shape as torch's engine does."""
    if tuple(grad.shape) != shape and len(grad.shape) >= len(shape):
        try:
            if torch.broadcast_shapes(shape, tuple(grad.shape)) == tuple(grad.shape):
                return grad.sum_to_size(shape)
        except RuntimeError:
            pass
    return grad


def _raw_backward(function_cls: type, out: object, outs: list[tuple[str, torch.Tensor]],
                  ups: list[torch.Tensor | None], arg_names: list[str]) -> list[torch.Tensor | None]:
    """What ``function_cls.backward`` returns for the upstream gradients ``ups``, one entry per
    argument of forward; raises ``_Backward`` with torch-independent wording when it cannot."""
    node = next((t.grad_fn for _, t in outs if t.grad_fn is not None), None)
    if node is None:
        raise _Backward("no output of the Function is connected to its inputs (forward returned "
                        "detached tensors?), so backward is never called")
    upstream_of = {id(t): u for (_, t), u in zip(outs, ups, strict=True)}
    every = [out] if isinstance(out, torch.Tensor) else list(out)  # type: ignore[arg-type]
    grad_outputs = []
    for v in every:
        if not isinstance(v, torch.Tensor):
            continue
        u = upstream_of.get(id(v))
        grad_outputs.append(u if u is not None else torch.zeros_like(v) if v.is_floating_point() else None)
    try:
        raw = node.apply(*grad_outputs)
    except Exception as e:  # the user's backward may fail in any way; the report says how
        raise _Backward(f"{function_cls.__name__}.backward raised {type(e).__name__}: {e}") from e
    grads = list(raw) if isinstance(raw, (tuple, list)) else [raw]
    n = len(arg_names)
    if len(grads) < n or any(g is not None for g in grads[n:]):
        raise _Backward(f"{function_cls.__name__}.backward returned {len(grads)} gradient(s) for the {n} "
                        f"argument(s) of forward ({', '.join(arg_names)}): torch needs exactly one per "
                        "argument, None for those without a gradient")
    for name, g in zip(arg_names, grads, strict=False):
        if g is not None and not isinstance(g, torch.Tensor):
            raise _Backward(f"{function_cls.__name__}.backward returned a {type(g).__name__} as the gradient "
                            f"of {name!r}: each gradient must be a tensor or None")
    return grads[:n]


class _Problem:
    """The code under test as ``forward(tensors by checked name) -> output``, with the float64
    values at the point checked. ``function_cls`` and ``arg_names`` enable the raw-backward path."""

    def __init__(self, forward: Callable[[dict[str, torch.Tensor]], object], values: dict[str, np.ndarray],
                 inputs: list[str], function_cls: type | None = None, arg_names: list[str] | None = None,
                 positions: dict[str, int] | None = None,
                 own_leaves: dict[str, torch.Tensor] | None = None) -> None:
        self.forward, self.values, self.inputs = forward, values, inputs
        self.function_cls, self.arg_names, self.positions = function_cls, arg_names or [], positions or {}
        self.own_leaves = own_leaves or {}  # what forward differentiates itself (a module's parameters)

    def run(self, arrays: Mapping[str, np.ndarray],
            grad: bool = False) -> tuple[object, dict[str, torch.Tensor]]:
        tensors = {k: torch.from_numpy(np.array(v, dtype=np.float64)) for k, v in arrays.items()}
        if grad:
            for t in tensors.values():
                t.requires_grad_(True)
        torch.set_rng_state(_FIXED_STATE)
        with torch.set_grad_enabled(grad):
            return self.forward(tensors), {**tensors, **self.own_leaves} if grad else tensors

    def analytic(self, out: object, leaves: dict[str, torch.Tensor], outs: list[tuple[str, torch.Tensor]],
                 ups: list[torch.Tensor | None], scalar: torch.Tensor | None) -> dict[str, np.ndarray]:
        """The analytic gradient of every checked name for upstreams ``ups`` (or of ``scalar``)."""
        if scalar is None and self.function_cls is not None:
            raw = _raw_backward(self.function_cls, out, outs, ups, self.arg_names)
            found = {name: raw[self.positions[name]] for name in leaves}
        else:
            targets = [scalar] if scalar is not None else [t for (_, t), u in zip(outs, ups, strict=True)
                                                           if u is not None and t.requires_grad]
            weights = None if scalar is not None else [u for (_, t), u in zip(outs, ups, strict=True)
                                                       if u is not None and t.requires_grad]
            if not targets or not any(t.requires_grad for t in targets):
                found = dict.fromkeys(leaves)  # nothing reaches the inputs: every gradient is zero
            else:
                try:
                    found = dict(zip(leaves, torch.autograd.grad(targets, list(leaves.values()), weights,
                                                                 retain_graph=True, allow_unused=True),
                                     strict=True))
                except Exception as e:  # the user's backward may fail in any way; the report says how
                    raise _Backward(f"backward raised {type(e).__name__}: {e}") from e
        grads = {}
        for name, g in found.items():
            shape = tuple(leaves[name].shape)
            grads[name] = np.zeros(shape) if g is None else _as_float64(_sum_to(g.detach(), shape))
        return grads


def _masks(problem: _Problem, outs: list[tuple[str, torch.Tensor]], keys: dict[str, str]
           ) -> dict[str, dict[str, np.ndarray]]:
    """Element sets worth naming for the "masked" pattern: where each input (or output) of the same
    shape is <= 0 or > 0, as a ReLU-like backward masks them."""
    signs = {name: problem.values[name] for name in problem.inputs}
    signs.update({name: _as_float64(t) for name, t in outs if name not in signs})
    masks: dict[str, dict[str, np.ndarray]] = {}
    for key, name in keys.items():
        shape = problem.values[name].shape
        found = {}
        for other, v in signs.items():
            if v.shape == shape and v.size > 1:
                found[f"elements where {other} <= 0"] = v <= 0
                found[f"elements where {other} > 0"] = v > 0
        if found:
            masks[key] = found
    return masks


def _check(problem: _Problem, *, loss: Callable | None, outputs: str, eps: float | None, method: str,
           threshold: float, sample: int | None, rng: np.random.Generator | int | None,
           batch_size: int | None, notes: list[str]) -> GradientReport:
    check_choice(outputs, OUTPUTS, "outputs")
    if method == "complex":
        raise ValueError("method 'complex' needs a cost written for complex input; torch code is checked "
                         "with 'central' or 'directional'")
    if loss is not None and outputs != "project":
        raise ValueError("outputs='each' checks every output on its own; with a loss the scalar checked is "
                         "the loss: leave outputs='project'")
    gen = as_rng(rng)
    names = list(problem.values)
    with _evaluation_state():
        out, leaves = problem.run(problem.values, grad=True)
        # with a loss, the output may be anything the loss takes (a dict, a dataclass)
        outs = _tensor_outputs(out) if loss is None or isinstance(out, (torch.Tensor, tuple, list)) else []
        scalar = None
        if loss is not None:
            scalar = loss(out)
            if not isinstance(scalar, torch.Tensor) or scalar.numel() != 1 or not scalar.is_floating_point():
                shape = tuple(scalar.shape) if isinstance(scalar, torch.Tensor) else None
                shown = _kind(scalar) + (f" of shape {shape}" if shape is not None else "")
                raise TypeError(f"loss must return a floating-point scalar tensor, got {shown}")
        ups_np = _upstreams(gen, outs) if loss is None else []
        ups = [torch.from_numpy(u.copy()) for u in ups_np]  # copies: a backward may write into them
        try:
            if outputs == "project":
                grads = problem.analytic(out, leaves, outs, list(ups) or [None] * len(outs), scalar)
                keys = {n: n for n in names}
            else:
                grads, keys = {}, {}
                for k, (oname, _) in enumerate(outs):
                    only = [u if j == k else None for j, u in enumerate(ups)]
                    for name, g in problem.analytic(out, leaves, outs, only, None).items():
                        key = f"d{oname}/d{name}"
                        grads[key], keys[key] = g, name
        except _Backward as e:
            return _error_report(str(e), method, eps, threshold, notes, sample)
        changed = [oname for (oname, _), u, u0 in zip(outs, ups, ups_np, strict=False)
                   if not np.array_equal(u.numpy(), u0)]
        if changed:
            notes.append(f"backward wrote into its grad_output for {', '.join(changed)} in place: in a graph "
                         "where that gradient also flows elsewhere this corrupts it; clone it first")
        ups = [torch.from_numpy(u) for u in ups_np]
        out_index = {oname: k for k, (oname, _) in enumerate(outs)}

        def projected(o: object) -> float:
            return float(sum(torch.sum(u * t.detach().to(torch.float64))
                             for (_, t), u in zip(_tensor_outputs(o), ups, strict=True)))

        def cost(vals: dict[str, np.ndarray]) -> float:
            if outputs == "project":
                o, _ = problem.run(vals)
                return float(loss(o)) if loss is not None else projected(o)
            total = 0.0
            for oname, k in out_index.items():  # output k at its own copy of the inputs
                o, _ = problem.run({n: vals[f"d{oname}/d{n}"] for n in names})
                total += float(torch.sum(ups[k] * _tensor_outputs(o)[k][1].to(torch.float64)))
            return total

        values = {key: problem.values[name] for key, name in keys.items()}
        report = check_gradients(cost, values, grads, eps=eps, method=method, threshold=threshold,
                                 sample=sample, rng=gen, batch_size=batch_size,
                                 masks=_masks(problem, outs, keys))
    report.notes.extend(notes)
    return report


def _error_report(message: str, method: str, eps: float | None, threshold: float, notes: list[str],
                  sample: int | None) -> GradientReport:
    """The report of a backward that failed: wrong, with the failure as its error."""
    return GradientReport(outcome="wrong", difference=float("nan"), parameters={}, method=method,
                          eps=DEFAULT_EPS[method] if eps is None else eps, threshold=threshold,
                          notes=notes, error=message, sample=sample)


# -- the public checks ---------------------------------------------------------------------------

def check_function(fn: Callable, *inputs: object, outputs: str = "project", eps: float | None = None,
                   method: str = "central", threshold: float = DEFAULT_THRESHOLD, sample: int | None = None,
                   rng: np.random.Generator | int | None = 0,
                   batch_size: int | None = None) -> GradientReport:
    """Check the gradients of a PyTorch function at ``inputs``.

    Parameters
    ----------
    fn : callable
        ``SomeFunction.apply`` (or the ``torch.autograd.Function`` subclass itself), or any callable
        on tensors returning a tensor or a tuple of tensors (non-floating outputs are ignored).
    *inputs
        Its positional arguments. The floating-point tensors that require grad are checked (every
        floating-point tensor when none does); other arguments (ints, flags, integer tensors) are
        passed as given. Results are keyed by the argument names of ``fn`` (of ``forward`` for a
        Function, ``ctx`` skipped), ``input0``, ``input1``... where there are none.
    outputs : {"project", "each"}
        "project": check ``sum_k sum(u_k * out_k)`` with a fixed standard normal ``u_k`` per output
        (every Jacobian element takes part; a backward that confuses two outputs' gradients fails).
        "each": check every output on its own, results keyed ``"d<output>/d<input>"`` (``"dout0/dx"``).
    eps, method, threshold, sample, rng, batch_size
        As for ``chainrule.check_gradients`` (``method`` "central" or "directional"). ``rng`` also
        draws the upstream gradients; the inputs are checked in float64 (float32 ones with a
        ``PrecisionWarning``).

    Returns
    -------
    GradientReport, as ``check_gradients``: outcome, patterns, worst elements per input. A backward
    that raises, or returns the wrong number of gradients, gives a failed report whose ``error``
    says so. The inputs are never modified and torch's random state is restored.
    """
    function_cls = _function_class(fn)
    call = function_cls.apply if function_cls is not None else fn
    if not callable(call):
        raise TypeError(f"fn must be a torch.autograd.Function, its apply, or a callable on tensors, "
                        f"got {type(fn).__name__}")
    if function_cls is not None:
        own_context = function_cls.setup_context is not torch.autograd.Function.setup_context
        names = _argument_names(function_cls.forward, len(inputs), skip_first=not own_context)
    else:
        names = _argument_names(call, len(inputs), skip_first=False)
    checked = _checked_positions(inputs)
    if not checked:
        kinds = ", ".join(_kind(a) for a in inputs) or "nothing"
        raise ValueError(f"nothing to check: inputs has no floating-point tensor (got {kinds})")
    notes: list[str] = []
    _precision([names[i] for i in checked if inputs[i].dtype != torch.float64], "inputs", notes)
    values = {names[i]: _as_float64(inputs[i]) for i in checked}
    fixed = _frozen(inputs)
    positions = {names[i]: i for i in checked}

    def forward(tensors: dict[str, torch.Tensor]) -> object:
        return call(*_arguments(tensors, names, fixed))

    problem = _Problem(forward, values, list(values), function_cls, names, positions)
    return _check(problem, loss=None, outputs=outputs, eps=eps, method=method, threshold=threshold,
                  sample=sample, rng=rng, batch_size=batch_size, notes=notes)


def _detached(value: object) -> object:
    return value.detach().clone() if isinstance(value, torch.Tensor) else value


def _parts(work: torch.nn.Module, args: list[object]) -> list[tuple[str, str, object, tuple]]:
    """What one forward pass of ``work`` runs, in call order, with the inputs each piece saw: its
    leaf submodules (label: their name) and the custom ``autograd.Function``s it applies (label:
    ``Name.apply``), each once (its first call). Functions are seen through ``Function.apply``,
    wrapped for this one pass and restored after."""
    found: list[tuple[str, str, object, tuple]] = []
    seen: set[object] = set()

    def module_hook(mod: torch.nn.Module, inp: tuple, kwargs: dict, label: str) -> None:
        if label not in seen:
            seen.add(label)
            # a call with keyword arguments cannot be replayed positionally: recorded as None, skipped
            args = None if kwargs else tuple(_detached(a) for a in inp)
            found.append((label, type(mod).__name__, mod, args))

    leaves = [(n, sub) for n, sub in work.named_modules() if n and next(sub.children(), None) is None]
    handles = [sub.register_forward_pre_hook(
        lambda mod, inp, kw, label=name: module_hook(mod, inp, kw, label), with_kwargs=True)
        for name, sub in leaves]
    original = torch.autograd.Function.__dict__["apply"]

    def apply(cls, *a, **kw):
        if cls not in seen:
            seen.add(cls)
            found.append((f"{cls.__name__}.apply", "autograd.Function", cls,
                          None if kw else tuple(_detached(x) for x in a)))
        return original.__func__(cls, *a, **kw)

    torch.autograd.Function.apply = classmethod(apply)
    try:
        with torch.no_grad():
            work(*args)
    finally:
        torch.autograd.Function.apply = original
        for h in handles:
            h.remove()
    return found


def _part_results(parts: list[tuple[str, str, object, tuple | None]], options: dict,
                  notes: list[str]) -> list[LayerResult]:
    """Every part checked alone at the inputs it saw in the forward pass; a part that cannot be
    checked alone (called with keyword arguments, or refusing to run on its own) gets a note."""
    results = []
    for label, kind, obj, args in parts:
        if args is None:
            notes.append(f"{label} was called with keyword arguments and is not checked alone")
            continue
        own = isinstance(obj, torch.nn.Module) and any(p.requires_grad for p in obj.parameters())
        if not own and not any(_floating(a) for a in args):
            continue  # nothing differentiable reaches it (an embedding's indices): nothing to check alone
        try:
            if isinstance(obj, torch.nn.Module):
                rep = check_module(obj, *args, layers=False, **options)
            else:
                rep = check_function(obj, *args, **options)
        except (ValueError, TypeError, RuntimeError) as e:
            notes.append(f"{label} could not be checked alone ({type(e).__name__}: {e})")
            continue
        results.append(LayerResult(label, kind, rep.outcome, rep.difference, rep.parameters, error=rep.error))
    return results


def check_module(module: torch.nn.Module, *inputs: object, loss: Callable | None = None,
                 outputs: str = "project", eps: float | None = None, method: str = "central",
                 threshold: float = DEFAULT_THRESHOLD, sample: int | None = None,
                 rng: np.random.Generator | int | None = 0, batch_size: int | None = None,
                 layers: bool = True) -> GradientReport:
    """Check an ``nn.Module``'s gradients in its parameters (and inputs) at ``inputs``.

    The parameters that require grad are checked, keyed as ``named_parameters()`` names them
    (``"0.weight"``, ``"fc.bias"``); the inputs as in ``check_function`` (the floating-point tensors
    that require grad, else all), keyed by ``forward``'s argument names. ``loss``: a callable taking
    the module's output and returning a scalar tensor (``lambda out: F.cross_entropy(out, y)``); by
    default the output is projected on a fixed random upstream gradient (see ``check_function``).
    ``batch_size`` names the m of a 1/m average in "missing 1/m" hints.

    ``layers`` (default True): also check every piece the forward pass runs alone, at the inputs it
    saw there, as ``check_model`` does for its layers: each leaf submodule (``check_module``, its
    parameters and inputs) and each custom ``autograd.Function`` it applies (``check_function``),
    in call order. ``report.layers`` holds them (``index`` is the submodule's name or
    ``"Name.apply"``) and ``report.blame`` the position of the first that is wrong on its own: a
    buggy backward corrupts the gradients of every parameter before it, but only its own piece
    fails alone.

    The module is deep-copied and checked in float64 (a float32 module with a ``PrecisionWarning``)
    in its current train/eval mode; the copy's buffers (BatchNorm statistics) are restored before
    every evaluation and random ops (Dropout) draw the same values in each. The module and the
    inputs given are never modified, and torch's random state is restored.
    """
    if not isinstance(module, torch.nn.Module):
        raise TypeError(f"module must be a torch.nn.Module, got {type(module).__name__}")
    if loss is not None and not callable(loss):
        raise TypeError(f"loss must be a callable taking the module's output, got {type(loss).__name__}")
    notes: list[str] = []
    low = [n for n, p in module.named_parameters() if p.requires_grad and p.dtype != torch.float64]
    work = copy.deepcopy(module).to(torch.float64)
    params = {n: p for n, p in work.named_parameters() if p.requires_grad}
    frozen = [n for n, p in work.named_parameters() if not p.requires_grad]
    if frozen:
        notes.append(f"parameters {frozen} do not require grad and were not checked")
    arg_names = _unique(_argument_names(work.forward, len(inputs), skip_first=False), reserved=tuple(params))
    checked = _checked_positions(inputs)
    _precision(low + [arg_names[i] for i in checked if inputs[i].dtype != torch.float64],
               "parameters and inputs", notes)
    values = {n: _as_float64(p) for n, p in params.items()}
    values.update({arg_names[i]: _as_float64(inputs[i]) for i in checked})
    if not values:
        raise ValueError("nothing to check: the module has no parameter that requires grad and inputs has no "
                         "floating-point tensor")
    fixed = _frozen(inputs)
    buffers = {n: b.detach().clone() for n, b in work.named_buffers()}
    live_buffers = dict(work.named_buffers())

    def forward(tensors: dict[str, torch.Tensor]) -> object:
        # The copy's own parameters take the values (a copy per evaluation is microseconds, where
        # torch.func.functional_call costs milliseconds); autograd differentiates them directly.
        with torch.no_grad():
            for n, p in params.items():
                p.copy_(tensors[n])
            for n, b in live_buffers.items():
                b.copy_(buffers[n])
        return work(*_arguments(tensors, arg_names, fixed))

    problem = _Problem(forward, values, [arg_names[i] for i in checked], own_leaves=params)
    gen = as_rng(rng)
    report = _check(problem, loss=loss, outputs=outputs, eps=eps, method=method, threshold=threshold,
                    sample=sample, rng=gen, batch_size=batch_size, notes=notes)
    if not layers:
        return report
    with _evaluation_state():
        torch.set_rng_state(_FIXED_STATE)
        parts = _parts(work, _arguments({}, arg_names, fixed))
        with torch.no_grad():
            for n, b in live_buffers.items():
                b.copy_(buffers[n])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PrecisionWarning)  # the parts are float64 copies already
        found = _part_results(parts, {"eps": eps, "method": method, "threshold": threshold, "sample": sample,
                                      "rng": gen}, report.notes)
    blame = next((i for i, part in enumerate(found) if part.outcome == "wrong"), None)
    outcome = combine([report.outcome, *(part.outcome for part in found)])
    return dataclasses.replace(report, outcome=outcome, layers=found, blame=blame)


def assert_gradients(target: Callable | torch.nn.Module, *inputs: object, allow_undecided: bool = False,
                     **kwargs) -> GradientReport:
    """``check_module`` (for an ``nn.Module``) or ``check_function`` (for anything else callable)
    as a pytest one-liner: raises ``AssertionError`` with the report unless the check passed (or, with
    ``allow_undecided=True``, was undecided), exactly as ``chainrule.assert_gradients``, which takes
    these targets too. Returns the report."""
    __tracebackhide__ = True  # pytest: the failure is in the user's gradients, not here
    check = check_module if isinstance(target, torch.nn.Module) else check_function
    return _assert_report(check(target, *inputs, **kwargs), allow_undecided=allow_undecided)
