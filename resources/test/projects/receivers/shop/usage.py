# Which `.forward(...)` calls are reported, and why. Each comment says what nmf concludes.
from shop import Helper, Net
from shop.cycle_a import A
from shop.models import Encoder, build
from shop.sub import ops
from shop.sub.ops import Square, encoder
from shop.unresolved import Thing
from torchmetrics import Metric


def run(x, net: Net, helper: Helper, unknown, later: "Encoder", things: "list[Thing]"):
    net.forward(x)                      # reported: Net is Encoder, an nn.Module
    later.forward(x)                    # reported: a string annotation naming a module
    helper.forward(x)                   # not reported: Helper is a plain class
    unknown.forward(x)                  # reported: no annotation, type unknown
    build().forward(x)                  # reported: the return annotation is a module
    encoder().forward(x)                # reported: the same, through a relative import
    A().forward(x)                      # not reported: A and B form a plain hierarchy
    A().make().forward(x)               # not reported: across the import cycle
    things[0].forward(x)                # reported: the base of Thing cannot be resolved
    Square.forward(None, x)             # NMF002: an autograd Function
    ops.Square.forward(None, x)         # NMF002: the same, through a module attribute

    model = Encoder(Helper())
    model.forward(x)                    # reported: an instance of a module
    model.linear.forward(x)             # reported: nn.Linear
    model.layers[0].forward(x)          # reported: an element of nn.ModuleList
    for layer in model.layers:
        layer.forward(x)                # reported: iterating an nn.ModuleList
    model.helper.forward(x)             # not reported: assigned from an annotated parameter
    model.native.forward(x)             # not reported: a TorchScript custom class
    model.variants["a"].forward(model, x)  # not reported: dict[str, Variant]
    for variant in model.variants.values():
        variant.forward(model, x)       # not reported: `.values()` of dict[str, Variant]
    model.maybe_helper.forward(x)       # not reported: Optional[Helper]


def evaluate(result_metric: Metric, x):
    result_metric.forward(x)            # reported: torchmetrics is outside the project, Metric unknown


def rebind(helper: Helper):
    helper = Encoder(helper)
    helper.forward(1)                   # reported: a parameter rebound to a module
