import torch.nn as nn

from .mixins import ForwardMixin as Mixin


class Model(Mixin, nn.Module):
    def forward(self, x):
        return x


class Head(nn.Module):
    def forward(self, x):
        return x
