"""Objects with a `forward` that are not nn.Modules, and the functions that make them."""
import functools

import torch.nn as nn


class BaseEstimator:
    pass


class Estimator(BaseEstimator):
    """Wraps a module, scikit-learn style: not a module itself."""

    def __init__(self, module, **kwargs):
        self.module = module

    def initialize(self):
        self.initialized = True
        return self

    def forward(self, X):
        return self.module(X)

    @classmethod
    def from_config(cls, config):
        return cls(**config)


class Net(nn.Module):
    """A module with a fluent method: what it returns is the module itself."""

    def initialize(self):
        return self

    def forward(self, x):
        return x


def make_net(**kwargs):
    return Estimator(nn.Linear, **kwargs)


def make_either(flag):
    if flag:
        return Estimator(nn.Linear)
    return Net()


def make_module():
    module = Net()
    return module


EstimatorFactory = functools.partial(Estimator, module=nn.Linear)
