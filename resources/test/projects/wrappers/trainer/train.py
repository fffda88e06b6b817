import torch

from trainer import utils
from trainer.utils import get_distributed_model, get_model_or_module


def train(model, loader, optimizer, rank):
    model = get_distributed_model(model, rank)
    model = get_model_or_module(model)
    for batch in loader:
        loss = model(batch).sum()  # NMF005: the helper in utils.py unwraps it
        loss.backward()
        optimizer.step()


def train_unet(accelerator, unet, text_encoder, loader):
    unet, text_encoder = accelerator.prepare(unet, text_encoder)
    (unet,) = utils.transform_models_if_ddp([unet])
    for batch in loader:
        noise_pred = unet(batch)  # NMF005
        accelerator.backward(noise_pred.mean())


def evaluate(model, loader):
    model = get_model_or_module(model)
    with torch.no_grad():
        return [model(batch) for batch in loader]  # not reported: no gradients
