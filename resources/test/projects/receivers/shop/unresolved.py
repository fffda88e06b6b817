# A base class from a package nmf cannot see: its instances may well be modules.
from somewhere_else import MysteryBase


class Thing(MysteryBase):
    pass
