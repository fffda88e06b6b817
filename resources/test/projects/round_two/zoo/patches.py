from .models import Head


def seg_forward(self, x):
    # Not reported: `zoo.install` installs this function as a forward.
    return Head.forward(self, x)


def unused_forward(self, x):
    # Reported: nothing installs this one.
    return Head.forward(self, x)
