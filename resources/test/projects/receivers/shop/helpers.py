from abc import ABC
from typing import Generic, TypeVar

T = TypeVar("T")


class Mixin:
    """No bases: not a module."""


class Helper(Mixin, ABC):
    """Has a `forward` method, but is a plain object."""

    def forward(self, x):
        return x


class Boxed(Generic[T]):
    def forward(self, x):
        return x
