"""kontext-contract: one corrected OpenAPI contract for FLUX.1 Kontext [pro] and the tools around it.

Subpackages:
- ``kontext_contract.pipeline``: the contract pipeline (sources -> merge -> overlays -> contract).
- ``kontext_contract.codegen``: regenerating and checking the typed client in ``generated/``.
"""

__version__ = "0.1.0"
