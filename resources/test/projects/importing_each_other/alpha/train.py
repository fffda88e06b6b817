from alpha_nets.blocks import Block
from beta_tools.helpers import Plain, Wide


def step(x):
    Plain().forward(x)
    # A subclass of alpha's `Block` in beta.
    Wide().forward(x)
    return Block().forward(x)
