# Re-exports under another name: `from shop import Net` is `shop.models.Encoder`.
from .models import Encoder as Net
from .helpers import Helper
