import pytest

from lab.estimators import Estimator, Net


@pytest.fixture(name="pair")
def make_pair():
    # Asked for as `pair`; a tuple, unpacked by the tests.
    return Estimator(None), Net()
