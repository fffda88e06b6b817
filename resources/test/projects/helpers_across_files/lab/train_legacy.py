from lab.legacy import wrap
from lab.encode import get_hidden_states


def train(model, batch, optimizer):
    model = wrap(model)
    # The inner module goes to lab/encode.py's `get_hidden_states`, not to lab/legacy.py's;
    # and the wrapper itself runs for the same backward, so neither is reported.
    hidden = get_hidden_states(model.module, batch)
    model(hidden).mean().backward()
    optimizer.step()
