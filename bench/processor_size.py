"""Size of what the processor ships (its code and dependencies, boto3 and botocore excluded) against 5 MB.

Builds `dist/processor.zip` exactly as the deploy does and reads its entries, so the figure is the deployed
package, not an estimate. Beside it, for scale, the size of the botocore the Lambda runtime provides and the
zip leaves out. Run with `task bench-processor`.
"""

from __future__ import annotations

import zipfile
from collections import Counter
from importlib import util
from pathlib import Path

from cv_analytics import packaging

TARGET_BYTES = 5 * 1024 * 1024


def _tree_size(root: Path) -> int:
    return sum(
        path.stat().st_size for path in root.rglob("*") if path.is_file() and "__pycache__" not in path.parts
    )


def main() -> None:
    archive_path = packaging.build("processor")
    unpacked: Counter[str] = Counter()
    packed: Counter[str] = Counter()
    with zipfile.ZipFile(archive_path) as archive:
        for info in archive.infolist():
            top = info.filename.split("/", 1)[0].split(".dist-info")[0]
            unpacked[top] += info.file_size
            packed[top] += info.compress_size
    zipped = archive_path.stat().st_size
    total = sum(unpacked.values())
    print(
        f"processor.zip: {zipped / 1e6:.2f} MB zipped, {total / 1e6:.2f} MB unpacked "
        f"({len(unpacked)} top-level names)"
    )
    print(
        f"target {TARGET_BYTES / 1e6:.2f} MB: zipped {zipped / TARGET_BYTES:.2f} of it, "
        f"unpacked {total / TARGET_BYTES:.2f} of it"
    )
    print("largest parts, unpacked / zipped:")
    for name, size in unpacked.most_common(6):
        print(f"  {name:<32} {size / 1e6:6.2f} MB / {packed[name] / 1e6:5.2f} MB")
    spec = util.find_spec("botocore")
    if spec is not None and spec.origin is not None:
        botocore = _tree_size(Path(spec.origin).parent)
        print(
            f"botocore, which the runtime provides and the zip leaves out: {botocore / 1e6:.2f} MB unpacked "
            f"({botocore / total:.1f}x the whole package)"
        )


if __name__ == "__main__":
    main()
