# Helpers another file uses: what they return is summarised with the file.
from torch.nn.parallel import DistributedDataParallel as DDP


def get_model_or_module(model):
    # The inner module when `model` is wrapped: its callers train through it (NMF005 there).
    if hasattr(model, "module"):
        return model.module
    return model


def transform_models_if_ddp(models):
    return [model.module if type(model) == DDP else model for model in models if model is not None]


def get_distributed_model(model, rank):
    return DDP(model, device_ids=[rank])
