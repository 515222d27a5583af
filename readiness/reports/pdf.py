"""The PDF: the HTML report laid out by WeasyPrint with the print stylesheet (page numbers, the
repeated header), so there is one layout, not two."""

from __future__ import annotations

import logging
from pathlib import Path

from ..errors import ReadinessError
from ..tools import require_modules


def write(path: Path, html_text: str, base: Path) -> Path:
    """`html_text` as PDF at `path`; links to evidence stay relative to `base` (the run folder)."""
    require_modules("weasyprint")
    import weasyprint

    logging.getLogger("weasyprint").setLevel(logging.ERROR)     # its CSS notes are not the user's business
    logging.getLogger("fontTools").setLevel(logging.ERROR)
    try:
        weasyprint.HTML(string=html_text, base_url=str(base) + "/").write_pdf(str(path))
    except OSError as e:
        raise ReadinessError(f"cannot write {path}: {e.strerror or e}") from None
    return Path(path)
