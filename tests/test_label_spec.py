"""--label specs: names, blends, normalisation, and the one-line errors."""

import pytest
import torch

from artistry.errors import ConfigError
from artistry.label_spec import label_path, label_weights, parse_label_list, parse_label_spec

NAMES = ["Baroque", "Impressionism", "Ukiyo-e", "Art Nouveau_Modern", "other"]


def test_a_single_name_is_one_class_with_weight_one():
    assert parse_label_spec("Impressionism", NAMES) == {1: 1.0}
    assert parse_label_spec("  Ukiyo-e ", NAMES) == {2: 1.0}


def test_names_may_hold_dashes_underscores_and_spaces():
    assert parse_label_spec("0.5*Art Nouveau_Modern+0.5*Ukiyo-e", NAMES) == {3: 0.5, 2: 0.5}


def test_blend_weights_are_normalised_and_a_missing_weight_is_one():
    assert parse_label_spec("3*Baroque+Ukiyo-e", NAMES) == {0: 0.75, 2: 0.25}
    assert parse_label_spec("2 * Baroque + 2 * Impressionism", NAMES) == {0: 0.5, 1: 0.5}
    assert parse_label_spec("Baroque+Baroque+Impressionism", NAMES) == pytest.approx({0: 2 / 3, 1: 1 / 3})


def test_case_is_ignored_only_when_no_exact_name_matches():
    assert parse_label_spec("impressionism", NAMES) == {1: 1.0}
    assert parse_label_spec("a", ["A", "a"]) == {1: 1.0}


def test_unknown_label_lists_the_known_ones():
    with pytest.raises(ConfigError, match=r"--label: unknown label 'Cubism'; this run knows: Baroque, Impressionism"):
        parse_label_spec("0.5*Cubism+0.5*Baroque", NAMES)


@pytest.mark.parametrize(
    "spec, words",
    [
        ("", "give a label name"),
        ("Baroque+", "empty term"),
        ("x*Baroque", "'x' in 'x\\*Baroque' is not a number"),
        ("-1*Baroque", "positive"),
        ("0*Baroque", "positive"),
        ("nan*Baroque", "positive"),
        ("0.5*", "empty term"),
    ],
)
def test_malformed_specs_name_the_flag(spec, words):
    with pytest.raises(ConfigError, match=f"^--label: .*{words}"):
        parse_label_spec(spec, NAMES)


def test_an_unconditional_run_says_it_has_no_labels():
    with pytest.raises(ConfigError, match="without --conditional"):
        parse_label_spec("Baroque", [])


def test_label_weights_is_one_row_per_image():
    w = label_weights("0.25*Baroque+0.75*other", NAMES, 3)
    assert w.shape == (3, 5) and w.dtype == torch.float32
    assert torch.equal(w, torch.tensor([[0.25, 0, 0, 0, 0.75]] * 3))


def test_label_list_needs_two_items_and_checks_each():
    assert parse_label_list("Baroque,0.5*Ukiyo-e+0.5*other", NAMES) == [{0: 1.0}, {2: 0.5, 4: 0.5}]
    with pytest.raises(ConfigError, match="--labels: give at least two"):
        parse_label_list("Baroque", NAMES)
    with pytest.raises(ConfigError, match="--labels: unknown label 'Cubism'"):
        parse_label_list("Baroque,Cubism", NAMES)


def test_label_path_moves_linearly_from_key_to_key():
    keys = [{0: 1.0}, {1: 1.0}, {2: 1.0}]
    path = label_path(keys, 3, 5)  # positions 0, 0.5, 1, 1.5, 2
    expected = torch.tensor([[1, 0, 0], [0.5, 0.5, 0], [0, 1, 0], [0, 0.5, 0.5], [0, 0, 1]])
    assert torch.allclose(path, expected)
    two = label_path([{0: 1.0}, {1: 1.0}], 2, 4)
    assert torch.allclose(two[:, 1], torch.tensor([0, 1 / 3, 2 / 3, 1]))
    assert torch.allclose(two.sum(1), torch.ones(4))
