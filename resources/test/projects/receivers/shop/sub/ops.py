import torch

# Relative imports two levels up.
from ..models import Encoder
from .. import helpers


class Square(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        return x * x


def encoder() -> Encoder:
    return Encoder(helpers.Helper())
