import types


def install(model):
    from .patches import seg_forward

    model.head.forward = types.MethodType(seg_forward, model.head)
