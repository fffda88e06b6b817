import timm
import zoo.models
import zoo.tokenizers
from transformers import AutoTokenizer


def load(x):
    # Reported, a known module: nmf's table of factories says what timm makes, and the
    # configuration what `zoo.*.build` makes.
    timm.create_model("resnet50").forward(x)
    zoo.models.build("net").forward(x)
    # Not reported: the table says a tokenizer is not a module, and the configuration says
    # so of `zoo.tokenizers.load`.
    AutoTokenizer.from_pretrained("gpt2").forward(x)
    zoo.tokenizers.load("vocab").forward(x)
