"""Where the shared public corpus is: ../shared/corpus beside the checkout, or wherever
CARECOORD_CORPUS_DIR points (the folder holding hl7v2/ and fhir/). Tests read it there and never
copy it into the repository."""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def corpus_dir(*parts: str, holding: str) -> Path:
    """The corpus folder `parts` (e.g. "fhir", "deqm-gaps"), which must hold files matching
    `holding`. Missing, it stops the run at collection with where it looked and how to fix it:
    an empty folder would otherwise turn the corpus tests into silently passing ones."""
    root = os.environ.get("CARECOORD_CORPUS_DIR")
    folder = Path(root).joinpath(*parts) if root else REPO.parent.joinpath("shared", "corpus", *parts)
    if not any(folder.glob(holding)):
        raise RuntimeError(
            f"No {holding} files in {folder}: check the project out beside ../shared (the corpus is "
            "../shared/corpus), or set CARECOORD_CORPUS_DIR to the corpus folder (the one holding hl7v2/ "
            "and fhir/)."
        )
    return folder
