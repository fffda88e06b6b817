# Helpers of the training scripts: their text encoder comes from the callers, in other files.
import torch
from torch.nn.parallel import DistributedDataParallel as DDP


def unwrap(model):
    return model.module if type(model) == DDP else model


def get_hidden_states(text_encoder, input_ids):
    # NMF005: fine_tune.py passes the module inside the wrapper, and trains after the call.
    hidden = text_encoder(input_ids)[0]
    # Not reported: reached through a further attribute (as everywhere, see the rule docs).
    return text_encoder.text_model.final_layer_norm(hidden)


def pool(text_encoder, hidden):
    return text_encoder.text_projection(hidden)  # NMF005: through the caller below


def get_hidden_states_pair(text_encoder1, text_encoder2, input_ids):
    hidden = text_encoder1(input_ids)[0]  # NMF005: pair.py passes an inner module
    return hidden, pool(text_encoder2, hidden)


def encode_wrapped(text_encoder, input_ids):
    # Not reported: every caller passes the wrapper itself.
    return text_encoder(input_ids)[0]


def encode_for_logging(text_encoder, input_ids):
    # Not reported: the caller passes the inner module, but under `torch.no_grad()`.
    return text_encoder(input_ids)[0]


def encode_from_any(text_encoder, input_ids):
    # Not reported: the only caller that trains passes the wrapper.
    return text_encoder(input_ids)[0]
