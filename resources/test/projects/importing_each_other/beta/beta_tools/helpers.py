from alpha_nets.blocks import Block


class Plain:
    def forward(self, x):
        return x


class Wide(Block):
    pass


def use(x):
    # alpha's `Block` is a module.
    Plain().forward(x)
    return Block().forward(x)
