from lab.estimators import Estimator, EstimatorFactory, Net, make_either, make_module, make_net


def run(X):
    # Not reported: each receiver is an `Estimator`, which is not a module.
    Estimator(None).initialize().forward(X)
    make_net().forward(X)
    Estimator.from_config({}).forward(X)
    EstimatorFactory().forward(X)
    # Reported: a factory whose returns include a module, a factory of modules, a fluent
    # method of a module.
    make_either(True).forward(X)
    make_module().forward(X)
    Net().initialize().forward(X)
