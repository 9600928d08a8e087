"""``python -m kontext_contract.cli``: the same as the ``kontext-contract`` console script."""

from . import main

main()
