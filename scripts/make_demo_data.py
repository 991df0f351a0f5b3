"""Build data/demo/: the public-domain subset of the People-Art paintings, bundled as the demo dataset.

Reads the 348 files listed in <shared>/paintings_a/public_domain_demo.txt, re-encodes each as a
128x128 JPEG (quality 92) at data/demo/<Style>/<name>.jpg (style subfolders become labels), and
writes data/demo/CREDITS.md with the source, licence notes, counts per style and every work.

    python scripts/make_demo_data.py [--shared ../shared/data] [--out data/demo]

<shared> is the folder of development datasets beside the checkout (not in the repository;
ARCHITECTURE.md, 'Development datasets', says how to get it).
"""

from __future__ import annotations

import argparse
import csv
from collections import Counter
from pathlib import Path

from PIL import Image

REPO = Path(__file__).resolve().parents[1]
SIZE = 128
QUALITY = 92


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shared", type=Path, default=REPO / ".." / "shared" / "data", help="shared data folder")
    parser.add_argument("--out", type=Path, default=REPO / "data" / "demo", help="output folder")
    args = parser.parse_args()

    source = args.shared / "paintings_a"
    listed = [line.strip() for line in (source / "public_domain_demo.txt").read_text().splitlines() if line.strip()]
    works = {row["file"]: row for row in csv.DictReader((source / "labels.csv").open(newline="", encoding="utf-8"))}
    for rel in listed:
        image = Image.open(source / rel).convert("RGB")
        if image.size != (SIZE, SIZE):  # the shared files are already square 128 px; just in case
            image = image.resize((SIZE, SIZE), Image.Resampling.LANCZOS)
        target = args.out / Path(rel).with_suffix(".jpg")
        target.parent.mkdir(parents=True, exist_ok=True)
        image.save(target, quality=QUALITY, optimize=True)

    (args.out / "CREDITS.md").write_text(credits_markdown(listed, works), encoding="utf-8")
    print(f"wrote {len(listed)} images to {args.out}")


def credits_markdown(listed: list[str], works: dict[str, dict]) -> str:
    styles = Counter(rel.split("/")[0] for rel in listed)
    lines = [
        "# Demo dataset credits",
        "",
        f"{len(listed)} paintings, {SIZE}x{SIZE} JPEG, one subfolder per style (the subfolders are the labels).",
        "",
        "- Source: the People-Art dataset, University of Bath (GitHub BathVisArtData/PeopleArt,",
        "  commit 0b285c6), JPEGImages/<Style>/<artist>_<title>.jpg; centre-cropped to square and",
        "  resized (LANCZOS) to 128x128, then re-encoded as JPEG quality 92 by scripts/make_demo_data.py.",
        "- Styles as labelled by WikiArt.",
        "- Only public-domain works are included: Renaissance, Gothic, Rococo, Classicism, Biedermeier,",
        "  Ukiyo-e and Academicism works, and Realism / Naturalism / Impressionism works dated 1900 or",
        "  earlier, all by artists who died long ago.",
        "",
        "## Count per style",
        "",
        "| Style | Images |",
        "|---|---:|",
        *(f"| {style} | {count} |" for style, count in sorted(styles.items())),
        f"| **Total** | **{len(listed)}** |",
        "",
        "## Works",
        "",
        "| File | Artist | Title | Year |",
        "|---|---|---|---|",
    ]
    for rel in listed:
        work = works.get(rel, {})
        title = work.get("title_slug", "").replace("-", " ")
        lines.append(
            f"| {Path(rel).with_suffix('.jpg').as_posix()} | {work.get('artist', '')} | {title} "
            f"| {work.get('year_in_title', '')} |"
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
