import pytest
import torch

from artistry.data.augment import POLICIES, DiffAugment
from artistry.errors import ConfigError


@pytest.mark.parametrize("policy", ["color", "translation", "cutout", "color,translation,cutout"])
def test_augment_keeps_shape_and_is_differentiable(policy):
    x = (torch.rand(6, 3, 16, 16) * 2 - 1).requires_grad_()
    y = DiffAugment(policy)(x)
    assert y.shape == x.shape
    y.square().sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    if policy in ("translation", "cutout"):  # moves or zeroes pixels, never new values
        assert y.min() >= x.min() - 1e-6 and y.max() <= x.max() + 1e-6


def test_probability_zero_is_identity():
    x = torch.rand(4, 3, 8, 8)
    assert torch.equal(DiffAugment("color,translation,cutout", p=0.0)(x), x)
    assert torch.equal(DiffAugment("", p=1.0)(x), x)


def test_cutout_zeroes_a_quarter_or_less():
    torch.manual_seed(0)
    y = DiffAugment("cutout")(torch.ones(64, 1, 16, 16))
    zero_share = (y == 0).float().mean(dim=(1, 2, 3))
    assert zero_share.max() <= 0.25 + 1e-6 and zero_share.mean() > 0.1


def test_translation_shifts_content():
    torch.manual_seed(1)
    x = torch.zeros(32, 1, 16, 16)
    x[:, :, 8, 8] = 1.0
    y = DiffAugment("translation")(x)
    moved = [(yy[0] == 1).nonzero()[0].tolist() != [8, 8] for yy in y if (yy == 1).any()]
    assert any(moved) and all(
        abs(r - 8) <= 2 and abs(c - 8) <= 2
        for r, c in [(yy[0] == 1).nonzero()[0].tolist() for yy in y if (yy == 1).any()]
    )


def test_unknown_policy_names_the_flag():
    with pytest.raises(ConfigError, match="--augment"):
        DiffAugment("color,warp")
    assert set(POLICIES) == {"color", "translation", "cutout"}
