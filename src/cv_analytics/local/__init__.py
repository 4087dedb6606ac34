"""The local runtime: the AWS twin, the local environment deployed on it, and the pipeline run on it.

It runs from a checkout only: it deploys with the stacks and the Terraform runner at the repository root
(`terraform/`, `modules/`), which are not part of the installed package, so the root goes on the import
path here, once.
"""

from __future__ import annotations

import sys
from pathlib import Path

_CHECKOUT = str(Path(__file__).resolve().parents[3])
if _CHECKOUT not in sys.path:
    sys.path.append(_CHECKOUT)
