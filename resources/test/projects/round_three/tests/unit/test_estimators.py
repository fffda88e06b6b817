import pytest

from lab.estimators import Estimator


def test_fixtures(net, model, any_net, pair, tmp_path):
    # Not reported: the `net` fixture (tests/conftest.py) is an `Estimator`.
    net.forward(1)
    estimator, module = pair
    estimator.forward(1)
    # Reported: `model` yields a module, `any_net` may be one, `module` is one, and nmf
    # does not know what pytest's own `tmp_path` is.
    model.forward(1)
    any_net.forward(1)
    module.forward(1)
    tmp_path.forward(1)


class TestEstimator:
    @pytest.fixture
    def fitted(self, net):
        return net.initialize()

    def build(self):
        return Estimator(None)

    def test_method(self, fitted):
        # Not reported: a fixture of the class, and a helper method of the class.
        fitted.forward(1)
        self.build().forward(1)


@pytest.mark.parametrize("net", [object()])
def test_parametrized(net):
    # Not reported: `net` is the parametrized value here, not the fixture.
    net.forward(1)
