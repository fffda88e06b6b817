from lab.encode import get_hidden_states_pair, unwrap


def train(accelerator, encoder1, encoder2, loader):
    encoder1, encoder2 = accelerator.prepare(encoder1, encoder2)
    inner1, inner2 = unwrap(encoder1), unwrap(encoder2)
    for batch in loader:
        hidden, pooled = get_hidden_states_pair(inner1, inner2, batch)
        accelerator.backward((hidden + pooled).mean())
