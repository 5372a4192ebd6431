"""Repository paths (CRDs and examples ship next to the package in a source checkout)."""

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
CRDS_DIR = REPO_ROOT / "crds"
