import fastlib
import torch


def run(x):
    # Not reported: `not-module-packages` lists `fastlib`.
    fastlib.Engine("model.bin").forward(x)
    # Reported: nothing says what a hub model is.
    torch.hub.load("repo", "model").forward(x)
