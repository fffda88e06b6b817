import torch.nn as nn

class MyModel(nn.Module):
    def forward(self, x):
        return x * 2

model = MyModel()

model.forward(x)   # NMF001 — flagged
model(x)           # OK
