from . import cycle_a


class B:
    def forward(self, x):
        return x

    def make(self) -> "cycle_a.A":
        return cycle_a.A()
