import torch.nn as nn

from beta_tools.helpers import Plain


class Block(nn.Module):
    def forward(self, x):
        return x


def run(block: Block, plain: Plain, x):
    # `Plain` is beta's, not a module: not reported.
    plain.forward(x)
    return block.forward(x)
