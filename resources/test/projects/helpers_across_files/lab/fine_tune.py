import torch

from lab import encode


def train(accelerator, unet, text_encoder, loader, optimizer):
    unet, text_encoder = accelerator.prepare(unet, text_encoder)
    raw_encoder = accelerator.unwrap_model(text_encoder)
    for batch in loader:
        hidden = encode.get_hidden_states(raw_encoder, batch)
        wrapped = encode.encode_wrapped(text_encoder, batch)
        with torch.no_grad():
            logged = encode.encode_for_logging(raw_encoder, batch)
        trained = encode.encode_from_any(text_encoder, batch)
        loss = unet(hidden, wrapped, trained).mean()
        accelerator.backward(loss)
        optimizer.step()
    return logged


def sample(text_encoder, batch):
    # Does not train: what it passes does not count for `encode_from_any`.
    raw_encoder = text_encoder.module
    return encode.encode_from_any(raw_encoder, batch)
