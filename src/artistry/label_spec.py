"""`--label` specs: one label name, or a weighted blend of labels, for conditional runs.

    Impressionism                        -> {index of Impressionism: 1.0}
    0.5*Impressionism+0.5*Ukiyo-e        -> a blend of the two class embeddings
    Impressionism+Ukiyo-e                -> the same blend (a missing weight is 1)
    3*Baroque+Ukiyo-e                    -> 0.75 / 0.25 (weights are normalised to sum 1)

Terms are split on '+' and a weight is the number before the first '*', so label names may
hold '-', '_', spaces and dots; a name is matched exactly first, then ignoring case.
"""

from __future__ import annotations

import math

import torch

from .errors import ConfigError

FLAG = "--label"


def parse_label_spec(spec: str, label_names: list[str], flag: str = FLAG) -> dict[int, float]:
    """A label spec -> {class index: weight}, weights > 0 and summing to 1.

    Args:
        spec: "Name" or "w1*Name1+w2*Name2+...".
        label_names: the run's labels, in class-index order.
        flag: the flag named in error messages.

    Raises:
        ConfigError: an empty or malformed spec, a weight that is not a positive number, or an
            unknown label (the message lists the known ones).
    """
    if not label_names:
        raise ConfigError(f"{flag}: this run has no labels (it was trained without --conditional)")
    text = spec.strip()
    if not text:
        raise ConfigError(f"{flag}: give a label name or a blend such as '0.5*A+0.5*B'")
    weights: dict[int, float] = {}
    for term in text.split("+"):
        weight, name = _split_term(term, spec, flag)
        index = _find_label(name, label_names, flag)
        weights[index] = weights.get(index, 0.0) + weight
    total = sum(weights.values())
    return {i: w / total for i, w in weights.items()}


def _split_term(term: str, spec: str, flag: str) -> tuple[float, str]:
    """'0.5*Ukiyo-e' -> (0.5, 'Ukiyo-e'); 'Ukiyo-e' -> (1.0, 'Ukiyo-e')."""
    term = term.strip()
    head, star, rest = term.partition("*")
    weight, name = 1.0, term
    if star:
        try:
            weight = float(head)
        except ValueError:
            raise ConfigError(f"{flag}: '{head.strip()}' in '{spec}' is not a number (write WEIGHT*LABEL)") from None
        name = rest.strip()
        if not math.isfinite(weight) or weight <= 0:
            raise ConfigError(f"{flag}: weights must be positive numbers, got '{head.strip()}' in '{spec}'")
    if not name:
        raise ConfigError(f"{flag}: '{spec}' has an empty term; write 'A', or a blend such as '0.5*A+0.5*B'")
    return weight, name


def _find_label(name: str, label_names: list[str], flag: str) -> int:
    if name in label_names:
        return label_names.index(name)
    folded = [i for i, known in enumerate(label_names) if known.casefold() == name.casefold()]
    if len(folded) == 1:
        return folded[0]
    raise ConfigError(f"{flag}: unknown label '{name}'; this run knows: {', '.join(label_names)}")


def weights_tensor(weights: dict[int, float], num_classes: int, n: int) -> torch.Tensor:
    """{class index: weight} -> float [n, num_classes], every row the same blend."""
    row = torch.zeros(num_classes)
    for i, w in weights.items():
        row[i] = w
    return row.expand(n, num_classes).clone()


def label_weights(spec: str, label_names: list[str], n: int, flag: str = FLAG) -> torch.Tensor:
    """A label spec -> class weights float [n, K] for `G(z, y)` (what `LoadedRun.label_weights` returns)."""
    return weights_tensor(parse_label_spec(spec, label_names, flag), len(label_names), n)


def parse_label_list(text: str, label_names: list[str], flag: str = "--labels") -> list[dict[int, float]]:
    """'A,B,C' (each item a label spec) -> the key points of an interpolation, at least two."""
    items = [item for item in text.split(",") if item.strip()]
    if len(items) < 2:
        raise ConfigError(f"{flag}: give at least two labels separated by commas, e.g. 'Baroque,Impressionism'")
    return [parse_label_spec(item, label_names, flag) for item in items]


def label_path(keys: list[dict[int, float]], num_classes: int, frames: int) -> torch.Tensor:
    """Class weights moving linearly through the key blends, first to last: float [frames, K].

    The first frame is exactly keys[0] and the last exactly keys[-1]; each of the len(keys) - 1
    legs gets an equal share of the frames.
    """
    if len(keys) < 2 or frames < 2:
        raise ValueError("label_path needs at least two keys and two frames")
    points = torch.stack([weights_tensor(k, num_classes, 1)[0] for k in keys])  # [M, K]
    position = torch.linspace(0, len(keys) - 1, frames, dtype=torch.float64)  # [F]
    leg = position.floor().long().clamp(max=len(keys) - 2)  # [F]
    t = (position - leg).float()[:, None]  # [F, 1] in [0, 1]
    return (1 - t) * points[leg] + t * points[leg + 1]
