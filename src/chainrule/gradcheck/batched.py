"""Batched perturbation costs: f(θ ± h e_k) for many elements k at once, from the model's structure.

The per-element central difference runs the whole model twice per parameter element. Most of that
work repeats itself: perturbing ``W[i, j]`` of a Linear changes only column j of its output, by
±h·x[:, i]; an elementwise activation keeps the change in that column; the next Linear turns it
into a rank-1 update of its output. The layers below the perturbed one never change (their
activations are computed once), and the perturbed copies above it run as one stacked forward.

A perturbation batch travels up the chain in the cheapest form that still holds it exactly:

* ``_Cells``: one element per copy (an input or logit element moved),
* ``_Cols``: one column per copy (a Linear's output after moving one of its weights or biases),
* ``_Rows``: one row per copy (a Linear's output after moving one input element),
* ``_Dense``: whole (N, ...) arrays per copy, once every row is touched,
* ``_Delta``: the change of whole arrays, kept apart from them so the cost sees it exactly.

Two shortcuts keep a moved column from ever becoming K dense copies of a wide layer: at the top
Linear the logits move by an outer product a[k] b[k], which the loss takes directly
(``Loss.row_changes_outer``: cross-entropy by a series in the tiny move, MSE exactly); and through
Linear -> elementwise f -> Linear the second output moves by sum_p a^p T_p[j] with tables built once
from f's Taylor coefficients (``Layer.taylor``). Both are exact to rounding: the series are cut
where the next term falls below 1e-17 of the first, copies that move further (a large eps) or that
could cross a ReLU kink are evaluated layer by layer.

Layers opt in through the layer protocol (``Layer.forward_rows``, ``elementwise``,
``perturbed_columns``, ``input_change``, ``taylor``; ``Loss.row_losses``, ``row_normaliser``,
``row_changes``, ``row_changes_outer``); the built-in Linear, activations and losses do. A chain
with any other layer, a loss or layer whose batched forward disagrees with its forward at θ, tied
weights, or a subclass that overrides ``forward`` without redeclaring the methods gets ``None``
here and is checked element by element.

The factories return an ``ElementCosts``: ``costs(name, indices, steps) -> (f_plus, f_minus,
crossed)``, each (K,), for flat ``indices`` of parameter ``name`` moved by ``steps``; ``crossed``
marks perturbations that changed the sign of any ReLU-family input anywhere above them. Work is
split into chunks so that no intermediate array exceeds ``budget`` bytes (default 256 MB).

The numbers equal the per-element loop's up to rounding: each perturbed element takes the value
``θ_k ± h`` exactly as the loop stores it, and the step that reaches the output is the rounded
difference ``(θ_k ± h) - θ_k``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..nn import LeakyReLU, ReLU, Sequential
from ..nn.module import Layer, Loss

__all__ = ["DEFAULT_BUDGET", "ElementCosts", "layer_costs", "loss_costs", "model_costs"]

#: Largest intermediate array a batch may build, in bytes.
DEFAULT_BUDGET = 256 * 2**20
# Chunks above a few MB stop paying back their Python overhead and fall out of the caches.
_FAST_CHUNK = 32 * 2**20
# A layer's forward_rows must reproduce its forward to this relative accuracy, or it is not used.
_CONSISTENT = 1e-10

Costs = tuple[np.ndarray, np.ndarray, np.ndarray]


@dataclass
class _Dense:
    values: np.ndarray  # (K, N, ...)


@dataclass
class _Delta:
    values: np.ndarray  # (K, N, ...): the change of whole arrays (kept apart from them for precision)


@dataclass
class _Cols:
    cols: np.ndarray  # (K,)
    values: np.ndarray  # (K, N): the new column


@dataclass
class _Rows:
    rows: np.ndarray  # (K,)
    values: np.ndarray  # (K, D): the new row


@dataclass
class _Cells:
    rows: np.ndarray  # (K,)
    cols: np.ndarray  # (K,)
    values: np.ndarray  # (K,): the new element


Batch = _Dense | _Delta | _Cols | _Rows | _Cells


def _concat(a: Batch, b: Batch) -> Batch:
    """One batch of both: the +h and -h copies travel together."""
    fields = vars(a)
    return type(a)(**{k: np.concatenate([fields[k], vars(b)[k]]) for k in fields})


def _dense(batch: Batch, base: np.ndarray) -> np.ndarray:
    """The batch as K full arrays (K, N, ...)."""
    if isinstance(batch, _Dense):
        return batch.values
    if isinstance(batch, _Delta):
        return base[None] + batch.values
    k = len(batch.values)
    out = np.repeat(base[None], k, axis=0)
    ks = np.arange(k)
    if isinstance(batch, _Cols):
        out[ks[:, None], np.arange(base.shape[0])[None, :], batch.cols[:, None]] = batch.values
    elif isinstance(batch, _Rows):
        out[ks, batch.rows] = batch.values
    else:
        out[ks, batch.rows, batch.cols] = batch.values
    return out


def _owner(cls: type, attr: str) -> type | None:
    return next((c for c in cls.__mro__ if attr in vars(c)), None)


def _opted(obj: object, attr: str, base: type) -> bool:
    """True when ``obj``'s class overrides ``attr`` of ``base`` in a class that also owns (or
    inherits unchanged) the ``forward`` in use: a subclass with its own forward must redeclare it."""
    owner = _owner(type(obj), attr)
    forward = _owner(type(obj), "forward")
    return owner is not None and owner is not base and forward is not None and issubclass(owner, forward)


def _leaves(layer: Layer, prefix: str = "") -> list[tuple[str, Layer]]:
    """(name prefix, layer) along a forward pass; nested Sequentials (with Sequential's own forward)
    flattened, their parameter names kept as ``model.params`` spells them ("1.0.W")."""
    if isinstance(layer, Sequential) and type(layer).forward is Sequential.forward:
        return [leaf for i, sub in enumerate(layer.layers) for leaf in _leaves(sub, f"{prefix}{i}.")]
    return [(prefix, layer)]


def _forward(layer: Layer, batch: Batch, a_in: np.ndarray, a_out: np.ndarray) -> Batch:
    """The batch after ``layer``, whose unperturbed input and output are ``a_in`` and ``a_out``."""
    if isinstance(batch, (_Dense, _Delta)):
        return _Dense(layer.forward_rows(_dense(batch, a_in)))
    if _opted(layer, "elementwise", Layer) and layer.elementwise:
        return type(batch)(**{**vars(batch), "values": layer.forward_rows(batch.values)})
    affine = _opted(layer, "input_change", Layer) and a_out.ndim == 2
    if isinstance(batch, _Rows):
        return _Rows(batch.rows, layer.forward_rows(batch.values[:, None])[:, 0])
    if isinstance(batch, _Cells):
        if affine:
            dv = batch.values - a_in[batch.rows, batch.cols]
            return _Rows(batch.rows, a_out[batch.rows] + layer.input_change(batch.cols, dv))
        rows = a_in[batch.rows]
        rows[np.arange(len(rows)), batch.cols] = batch.values
        return _Rows(batch.rows, layer.forward_rows(rows[:, None])[:, 0])
    if affine:  # a column: every row moves along one row of the weights (rank-1)
        dv = batch.values - a_in[:, batch.cols].T
        return _Dense(a_out[None] + layer.input_change(batch.cols, dv))
    return _Dense(layer.forward_rows(_dense(batch, a_in)))


def _crossed(batch: Batch, a_in: np.ndarray) -> np.ndarray:
    """Which copies moved a ReLU-family input across 0 (the sign pattern ``x > 0`` changed)."""
    if isinstance(batch, _Cells):
        return (batch.values > 0) != (a_in[batch.rows, batch.cols] > 0)
    if isinstance(batch, _Cols):
        return np.any((batch.values > 0) != (a_in[:, batch.cols].T > 0), axis=1)
    if isinstance(batch, _Rows):
        before = a_in[batch.rows] > 0
    else:
        before = a_in[None] > 0
    changed = (_dense(batch, a_in) > 0) != before
    return changed.reshape(len(changed), -1).any(axis=1)


class _LossEnd:
    """The model's loss at the top of the chain."""

    def __init__(self, loss: Loss, z: np.ndarray, target: np.ndarray) -> None:
        self.loss, self.target = loss, np.asarray(target)
        self.changes = _owner(type(loss), "row_changes") is Loss or _opted(loss, "row_changes", Loss)
        self.f0 = float(loss.forward(z, target))
        self.norm = float(loss.row_normaliser(z.shape))
        self.rows = loss.row_losses(z[None], self.target[None])[0] if z.ndim >= 1 else None
        if self.rows is None or self.rows.shape != z.shape[:1]:
            raise ValueError("row_losses must return one value per row")
        if not abs(self.rows.sum() / self.norm - self.f0) <= _CONSISTENT * max(1.0, np.abs(self.rows).sum()
                                                                                / self.norm):
            raise ValueError("row_losses disagrees with forward")

    def costs(self, batch: Batch, z: np.ndarray) -> np.ndarray:
        if isinstance(batch, _Cells):
            rows = z[batch.rows]
            rows[np.arange(len(rows)), batch.cols] = batch.values
            batch = _Rows(batch.rows, rows)
        if isinstance(batch, _Rows):
            new = self.loss.row_losses(batch.values[:, None], self.target[batch.rows][:, None])[:, 0]
            return self.f0 + (new - self.rows[batch.rows]) / self.norm
        if isinstance(batch, _Delta) and self.changes:
            return self.f0 + self.loss.row_changes(z, batch.values, self.target).sum(axis=1) / self.norm
        return self.loss.row_losses(_dense(batch, z), self.target[None]).sum(axis=1) / self.norm

    def costs_outer(self, a: np.ndarray, b: np.ndarray, z: np.ndarray) -> np.ndarray:
        """Costs at logits z + a[k] (outer) b[k]: a (K, N), b (K, C)."""
        return self.f0 + self.loss.row_changes_outer(z, a, b, self.target).sum(axis=1) / self.norm


class _DotEnd:
    """``sum(dout * y)``, the scalar of a layer's isolated check, at the top of the chain."""

    def __init__(self, dout: np.ndarray, y: np.ndarray) -> None:
        self.dout = dout
        self.f0 = float(np.sum(dout * y))

    def costs(self, batch: Batch, y: np.ndarray) -> np.ndarray:
        # f0 plus the change: the change is exact to rounding whatever the size of the sum
        d = self.dout
        if isinstance(batch, _Cells):
            return self.f0 + (batch.values - y[batch.rows, batch.cols]) * d[batch.rows, batch.cols]
        if isinstance(batch, _Cols):
            return self.f0 + np.sum((batch.values - y[:, batch.cols].T) * d[:, batch.cols].T, axis=1)
        if isinstance(batch, _Rows):
            change = (batch.values - y[batch.rows]) * d[batch.rows]
        elif isinstance(batch, _Delta):
            change = batch.values * d[None]
        else:
            change = (batch.values - y[None]) * d[None]
        return self.f0 + change.reshape(len(change), -1).sum(axis=1)

    def costs_outer(self, a: np.ndarray, b: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Costs at outputs y + a[k] (outer) b[k]: sum_n a_n (dout_n . b)."""
        return self.f0 + np.sum(a * (b @ self.dout.T), axis=1)


class ElementCosts:
    """``costs(name, indices, steps) -> (f_plus, f_minus, crossed)`` for one model, layer or loss.

    ``names`` lists what can be perturbed (parameter names, or "x" / "logits" for an input);
    ``f0`` is the cost at θ. Built by ``model_costs``, ``layer_costs`` and ``loss_costs``.
    """

    def __init__(self, layers: list[Layer], x: np.ndarray, end_factory: Callable, input_name: str | None,
                 params: dict[str, tuple[int, str]], budget: int) -> None:
        self.layers, self.budget = layers, int(budget)
        acts = [np.array(x, dtype=np.float64)]
        for layer in layers:
            acts.append(np.array(layer.forward(acts[-1]), dtype=np.float64))
        for layer, a_in, a_out in zip(layers, acts[:-1], acts[1:], strict=True):
            again = np.asarray(layer.forward_rows(a_in[None]))
            if again.shape != (1, *a_out.shape) or not np.allclose(again[0], a_out, rtol=_CONSISTENT,
                                                                   atol=_CONSISTENT * np.abs(a_out).max()):
                raise ValueError(f"{type(layer).__name__}.forward_rows disagrees with its forward")
        self.acts = acts
        self.end = end_factory(acts[-1])
        self.f0 = self.end.f0
        self.kinked = [isinstance(layer, (ReLU, LeakyReLU)) for layer in layers]
        self.input_name = input_name
        self._cache: dict[tuple, object] = {}
        self.outer = not isinstance(self.end, _LossEnd) or _outer_ok(self.end.loss)
        self.params = params
        self.names = ([input_name] if input_name else []) + list(params)

    def __call__(self, name: str, indices: np.ndarray, steps: np.ndarray) -> Costs:
        if name not in self.names:
            raise KeyError(f"name must be one of {self.names}, got {name!r}")
        indices = np.asarray(indices, dtype=np.int64).ravel()
        steps = np.broadcast_to(np.asarray(steps, dtype=np.float64), indices.shape)
        start = 0 if name == self.input_name else self.params[name][0] + 1
        f_plus, f_minus = np.empty(len(indices)), np.empty(len(indices))
        crossed = np.zeros(len(indices), bool)
        chunk = self._chunk(name, start)
        for lo in range(0, len(indices), chunk):
            part = slice(lo, lo + chunk)
            k = len(indices[part])
            f, c = self._run(name, start, indices[part], steps[part])
            f_plus[part], f_minus[part] = f[:k], f[k:]
            crossed[part] = c[:k] | c[k:]
        return f_plus, f_minus, crossed

    def _chunk(self, name: str, start: int) -> int:
        """Elements per chunk: the +h and -h copies of the largest batch built from ``start`` up,
        with room for the temporaries of one layer step, within the budget."""
        n = self.acts[start].shape[0] if self.acts[start].ndim else 1
        two_d = self.acts[start].ndim == 2
        # the form a batch takes at the start, as _origin builds it: elements per copy
        kind = "cells" if name == self.input_name and two_d else "dense"
        if name != self.input_name:
            layer = self.layers[start - 1]
            two_d = two_d and self.acts[start - 1].ndim == 2
            kind = "cols" if two_d and _opted(layer, "perturbed_columns", Layer) else "dense"
        largest, q = 0, start
        while q <= len(self.layers):
            a = self.acts[q]
            size = {"cells": 1, "cols": n, "rows": a.size // max(n, 1), "dense": a.size}[kind]
            largest = max(largest, size)
            if q == len(self.layers):
                break
            layer = self.layers[q]
            if kind == "cols" and self._sandwich(q):  # three layers at once, dense only after them
                kind, q = "dense", q + 3
                continue
            if not (kind == "dense" or (_opted(layer, "elementwise", Layer) and layer.elementwise)):
                kind = "rows" if kind in ("rows", "cells") else "dense"
            q += 1
        largest = max(largest, self.acts[-1].size)  # the loss densifies a column batch
        return max(1, min(self.budget, _FAST_CHUNK) // (2 * 8 * 4 * largest))

    def _origin(self, name: str, flat: np.ndarray, moved: np.ndarray) -> Batch:
        """The perturbed copies where they start: the input itself, or the output of the layer that
        owns parameter ``name``; ``moved`` holds the perturbed elements' new values."""
        if name == self.input_name:
            x = self.acts[0]
            if x.ndim == 2:
                rows, cols = np.divmod(flat, x.shape[1])
                return _Cells(rows, cols, moved)
            out = np.repeat(x[None], len(flat), axis=0).reshape(len(flat), -1)
            out[np.arange(len(flat)), flat] = moved
            return _Dense(out.reshape(len(flat), *x.shape))
        pos, key = self.params[name]
        layer, a_in, a_out = self.layers[pos], self.acts[pos], self.acts[pos + 1]
        arr = layer.params[key]
        if _opted(layer, "perturbed_columns", Layer) and a_in.ndim == 2 and a_out.ndim == 2:
            delta = moved - arr.ravel()[flat]
            found = layer.perturbed_columns(key, flat, delta, a_in, a_out)
            if found is not None:
                return _Cols(np.asarray(found[0]), np.asarray(found[1], dtype=np.float64))
        outs = np.empty((len(flat), *a_out.shape))
        view = arr.reshape(-1)  # the parameter's own memory: perturbed and restored in place
        if not np.shares_memory(view, arr):
            raise ValueError(f"parameter {name!r} is not contiguous")
        for k, (f, v) in enumerate(zip(flat, moved, strict=True)):
            old = view[f]
            view[f] = v
            try:
                outs[k] = layer.forward_rows(a_in[None])[0]
            finally:
                view[f] = old
        return _Dense(outs)

    def _run(self, name: str, start: int, flat: np.ndarray, steps: np.ndarray
             ) -> tuple[np.ndarray, np.ndarray]:
        """Costs and kink crossings of the +h copies then the -h copies of ``flat``."""
        current = (self.acts[0] if name == self.input_name
                   else self.layers[self.params[name][0]].params[self.params[name][1]]).ravel()[flat]
        batch = _concat(self._origin(name, flat, current + steps), self._origin(name, flat, current - steps))
        return self._continue(batch, start, np.zeros(2 * len(flat), bool))

    def _continue(self, batch: Batch, start: int, crossed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Carry ``batch`` (the input of layer ``start``) up to the cost."""
        last = len(self.layers) - 1
        q = start
        while q < len(self.layers):
            if self.kinked[q]:
                crossed |= _crossed(batch, self.acts[q])
            layer, a_in, a_out = self.layers[q], self.acts[q], self.acts[q + 1]
            if (q == last and isinstance(batch, _Cols) and self.outer and a_out.ndim == 2
                    and _opted(layer, "input_change", Layer)):
                # a column moved below the top affine layer: its output moves by an outer product,
                # which the cost takes without building K copies of the output
                a = batch.values - a_in[:, batch.cols].T
                b = np.asarray(layer.input_change(batch.cols, np.ones(len(batch.cols))), dtype=np.float64)
                return np.asarray(self.end.costs_outer(a, b, a_out), dtype=np.float64), crossed
            if isinstance(batch, _Cols) and self._sandwich(q):
                through = self._through_sandwich(batch, q)
                if through is None:  # moved too far for the series, or near a kink: layer by layer
                    return self._in_pieces(batch, q, crossed)
                batch, q = through, q + 3
                continue
            batch = _forward(layer, batch, a_in, a_out)
            q += 1
        return np.asarray(self.end.costs(batch, self.acts[-1]), dtype=np.float64), crossed

    def _sandwich(self, q: int) -> bool:
        """Layers q, q+1, q+2 are affine, elementwise with Taylor coefficients, affine (2-D)."""
        if q + 2 >= len(self.layers) or any(a.ndim != 2 for a in self.acts[q:q + 4]):
            return False
        first, act, second = self.layers[q:q + 3]
        return (_opted(first, "input_change", Layer) and _opted(second, "input_change", Layer)
                and _opted(act, "elementwise", Layer) and act.elementwise and _opted(act, "taylor", Layer))

    def _through_sandwich(self, batch: _Cols, q: int) -> _Delta | None:
        """A column batch through affine -> elementwise f -> affine, without K copies of the middle.

        Input column j moving by a[n] moves the first layer's output by d = a[n] W1[j, :], tiny;
        f(z + d) = f(z) + sum_p c_p d^p to rounding (c_p its Taylor coefficients, |d| small), so the
        second layer's output moves by sum_p a[n]^p T_p[j, n, :] with T_p = (W1^p) (c_p W2): tables
        computed once per layer, a few multiply-adds per example and output per copy."""
        first, act, second = self.layers[q:q + 3]
        a_in, z1, y1, z2 = self.acts[q:q + 4]
        a = batch.values - a_in[:, batch.cols].T  # (K, N)
        rows = self._rows(q)  # W1: (D, C1)
        reach = np.abs(a).max(axis=1) * np.abs(rows).max(axis=1)[batch.cols]
        top = float(reach.max()) if len(reach) else 0.0
        order = next((p for p in range(1, 5) if top ** p < 1e-17), None)
        if order is None or (self.kinked[q + 1] and top >= np.abs(z1).min()):
            return None
        tables = self._tables(q, order)
        if tables is None:
            return None
        picked = tables[batch.cols]  # (K, order, N, C2)
        a3 = a[:, :, None]
        out = picked[:, order - 1].copy()
        for p in range(order - 2, -1, -1):  # Horner in a
            out *= a3
            out += picked[:, p]
        out *= a3
        return _Delta(out)

    def _rows(self, q: int) -> np.ndarray:
        key = ("rows", q)
        if key not in self._cache:
            d = self.acts[q].shape[1]
            rows = self.layers[q].input_change(np.arange(d), np.ones(d))
            self._cache[key] = np.asarray(rows, dtype=np.float64)
        return self._cache[key]

    def _tables(self, q: int, order: int) -> np.ndarray | None:
        """T[j, p - 1, n, :] = sum_c W1[j, c]^p c_p[n, c] W2[c, :] for p = 1..order (D, order, N, C2),
        kept for the next chunks."""
        key = ("tables", q, order)
        if key in self._cache:
            return self._cache[key]
        first, act, second = self.layers[q:q + 3]
        z1, y1 = self.acts[q + 1], self.acts[q + 2]
        rows = self._rows(q)
        (d, c1), (n, c2) = rows.shape, self.acts[q + 3].shape
        if 8 * order * d * n * c2 > self.budget // 4:
            return None
        coeffs = act.taylor(z1, y1, order)
        if coeffs is None or len(coeffs) != order:
            return None
        w2 = np.asarray(second.input_change(np.arange(c1), np.ones(c1)), dtype=np.float64)  # (C1, C2)
        tables, power = [], np.ones_like(rows)
        for p in range(order):
            power *= rows
            mixed = np.asarray(coeffs[p], dtype=np.float64).T[:, :, None] * w2[:, None, :]  # (C1, N, C2)
            tables.append((power @ mixed.reshape(c1, n * c2)).reshape(d, n, c2))
        self._cache[key] = np.stack(tables, axis=1)
        return self._cache[key]

    def _in_pieces(self, batch: _Cols, q: int, crossed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``batch`` layer by layer from q, in pieces small enough for the budget's dense copies."""
        piece = max(1, min(self.budget, _FAST_CHUNK) // (8 * 4 * max(a.size for a in self.acts[q:])))
        costs = np.empty(len(batch.cols))
        for lo in range(0, len(batch.cols), piece):
            part = slice(lo, lo + piece)
            cut = _Cols(batch.cols[part], batch.values[part])
            costs[part], crossed[part] = self._continue_plain(cut, q, crossed[part].copy())
        return costs, crossed

    def _continue_plain(self, batch: Batch, q: int, crossed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        for r in range(q, len(self.layers)):
            if self.kinked[r]:
                crossed |= _crossed(batch, self.acts[r])
            batch = _forward(self.layers[r], batch, self.acts[r], self.acts[r + 1])
        return np.asarray(self.end.costs(batch, self.acts[-1]), dtype=np.float64), crossed


def _outer_ok(loss: Loss) -> bool:
    """The loss's row_changes_outer is Loss's generic one, or written for the forward in use."""
    return _owner(type(loss), "row_changes_outer") is Loss or _opted(loss, "row_changes_outer", Loss)


def _chain(layer: Layer) -> tuple[list[Layer], dict[str, tuple[int, str]]] | None:
    """The flattened layers and, per parameter name, (position, key); None unless every layer opts in."""
    leaves = _leaves(layer)
    if not all(_opted(leaf, "forward_rows", Layer) for _, leaf in leaves):
        return None
    params = {f"{prefix}{key}": (pos, key)
              for pos, (prefix, leaf) in enumerate(leaves) for key in leaf.params}
    arrays = [leaf.params[key] for _, leaf in leaves for key in leaf.params]
    if any(np.may_share_memory(a, b) for i, a in enumerate(arrays) for b in arrays[:i]):
        return None  # tied weights: moving one element moves it in two layers at once
    return [leaf for _, leaf in leaves], params


def _build(make: Callable[[], ElementCosts]) -> ElementCosts | None:
    try:
        return make()
    except (ValueError, TypeError, NotImplementedError, IndexError, FloatingPointError):
        # a layer or loss whose opt-in does not hold up: the per-element path checks it
        return None


def model_costs(model: Layer, loss: Loss, X: np.ndarray, y: np.ndarray, *,
                budget: int = DEFAULT_BUDGET) -> ElementCosts | None:
    """Batched costs of ``loss(model(X), y)`` for every parameter of ``model`` (names as in
    ``model.params``), or None when a layer or the loss does not support batching.

    X (N, ...) float64; the model's parameters are read at call time and never modified (a layer
    without ``perturbed_columns`` has its element moved and restored in place)."""
    found = _chain(model)
    if found is None or not _opted(loss, "row_losses", Loss):
        return None
    layers, params = found
    return _build(lambda: ElementCosts(layers, X, lambda z: _LossEnd(loss, z, y), None, params, budget))


def layer_costs(layer: Layer, x: np.ndarray, dout: np.ndarray, input_name: str = "x", *,
                budget: int = DEFAULT_BUDGET) -> ElementCosts | None:
    """Batched costs of ``sum(dout * layer(x))`` for the input (``input_name``) and every parameter
    of ``layer``, or None when it does not support batching. x (N, ...), dout the output's shape."""
    found = _chain(layer)
    if found is None:
        return None
    layers, params = found
    if input_name in params:
        return None
    dout = np.asarray(dout, dtype=np.float64)

    def end(out: np.ndarray) -> _DotEnd:
        if out.shape != dout.shape:
            raise ValueError("dout must have the output's shape")
        return _DotEnd(dout, out)

    return _build(lambda: ElementCosts(layers, x, end, input_name, params, budget))


def loss_costs(loss: Loss, logits: np.ndarray, target: np.ndarray, input_name: str = "logits", *,
               budget: int = DEFAULT_BUDGET) -> ElementCosts | None:
    """Batched costs of ``loss(logits, target)`` in the logits (``input_name``), or None."""
    if not _opted(loss, "row_losses", Loss):
        return None
    return _build(lambda: ElementCosts([], logits, lambda z: _LossEnd(loss, z, target), input_name, {},
                                       budget))
