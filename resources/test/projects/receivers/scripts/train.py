# A script outside the package imports it absolutely, from the project root.
import shop
from shop.helpers import Boxed

model = shop.Net(shop.Helper())
model.forward(1)                        # reported: shop.Net is a module
shop.Helper().forward(1)                # not reported
Boxed().forward(1)                      # not reported: Generic[T] is not a module base
