"""The seeds' prose for a recorded pass: the forward and backward pass written out, and
the chain rule for one weight with every factor's number (:class:`Chain`). Its functions
take an :class:`~glassnet.explain.Explanation` and read only its public attributes; they
compute nothing (every number comes from the record) and never import the record.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from .. import optimizers as _optimizers

__all__ = ["Chain", "walkthrough", "chain_rule", "DERIVATIVE_TEXT"]

#: Activations whose derivative is elementwise, with how f'(z) reads in terms of a = f(z).
#: The record takes f'(z) straight from these activations' backward (no Jacobian).
DERIVATIVE_TEXT = {
    "identity": "1",
    "relu": "1 if z > 0 else 0",
    "leaky_relu": "1 if z > 0 else 0.01",
    "sigmoid": "f(z) * (1 - f(z))",
    "tanh": "1 - f(z)^2",
    "exp": "f(z)",
    "selu": "1.0507 if z > 0 else f(z) + 1.7581",
    "silu": "s(z) (1 + z (1 - s(z))), s the sigmoid",
    "mish": "t + z s(z) (1 - t^2), t = tanh(softplus(z)), s the sigmoid",
}
# Units and samples shown one by one in the text; wider layers are shown as arrays.
_SCALAR_UNITS = 8
_SHOWN_SAMPLES = 5
_SHOWN_TERMS = 6
#: An array of more numbers than this is shown by its first and last few, with "...":
#: the seeds' networks show whole; a layer of hundreds of units would fill pages. The
#: Explanation's arrays keep every number.
SHOWN_NUMBERS = 100


def _g(value: float, digits: int = 4) -> str:
    """A number as the walkthrough prints it (4 significant digits, or more)."""
    text = f"{float(value):.{digits}g}"
    return "0" if text == "-0" else text


def _full(value: float) -> str:
    return _g(value, 10)


def _paren(value: float, digits: int = 4) -> str:
    text = _g(value, digits)
    return f"({text})" if text.startswith("-") else text


def _array(a: np.ndarray, prefix: str = "") -> str:
    """``prefix`` followed by the array, wrapped lines aligned under its first number."""
    text = np.array2string(
        np.asarray(a, dtype=np.float64),
        precision=6,
        suppress_small=True,
        max_line_width=96,
        prefix=prefix,
        threshold=SHOWN_NUMBERS,
        edgeitems=4,
    )
    return prefix + text


class Chain:
    """The chain rule for one parameter, sample by sample, with every factor's number.

    Attributes
    ----------
    parameter : str
        glassnet's name, ``"W1[0,0]"`` or ``"b2[0]"``.
    seed_name : str
        seed 003's name for it, ``"w1"`` or ``"b3"``.
    factors : list of list of (str, float)
        Per sample shown, the factors of the product, named as the text names them.
    terms : list of float
        Each sample's product (their sum is ``value``).
    value : float
        dL/d(parameter), the data term, equal to the engine's gradient.
    """

    def __init__(
        self,
        parameter: str,
        seed_name: str,
        lines: list[str],
        factors: list[list[tuple[str, float]]],
        terms: list[float],
        value: float,
    ) -> None:
        self.parameter = parameter
        self.seed_name = seed_name
        self.lines = lines
        self.factors = factors
        self.terms = terms
        self.value = value

    def __str__(self) -> str:
        return "\n".join(self.lines)

    def __repr__(self) -> str:
        return f"Chain(dL/d{self.seed_name} = {self.value!r})"


def _loss_formula(ex) -> tuple[str, str]:
    """How the loss and its gradient read, for the samples explained."""
    n, k = ex.y.shape
    weighted = ex.sample_weight is not None
    name = ex.loss_name
    nk = "" if n * k == 1 else f" / {n * k}" if not weighted else " * w_i / (sum(w) * k)"
    if name == "mse":
        value = "mean((y_true - y_pred)^2)"
        grad = "-2 * (y_true - y_pred)" + nk
    elif name == "sse":
        value = "sum((y_true - y_pred)^2)"
        grad = "-2 * (y_true - y_pred)" + (" * w_i" if weighted else "")
    elif name == "half_squared_error":
        value = "mean over samples of sum((y_true - y_pred)^2) / 2"
        grad = "(y_pred - y_true)" + ("" if n == 1 else f" / {n}")
    elif name == "mae":
        value = "mean(|y_true - y_pred|)"
        grad = "sign(y_pred - y_true)" + nk
    elif name == "huber":
        value = "mean(huber(y_pred - y_true))"
        grad = "clip(y_pred - y_true, -delta, delta)" + nk
    elif ex.fused:
        per = "" if n == 1 else f" / {n}"
        if weighted:
            per = " * w_i / sum(w)"
        value = {
            "bce": "mean(-y log(y_pred) - (1 - y) log(1 - y_pred))",
            "cross_entropy": "mean(-sum_k y_k log(y_pred_k))",
            "poisson": "mean(sum_k y log(y / y_pred) - y + y_pred)",
        }.get(name, name)
        grad = f"(y_pred - y_true){per}"
    else:
        value, grad = name, "from the loss's value_and_grad"
    return value, grad


def _with_numbers(ex, formula: str, s: int, j: int) -> str:
    """The loss gradient's formula with sample s's numbers: -2 * (1 - 0.576)."""
    values = {"y_true": ex.y[s, j], "y_pred": ex.y_pred[s, j]}
    if ex.sample_weight is not None:
        values["w_i"] = ex.sample_weight[s]
    text = formula
    for name, value in values.items():
        text = re.sub(rf"\b{name}\b", _paren(value), text)
    return f"{formula} = {text}" if text != formula else formula


def _code_name(derivative: str) -> str:
    """dL/dy_pred as seed 003's code names it: d_L_d_ypred."""
    top, bottom = derivative[1:].split("/d", 1)
    return f"d_{top}_d_{bottom}".replace("y_pred", "ypred")


def _shortened(terms: list[str]) -> list[str]:
    if len(terms) > _SHOWN_TERMS:
        return terms[: _SHOWN_TERMS - 1] + ["..."] + terms[-1:]
    return terms


def _affine(ex, step, s: int, j: int) -> str:
    """z_h1 = w1*x1 + w2*x2 + b1 = 0.1*(-2) + 0.2*(-1) + 0.3, as the seeds write it."""
    n_in = step.W.shape[0]
    names = [ex.seed_names[f"W{step.number}[{i},{j}]"] for i in range(n_in)]
    symbols = [f"{w}*{x}" for w, x in zip(names, step.input_names)]
    numbers = [f"{_paren(step.W[i, j])}*{_paren(step.x[s, i])}" for i in range(n_in)]
    if step.b is not None:
        symbols.append(ex.seed_names[f"b{step.number}[{j}]"])
        numbers.append(_paren(step.b[j]))
    return f"{' + '.join(_shortened(symbols))} = {' + '.join(_shortened(numbers))}"


def _input_line(ex, s: int) -> str:
    parts = []
    for i in range(ex.x.shape[1]):
        label = f" ({ex.input_names[i]})" if ex.input_names else ""
        parts.append(f"x{i + 1} = {_full(ex.x[s, i])}{label}")
    if len(parts) > 2 * _SHOWN_TERMS:
        parts = parts[:_SHOWN_TERMS] + ["..."] + parts[-2:]
    return ", ".join(parts)


def _other_forward(other, s: int) -> list[str]:
    """A Scale, Parametric or Embedding layer's part of the forward pass, with its numbers."""
    layer, head = other.layer, f"  net.layers[{other.index}] ({other.kind}): "
    if other.kind == "Scale":
        lines = [head + "a = x * s, one learned factor per input"]
        lines.append(_array(other.params["scale"], "    s = "))
    elif other.kind == "Parametric":
        f = layer.activation
        lines = [head + f"a = x + alpha * ({f}(x) - x), a learned blend per unit"]
        lines.append(_array(other.params["alpha"], "    alpha = "))
    elif other.kind == "Embedding":
        lines = [head + "each numeric column x becomes cos(2 pi w x + b) @ V + c, then x;"]
        lines.append("    each categorical column's level index picks a row of its table")
        p, x = other.params, other.x[s]
        for k, column in enumerate(layer.numeric):
            h = np.cos(2 * np.pi * x[column] * p["frequencies"][k] + p["phases"][k])
            lines.append(f"    x{column + 1} = {_full(x[column])}:")
            lines.append(_array(p["frequencies"][k], "      w = "))
            lines.append(_array(p["phases"][k], "      b = "))
            lines.append(_array(h, "      cos(2 pi w x + b) = "))
            lines.append(_array(h @ p["mix"][k] + p["mix_bias"][k], "      @ V + c = "))
        for j, (column, levels) in enumerate(layer.categorical):
            level = int(np.clip(x[column], 0, levels - 1))
            table = p[f"table_{j}"]
            lines.append(_array(table[level], f"    x{column + 1} = level {level} of {levels}: "))
    else:
        lines = [head + f"{sum(v.size for v in other.params.values())} parameters"]
    lines.append(_array(other.a[s], "    a = "))
    return lines


def _forward_lines(ex, s: int) -> list[str]:
    lines = [f"  input: {_input_line(ex, s)}"]
    others = list(getattr(ex, "others", None) or [])

    def others_before(index: int) -> list[str]:
        shown = []
        while others and others[0].index < index:
            shown += _other_forward(others.pop(0), s)
        return shown

    for step in ex.layers:
        lines += others_before(getattr(step, "index", 0))
        role = "output" if step.number == len(ex.layers) else "hidden"
        bias = f" + b{step.number}" if step.b is not None else ""
        lines.append(
            f"  layer {step.number} ({role}, {step.units} {step.activation}): "
            f"z = x @ W{step.number}{bias}, a = {step.activation}(z)"
        )
        if step.input_mask is not None:
            lines.append(_array(step.input_mask[s], "    dropout scaled its inputs by "))
        if step.units > _SCALAR_UNITS or step.W.shape[0] > 4 * _SCALAR_UNITS:
            lines.append(_array(step.z[s], "    z = "))
            lines.append(_array(step.a[s], "    a = "))
            continue
        for j, unit in enumerate(step.unit_names):
            z = _zname(unit)
            lines.append(f"    {z} = {_affine(ex, step, s, j)} = {_full(step.z[s, j])}")
            label = ""
            if step.number == len(ex.layers) and ex.output_names:
                label = f"  ({ex.output_names[j]})"
            lines.append(f"    {unit} = {step.activation}({z}) = {_full(step.a[s, j])}{label}")
    lines += others_before(10**9)
    return lines


def _zname(unit: str) -> str:
    """The pre-activation's name: z_h1, and z_o1 for the output y_pred (seed 003's sum_o1)."""
    return "z_o1" if unit == "y_pred" else f"z_{unit}"


def _backward_lines(ex, s: int) -> list[str]:
    lines = []
    _, grad_text = _loss_formula(ex)
    n = ex.x.shape[0]
    for step in reversed(ex.layers):
        output = step.number == len(ex.layers)
        lines.append(f"  layer {step.number} ({'output' if output else 'hidden'}):")
        if output and ex.fused:
            lines.append(
                f"    the {ex.loss_name} loss is fused with the {step.activation}, so it gives "
                f"dL/dz directly: dL/dz = {grad_text}"
            )
        if step.units > _SCALAR_UNITS or step.da_dz is None:
            if step.da is not None:
                what = f" = {grad_text}" if output else ""
                lines.append(_array(step.da[s], f"    dL/da{what} = "))
            if step.da_dz is not None:
                lines.append(_array(step.da_dz[s], "    da/dz = f'(z) = "))
            elif not (output and ex.fused):
                lines.append(
                    f"    da/dz: the {step.activation} mixes its units, so dL/dz is its "
                    "Jacobian times dL/da (the activation's backward)"
                )
            lines.append(_array(step.dz[s], "    dL/dz = "))
            continue
        derivative = DERIVATIVE_TEXT.get(step.activation, "f'(z)")
        upper = None if output else ex.layers[step.number]
        blend = None if output else _blend_after(ex, step.number)
        for j, unit in enumerate(step.unit_names):
            z = _zname(unit)
            if step.da is not None:
                if output:
                    lines.append(f"    dL/d{unit} = {grad_text} = {_full(step.da[s, j])}")
                else:
                    lines.append(f"    dL/d{unit} = {_upstream(ex, upper, s, j)}")
                    if blend is not None:
                        lines.append(f"      {_blend_factor(blend, unit, s, j)[0]}")
                lines.append(
                    f"    d{unit}/d{z} = f'({z}) = {derivative} = {_full(step.da_dz[s, j])}"
                )
                lines.append(f"    dL/d{z} = dL/d{unit} * d{unit}/d{z} = {_full(step.dz[s, j])}")
            else:
                lines.append(f"    dL/d{z} = {_full(step.dz[s, j])}")
            if n == 1 and step.W.shape[0] <= _SCALAR_UNITS:
                for i, source in enumerate(step.input_names):
                    name = f"W{step.number}[{i},{j}]"
                    lines.append(
                        f"    dL/d{ex.seed_names[name]} ({name}) = {source} * dL/d{z} = "
                        f"{_g(step.x[s, i])} * {_paren(step.dz[s, j])} = {_full(step.dW[i, j])}"
                    )
                if step.b is not None:
                    name = f"b{step.number}[{j}]"
                    lines.append(
                        f"    dL/d{ex.seed_names[name]} ({name}) = dL/d{z} = {_full(step.db[j])}"
                    )
    return lines


def _blend_after(ex, number: int):
    """The Parametric layer that blends Dense layer ``number``'s units before the next Dense
    layer reads them (the default recipe puts one after each hidden layer), or None."""
    low = ex.layers[number - 1].index
    high = ex.layers[number].index if number < len(ex.layers) else 10**9
    for other in getattr(ex, "others", None) or []:
        if other.kind == "Parametric" and low < other.index < high:
            return other
    return None


def _blend_factor(blend, unit: str, s: int, j: int) -> tuple[str, float]:
    """What the blend h' = h + alpha (f(h) - h) puts on dL/dh of ``unit``: the line that
    writes out dh'/dh = (1 - alpha) + alpha f'(h) with its numbers, and its value."""
    act = blend.layer.act
    x = np.array(blend.x[s : s + 1], copy=True)
    source = x if act.from_input else act.forward(x.copy())
    fprime = float(act.backward(source, np.ones_like(x))[0, j])
    alpha = float(blend.params["alpha"][j])
    value = (1.0 - alpha) + alpha * fprime
    line = (
        f"d{unit}'/d{unit} = (1 - alpha) + alpha * {blend.layer.activation}'({unit}) = "
        f"{_paren(1.0 - alpha)} + {_paren(alpha)} * {_g(fprime)} = {_g(value)} "
        f"(net.layers[{blend.index}], the blend {unit}' = {unit} + alpha * "
        f"({blend.layer.activation}({unit}) - {unit}))"
    )
    return line, value


def _upstream(ex, upper, s: int, j: int) -> str:
    """dL/dh_j = sum_k dL/dz_k * W[j, k] (times the dropout mask), with the numbers."""
    number = upper.number
    symbol_terms, number_terms = [], []
    for k, unit in enumerate(upper.unit_names):
        w = ex.seed_names[f"W{number}[{j},{k}]"]
        symbol_terms.append(f"dL/d{_zname(unit)} * {w}")
        number_terms.append(f"{_paren(upper.dz[s, k])} * {_paren(upper.W[j, k])}")
    symbols = " + ".join(_shortened(symbol_terms))
    numbers = " + ".join(_shortened(number_terms))
    text = f"{symbols} = {numbers}"
    if upper.input_mask is not None:
        m = _g(upper.input_mask[s, j])
        text = f"({symbols}) * {m} = ({numbers}) * {m} (dropout)"
    lower = ex.layers[number - 2]
    blend = _blend_after(ex, lower.number)
    if blend is not None:  # the sum is dL/dh' (of the blend's output): times dh'/dh
        unit = lower.unit_names[j]
        _, slope = _blend_factor(blend, unit, s, j)
        mask = "" if upper.input_mask is None else f" * {_g(upper.input_mask[s, j])}"
        text = f"({symbols}){mask} * d{unit}'/d{unit} = ({numbers}){mask} * {_g(slope)}" + (
            " (dropout, then the blend)" if mask else " (the blend)"
        )
    return f"{text} = {_full(lower.da[s, j])}"


def _gradient_lines(ex) -> list[str]:
    n = ex.x.shape[0]
    summed = "" if n == 1 else f" (summed over the {n} samples)"
    lines = [f"Gradients{summed}: dL/dW = x.T @ dL/dz, dL/db = sum of dL/dz"]
    for step in ex.layers:
        lines += _parameter_lines(step, step.gradient_W, step.db, "dL/dW{}", "dL/db{}")
    for other in getattr(ex, "others", None) or []:
        for name, grad in other.gradients.items():
            lines.append(_array(grad, f"  net.layers[{other.index}] ({other.kind}) dL/d{name} = "))
    if ex.l2:
        lines.append(f"  (dL/dW includes the L2 penalty's l2 * W / n, l2 = {ex.l2:g})")
    return lines


def _update_lines(ex) -> list[str]:
    if ex.updates is None:
        return []
    opt = ex.optimizer_object
    plain_sgd = isinstance(opt, _optimizers.SGD) and not opt.momentum
    rule = f"w <- w - {opt.lr:g} * dL/dw" if plain_sgd else "w <- w + (the optimizer's step)"
    lines = [f"The update {ex.optimizer} would make ({rule}; nothing is applied):"]
    for step in ex.layers:
        lines += _parameter_lines(step, step.update_W, step.update_b, "W{} update", "b{} update")
    for other in getattr(ex, "others", None) or []:
        for name, update in other.updates.items():
            where = f"net.layers[{other.index}] ({other.kind})"
            lines.append(_array(update, f"  {where} {name} update = "))
    return lines


def _parameter_lines(step, W, b, w_label: str, b_label: str) -> list[str]:
    """A layer's matrix (one row per input) and vector of gradients or updates."""
    lines = [f"  {w_label.format(step.number)} ="]
    lines += ["    " + row for row in _array(W).splitlines()]
    if b is not None:
        lines.append(_array(b, f"  {b_label.format(step.number)} = "))
    return lines


def walkthrough(ex: Any, which: Any) -> str:
    """The whole walkthrough of ``ex`` (an Explanation), as seed 003 writes it.

    The forward pass, the loss, the backward pass layer by layer, the gradients, the
    update (with an optimizer), and last the chain rule for ``which``, such as
    ``dL/dw1 = dL/dy_pred * dy_pred/dh1 * dh1/dw1`` with every factor's number. Units
    and parameters carry the seed's names (``x1``, ``h1``, ``y_pred``; ``w1`` ... ``w6``,
    ``b1`` ... ``b3``, counted unit by unit) beside glassnet's (``W1[0,0]``, ``b2[0]``).
    """
    n = ex.x.shape[0]
    what = "one sample" if n == 1 else f"a batch of {n} samples"
    loss = f", loss {ex.loss_name}" if ex.loss_name else ""
    lines = [f"Explanation of {what}: a {ex.architecture} network{loss}"]
    if ex.has_dropout:
        lines.append("(dropout as in training: the masks are drawn from a copy of the generator)")
    # what the text prints whole: weights, one sample's units, and the other layers' params
    arrays = [a for step in ex.layers for a in (step.W, step.a[0])]
    arrays += [a for step in ex.others for a in (step.a[0], *step.params.values())]
    if any(a.size > SHOWN_NUMBERS for a in arrays):
        lines.append(
            f"(arrays of more than {SHOWN_NUMBERS} numbers are shortened to their first and "
            "last four, with ...; the Explanation's arrays hold every number)"
        )
    shown = range(min(n, _SHOWN_SAMPLES))
    for s in shown:
        lines.append("")
        lines.append("Forward pass" + ("" if n == 1 else f", sample {s + 1}"))
        lines += _forward_lines(ex, s)
        if ex.y is not None:
            lines.append(f"  y_true = {', '.join(_full(v) for v in ex.y[s])}")
    if n > len(shown):
        lines.append(f"(samples {len(shown) + 1} to {n} are in to_dict() and to_frame())")
    lines.append("")
    if ex.y is None:
        lines.append("No target was given, so this is the forward pass alone: the loss and")
        lines.append("the backward pass need y.")
        return "\n".join(lines)
    value_text, _ = _loss_formula(ex)
    lines.append(f"Loss: {ex.loss_name} = {value_text} = {_full(ex.data_loss)}")
    if ex.l2:
        lines.append(f"  with the L2 penalty: {_full(ex.loss)}")
    for s in shown:
        lines.append("")
        lines.append("Backward pass" + ("" if n == 1 else f", sample {s + 1}"))
        lines += _backward_lines(ex, s)
    lines.append("")
    lines += _gradient_lines(ex)
    updates = _update_lines(ex)
    if updates:
        lines.append("")
        lines += updates
    lines.append("")
    lines.append(str(ex.chain(which)))
    return "\n".join(lines)


def chain_rule(ex: Any, number: int, kind: str, i: int, j: int) -> Chain:
    """dL/dw for W{number}[i,j] (or b{number}[j]) of ``ex`` (an Explanation) as seed 003
    writes it, sample by sample; ``kind`` is ``"W"`` or ``"b"``, the indices checked."""
    name = ex.parameter_name(number, kind, i, j)
    seed = ex.seed_names[name]
    step = ex.layers[number - 1]
    L = len(ex.layers)
    unit = step.unit_names[j]
    source = step.input_names[i] if kind == "W" else None
    n = ex.x.shape[0]
    if kind == "W":
        where = f"from {source} to {unit}"
        if number == 1 and ex.input_names and len(ex.input_names) == len(step.input_names):
            # (the columns' names, when the first Dense layer takes the columns themselves)
            where = f"from {source} ({ex.input_names[i]}) to {unit}"
    else:
        where = f"the bias of {unit}"
    lines = [f"The chain rule for {seed} ({name}: {where})"]
    elementwise = step.da_dz is not None and not (number == L and ex.fused)
    output = number == L
    out_step = ex.layers[-1]
    single_out = out_step.units == 1
    last_hidden = number == L - 1 and single_out
    out_elementwise = out_step.da_dz is not None and not ex.fused
    z_unit = _zname(unit)
    dinput = (f"d{unit}/d{seed}", f"{source} * f'({z_unit})" if kind == "W" else f"f'({z_unit})")
    if output and elementwise:
        product = [f"dL/d{unit}", f"d{unit}/d{seed}"]
    elif output:
        product = [f"dL/d{z_unit}", f"d{z_unit}/d{seed}"]
    elif last_hidden and elementwise:
        top = out_step.unit_names[0]
        if out_elementwise:
            product = [f"dL/d{top}", f"d{top}/d{unit}", dinput[0]]
        else:
            product = [f"dL/d{_zname(top)}", f"d{_zname(top)}/d{unit}", dinput[0]]
    elif elementwise:
        product = [f"dL/d{unit}", dinput[0]]
    else:
        product = [f"dL/d{z_unit}", f"d{z_unit}/d{seed}"]
    lines.append(f"  dL/d{seed} = {' * '.join(product)}")
    lines.append(
        f"  (in seed 003's code: {_code_name(f'dL/d{seed}')} = "
        f"{' * '.join(_code_name(p) for p in product)})"
    )
    _, grad_text = _loss_formula(ex)
    derivative = DERIVATIVE_TEXT.get(step.activation, "f'(z)")
    all_factors, terms = [], []
    for s in range(n):
        if n > 1 and s == _SHOWN_SAMPLES:
            lines.append(f"  ... samples {s + 1} to {n} likewise")
        show = s < _SHOWN_SAMPLES
        out: list[str] = []

        def say(text, _show=show, _out=out):
            if _show:
                _out.append("  " + text)

        if n > 1:
            say(f"sample {s + 1}:")
        x_in = float(step.x[s, i]) if kind == "W" else 1.0

        def local(_s=s, _x=x_in, _say=say):
            """d(unit)/d(parameter) = input * f'(z): seed 003's d_h1_d_w1."""
            fprime = float(step.da_dz[_s, j])
            rhs = f" = {_paren(_x)} * {_g(fprime)}" if kind == "W" else ""
            _say(f"  {dinput[0]} = {dinput[1]}{rhs} = {_g(_x * fprime)}")
            _say(f"      (f'({z_unit}) = {derivative} = {_g(fprime)})")
            return dinput[0], _x * fprime

        z = float(step.z[s, j])
        a = float(step.a[s, j])
        say(f"where {z_unit} = {_g(z)}, {unit} = {step.activation}({z_unit}) = {_g(a)}")
        factors = []
        if output:
            if elementwise:
                d_out = float(step.da[s, j])
                say(f"  dL/d{unit} = {_with_numbers(ex, grad_text, s, j)} = {_g(d_out)}")
                factors = [(f"dL/d{unit}", d_out), local()]
            else:
                dz = float(step.dz[s, j])
                if ex.fused:
                    how = _with_numbers(ex, grad_text, s, j)
                else:
                    how = "dL/da through the activation's backward"
                say(f"  dL/d{z_unit} = {how} = {_g(dz)}")
                say(f"  d{z_unit}/d{seed} = {source if kind == 'W' else '1'} = {_g(x_in)}")
                factors = [(f"dL/d{z_unit}", dz), (f"d{z_unit}/d{seed}", x_in)]
        elif last_hidden and elementwise:
            top = out_step.unit_names[0]
            w_up = float(out_step.W[j, 0])
            w_name = ex.seed_names[f"W{L}[{j},0]"]
            m = 1.0 if out_step.input_mask is None else float(out_step.input_mask[s, j])
            drop = "" if out_step.input_mask is None else f" * {_g(m)} (dropout)"
            y_pred = float(out_step.a[s, 0])
            say(
                f"      {_zname(top)} = {_g(float(out_step.z[s, 0]))}, "
                f"{top} = {out_step.activation}({_zname(top)}) = {_g(y_pred)}"
            )
            blend = _blend_after(ex, number)
            k, through = 1.0, ""
            if blend is not None:  # the output layer reads the blend of this layer's units
                line, k = _blend_factor(blend, unit, s, j)
                say(f"      {line}")
                through = f" * d{unit}'/d{unit}"
            if out_elementwise:
                d_top = float(out_step.da[s, 0])
                f_top = float(out_step.da_dz[s, 0])
                say(f"  dL/d{top} = {_with_numbers(ex, grad_text, s, 0)} = {_g(d_top)}")
                up = w_up * f_top * m * k
                say(
                    f"  d{top}/d{unit} = {w_name} * f'({_zname(top)}){drop}{through} = "
                    f"{_paren(w_up)} * {_g(f_top)}{drop and f' * {_g(m)}'}"
                    f"{through and f' * {_g(k)}'} = {_g(up)}"
                )
                factors = [(f"dL/d{top}", d_top), (f"d{top}/d{unit}", up)]
            else:
                d_top = float(out_step.dz[s, 0])
                say(f"  dL/d{_zname(top)} = {_with_numbers(ex, grad_text, s, 0)} = {_g(d_top)}")
                up = w_up * m * k
                say(
                    f"  d{_zname(top)}/d{unit} = {w_name}{drop}{through}"
                    f"{through and f' = {_paren(w_up)}' + (f' * {_g(m)}' if drop else '')}"
                    f"{through and f' * {_g(k)}'} = {_g(up)}"
                )
                factors = [(f"dL/d{_zname(top)}", d_top), (f"d{_zname(top)}/d{unit}", up)]
            factors.append(local())
        elif elementwise:
            upper = ex.layers[number]
            d_unit = float(step.da[s, j])
            m = 1.0 if upper.input_mask is None else float(upper.input_mask[s, j])
            terms_up = [
                f"dL/dz_{u} * {ex.seed_names[f'W{number + 1}[{j},{k}]']}"
                for k, u in enumerate(upper.unit_names)
            ]
            terms_up = _shortened(terms_up)
            drop = "" if upper.input_mask is None else f", times {_g(m)} (dropout)"
            blend = _blend_after(ex, number)
            if blend is None:
                say(f"  dL/d{unit} = {' + '.join(terms_up)}{drop} = {_g(d_unit)}")
            else:  # layer number + 1 reads the blend h' of this layer's units
                line, k = _blend_factor(blend, unit, s, j)
                summed = float(np.dot(upper.dz[s], upper.W[j])) * m
                say(f"  dL/d{unit}' = {' + '.join(terms_up)}{drop} = {_g(summed)}")
                say(f"      {line}")
                say(
                    f"  dL/d{unit} = dL/d{unit}' * d{unit}'/d{unit} = {_paren(summed)} * "
                    f"{_g(k)} = {_g(d_unit)}"
                )
            say(_array(upper.dz[s], f"        (dL/dz of layer {number + 1}: ")[2:] + ")")
            factors = [(f"dL/d{unit}", d_unit), local()]
        else:
            dz = float(step.dz[s, j])
            say(f"  dL/d{z_unit} = {_g(dz)} (the {step.activation}'s backward of dL/da)")
            say(f"  d{z_unit}/d{seed} = {source if kind == 'W' else '1'} = {_g(x_in)}")
            factors = [(f"dL/d{z_unit}", dz), (f"d{z_unit}/d{seed}", x_in)]
        term = float(np.prod([v for _, v in factors]))
        numbers = " * ".join(_paren(v) for _, v in factors)
        say(f"  dL/d{seed} = {numbers} = {_g(term)}")
        lines += out
        all_factors.append(factors)
        terms.append(term)
    value = float(np.sum(terms))
    engine = float(step.dW[i, j] if kind == "W" else step.db[j])
    if n > 1:
        lines.append(f"  dL/d{seed} = the sum over the samples = {_g(value)}")
    lines.append(f"  dL/d{seed} = {_full(engine)} (the engine's d{name})")
    if step.penalty_W is not None and kind == "W":
        total = float(step.gradient_W[i, j])
        lines.append(f"  with the L2 penalty: dL/d{seed} = {_full(total)}")
    if step.update_W is not None:
        update = float(step.update_W[i, j] if kind == "W" else step.update_b[j])
        current = float(step.W[i, j] if kind == "W" else step.b[j])
        lines.append(
            f"  {ex.optimizer} would move {seed} by {_g(update)}: "
            f"{seed} <- {_g(current)} + {_paren(update)} = {_g(current + update)}"
        )
    return Chain(name, seed, lines, all_factors, terms, engine)
