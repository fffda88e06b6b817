import pytest
import torch.nn as nn

from lab.estimators import Estimator, Net


@pytest.fixture
def net_cls():
    return Estimator


@pytest.fixture
def module_cls():
    return nn.Linear


@pytest.fixture
def net(net_cls, module_cls):
    # A fixture taking fixtures: an `Estimator`.
    return net_cls(module_cls)


@pytest.fixture
def model():
    # A fixture that yields a module.
    model = Net()
    yield model


@pytest.fixture(params=[Estimator, Net])
def any_net(request):
    return request.param()
