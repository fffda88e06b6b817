"""The ``nmf`` command, run in this process by the Rust engine."""

from __future__ import annotations

import sys

from flake8_no_model_forward_call import _nmf


def main() -> None:
    sys.stdout.flush()
    sys.exit(_nmf.main(["nmf", *sys.argv[1:]]))


if __name__ == "__main__":
    main()
