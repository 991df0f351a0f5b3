import pytest
import torch

from artistry.build import build_model
from artistry.config import Config, resolve
from artistry.errors import ConfigError


@pytest.mark.parametrize("family", ["dcgan", "mlp"])
@pytest.mark.parametrize("size", [32, 64, 128, 256])
@pytest.mark.parametrize("channels", [1, 3])
def test_generator_and_discriminator_shapes(family, size, channels):
    cfg = Config()
    cfg.data.path, cfg.data.size, cfg.data.channels = "x", size, channels
    cfg.model.model, cfg.model.ngf, cfg.model.ndf, cfg.model.nz = family, 4, 4, 8
    cfg.train.steps = 1
    model, _ = build_model(resolve(cfg), torch.device("cpu"))
    z = torch.randn(2, 8)
    x = model.generate(z)
    assert x.shape == (2, channels, size, size)
    assert x.min() >= -1 and x.max() <= 1  # tanh output
    assert model.discriminate(x).shape == (2,)


def test_dcgan_follows_radford_at_64px():
    cfg = Config()
    cfg.data.path, cfg.train.steps = "x", 1
    model, _ = build_model(resolve(cfg), torch.device("cpu"))
    convs = [m for m in model.G.modules() if isinstance(m, torch.nn.ConvTranspose2d)]
    assert [c.out_channels for c in convs] == [512, 256, 128, 64, 3]  # nz=100 -> 512x4x4 -> ... -> 3x64x64
    assert convs[0].in_channels == 100
    d_convs = [m for m in model.D.modules() if isinstance(m, torch.nn.Conv2d)]
    assert [c.out_channels for c in d_convs] == [64, 128, 256, 512, 1]
    assert any(isinstance(m, torch.nn.BatchNorm2d) for m in model.D.modules())
    # N(0, 0.02) init on conv weights
    std = torch.cat([c.weight.flatten() for c in convs]).std().item()
    assert 0.015 < std < 0.025


def test_one_more_block_per_doubling():
    def n_convt(size):
        cfg = Config()
        cfg.data.path, cfg.data.size, cfg.train.steps = "x", size, 1
        model, _ = build_model(resolve(cfg), torch.device("cpu"))
        return sum(isinstance(m, torch.nn.ConvTranspose2d) for m in model.G.modules())

    assert [n_convt(s) for s in (32, 64, 128)] == [4, 5, 6]


@pytest.mark.parametrize("size", [32, 64, 128])
def test_resize_upsampling_replaces_every_strided_transpose(size):
    cfg = Config()
    cfg.data.path, cfg.data.size, cfg.train.steps = "x", size, 1
    cfg.model.ngf = cfg.model.ndf = 8
    cfg.model.upsample = "resize"
    model, _ = build_model(resolve(cfg), torch.device("cpu"))
    transposed = [m for m in model.G.modules() if isinstance(m, torch.nn.ConvTranspose2d)]
    assert len(transposed) == 1 and transposed[0].stride == (1, 1)  # only the 1x1 -> 4x4 projection
    ups = [m for m in model.G.modules() if isinstance(m, torch.nn.Upsample)]
    convs = [m for m in model.G.modules() if isinstance(m, torch.nn.Conv2d)]
    assert len(ups) == len(convs) == {32: 3, 64: 4, 128: 5}[size]
    assert all(c.kernel_size == (3, 3) for c in convs)
    x = model.generate(torch.randn(2, cfg.model.nz))
    assert x.shape == (2, 3, size, size) and x.abs().max() <= 1


def test_unknown_upsample_names_the_flag():
    cfg = Config()
    cfg.data.path, cfg.train.steps, cfg.model.upsample = "x", 1, "pixelshuffle"
    with pytest.raises(ConfigError, match="--upsample"):
        resolve(cfg)


@pytest.mark.parametrize("family", ["dcgan", "mlp"])
def test_pack_and_minibatch_std_change_the_critic_input(family):
    """Pack folds pairs into one critic input; minibatch-std must make a logit depend on the other
    packs in its group (a layer built but never called would leave each logit independent)."""

    def critic(mbstd: bool):
        cfg = Config()
        cfg.data.path, cfg.data.size, cfg.train.steps = "x", 32, 1
        cfg.model.model, cfg.model.ngf, cfg.model.ndf, cfg.model.d_norm = family, 4, 4, "none"
        cfg.loss.pack, cfg.model.mbstd, cfg.train.batch = 2, mbstd, 8
        torch.manual_seed(0)
        return build_model(resolve(cfg), torch.device("cpu"))[0]

    x = torch.randn(8, 3, 32, 32)
    other = x.clone()
    other[2:] = torch.randn(6, 3, 32, 32)  # the first pack (images 0 and 1) unchanged
    with_std, without = critic(True), critic(False)
    assert with_std.discriminate(x).shape == (4,)  # one logit per pack of 2
    assert not torch.allclose(with_std.discriminate(x)[0], with_std.discriminate(other)[0])
    assert torch.allclose(without.discriminate(x)[0], without.discriminate(other)[0])
    if family == "dcgan":
        assert with_std.D.features[0].in_channels == 6


def test_minibatch_std_values_and_consecutive_groups():
    """Groups are runs of G consecutive samples (so a rank's groups are one process's groups under
    many processes); each sample gets its group's std, averaged over channels and pixels, as one
    extra channel."""
    from artistry.models.layers import MinibatchStd

    x = torch.zeros(4, 2, 1, 2)
    x[:, 0, 0, 0] = torch.tensor([0.0, 2.0, 10.0, 10.0])  # groups {0, 1} and {2, 3}
    x[:, 1, 0, 1] = torch.tensor([0.0, 0.0, 0.0, 4.0])
    out = MinibatchStd(group=2)(x)
    assert out.shape == (4, 3, 1, 2) and torch.equal(out[:, :2], x)
    eps = 1e-4  # sqrt of the 1e-8 under the root
    g0 = (1.0 + 3 * eps) / 4  # stds: ch0 px0 = 1 (0 vs 2), the three other entries are 0
    g1 = (2.0 + 3 * eps) / 4  # ch1 px1 = 2 (0 vs 4)
    expected = torch.tensor([g0, g0, g1, g1])
    torch.testing.assert_close(out[:, 2, 0, 0], expected)
    torch.testing.assert_close(out[:, 2, 0, 1], expected)  # the same value over the whole map


def test_minibatch_std_shrinks_the_group_to_divide_the_batch_and_sees_collapse():
    from artistry.models.layers import MinibatchStd

    torch.manual_seed(0)
    x = torch.randn(6, 3, 4, 4)  # group 4 does not divide 6: groups of 3, {0, 1, 2} and {3, 4, 5}
    stat = MinibatchStd(group=4)(x)[:, 3, 0, 0]
    for j in range(2):
        std = x[3 * j : 3 * j + 3].var(dim=0, unbiased=False).add(1e-8).sqrt().mean()
        torch.testing.assert_close(stat[3 * j : 3 * j + 3], std.expand(3))
    collapsed = MinibatchStd(group=4)(torch.randn(1, 3, 4, 4).expand(8, 3, 4, 4))[:, 3]
    assert collapsed.max() < 1e-3 < stat.min()  # identical samples: the std channel goes to ~0


def test_minibatch_discrimination_counts_near_copies_in_the_batch():
    from artistry.models.layers import MinibatchDiscrimination

    torch.manual_seed(0)
    layer = MinibatchDiscrimination(16, kernels=3)
    unique = torch.randn(4, 16) * 10  # far apart: densities ~0
    copies = torch.randn(1, 16).expand(4, 16)  # four identical samples
    assert layer(unique).shape == (4, 3)
    assert torch.allclose(layer(copies), torch.full((4, 3), 3.0))  # each sees the 3 others
    assert layer(unique).max() < 0.1
    mixed = layer(torch.cat([unique[:2], copies[:2]]))
    assert (mixed[2:] > 0.99).all() and (mixed[:2] < 0.1).all()  # only the pair scores


@pytest.mark.parametrize("family", ["dcgan", "mlp"])
def test_minibatch_discrimination_makes_each_logit_depend_on_the_batch(family):
    cfg = Config()
    cfg.data.path, cfg.data.size, cfg.train.steps = "x", 32, 1
    cfg.model.model, cfg.model.ngf, cfg.model.ndf = family, 4, 4
    cfg.model.d_norm, cfg.loss.pack, cfg.model.mbdisc = "none", 2, 5
    model, _ = build_model(resolve(cfg), torch.device("cpu"))
    x = torch.randn(8, 3, 32, 32)
    same_start = torch.cat([x[:2], torch.randn(6, 3, 32, 32)])
    out = model.discriminate(x)
    assert out.shape == (4,)
    assert not torch.allclose(out[0], model.discriminate(same_start)[0])  # other samples moved it
    out.sum().backward()
    assert model.D.mbdisc.T.weight.grad.abs().sum() > 0


def test_minibatch_discrimination_flag_is_checked():
    cfg = Config()
    cfg.data.path, cfg.train.steps, cfg.model.mbdisc = "x", 1, -1
    with pytest.raises(ConfigError, match="--mbdisc"):
        resolve(cfg)
