# cycle_a and cycle_b import each other: nmf follows the cycle without looping.
from .cycle_b import B


class A(B):
    pass
