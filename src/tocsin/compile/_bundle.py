"""The compiler's output: relative path → file content, written atomically per file."""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["MANIFEST", "CompiledBundle"]

#: Written last in the output directory: the files of the last write, to delete those that go away.
MANIFEST = ".tocsin-bundle"


def _write_atomically(target: Path, content: str, mode: int = 0o644) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, mode)  # mkstemp makes 0600; Prometheus may run as another user
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, target)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


@dataclass
class CompiledBundle:
    """Files the compiler produced, keyed by path relative to the output directory.

    Paths inside the files are relative to the file that names them (rule
    files relative to ``prometheus/``), so the bundle can be written anywhere.
    """

    files: dict[str, str] = field(default_factory=dict)
    #: Files holding a secret inline (alertmanager.yml with a webhook ``url_env``): written 0600.
    private: set[str] = field(default_factory=set)

    def write(self, directory: str | Path) -> None:
        """Write every file under ``directory``; each file is replaced atomically (temp + rename).

        Files an earlier write put there and this bundle no longer has (a service renamed, an
        SLO removed) are deleted, so stale rules and tests never linger; the list of written
        files is kept in ``MANIFEST``. Nothing else in the directory is touched.
        """
        root = Path(directory)
        manifest = root / MANIFEST
        previous = set(manifest.read_text(encoding="utf-8").splitlines()) if manifest.is_file() else set()
        for relative, content in sorted(self.files.items()):
            _write_atomically(root / relative, content, 0o600 if relative in self.private else 0o644)
        for stale in sorted(previous - set(self.files)):
            path = root / stale
            if ".." not in Path(stale).parts:
                path.unlink(missing_ok=True)
        _write_atomically(manifest, "".join(f"{name}\n" for name in sorted(self.files)))

    def paths(self, prefix: str) -> list[str]:
        """Sorted paths starting with ``prefix`` (e.g. ``"prometheus/rules/"``)."""
        return sorted(p for p in self.files if p.startswith(prefix))
