"""The Python side of the extract + chunk benchmark (run by scripts/bench_extract.sh).

    bench_extract.py corpus DIR      writes the corpus: reportlab PDFs (100- and 10-page)
                                     and generated plain-text and Markdown files
    bench_extract.py reference DIR   runs the reference path over DIR and prints JSON:
                                     pypdf per page, LangChain's RecursiveCharacterTextSplitter

The splitter gets the character sizes matching the Rust defaults: 512 estimated tokens
at 3 ASCII characters each (1,536 characters), 64 tokens (192 characters) of overlap.
"""

import io
import json
import random
import sys
import time
from pathlib import Path

WORDS = (
    "the of and to in is that for it as was with be by on not he this are or his from at "
    "which but have an they you were her all she there would their we him been has when who "
    "will more no if out so said what up its about into than them can only other new some "
    "could time these two may then do first any my now such like our over man me even most "
    "made after also did many before must through back years where much your way well down "
    "should because each just those people how too little state good very make world still "
    "own see men work long get here between both life being under never day same another "
    "know while last might us great old year off come since against go came right used take"
).split()
CHUNK_CHARS = 512 * 3
OVERLAP_CHARS = 64 * 3


def sentence(rng: random.Random) -> str:
    words = rng.choices(WORDS, k=rng.randint(8, 22))
    return " ".join(words).capitalize() + "."


def paragraph(rng: random.Random, sentences: int) -> str:
    return " ".join(sentence(rng) for _ in range(sentences))


def corpus(out: Path) -> None:
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.platypus import PageBreak, Paragraph, SimpleDocTemplate

    out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(42)
    styles = getSampleStyleSheet()
    for index, pages in [(i, 100) for i in range(8)] + [(i + 8, 10) for i in range(30)]:
        flow = []
        for page in range(pages):
            flow.append(Paragraph(f"Section {page + 1}", styles["Heading1"]))
            for _ in range(4):
                flow.append(Paragraph(paragraph(rng, 5), styles["Normal"]))
            flow.append(PageBreak())
        SimpleDocTemplate(str(out / f"doc{index:02}_{pages}p.pdf"), pagesize=A4).build(flow)
    for index in range(20):
        text = "\n\n".join(paragraph(rng, rng.randint(3, 9)) for _ in range(1400))
        (out / f"notes{index:02}.txt").write_text(text)
    for index in range(10):
        parts = []
        for section in range(60):
            parts.append(f"## Section {section}\n")
            parts.extend(paragraph(rng, rng.randint(3, 8)) for _ in range(6))
        (out / f"guide{index:02}.md").write_text(f"# Guide {index}\n\n" + "\n\n".join(parts))


def reference(directory: Path, runs: int) -> dict:
    from langchain_text_splitters import RecursiveCharacterTextSplitter
    from pypdf import PdfReader

    splitter = RecursiveCharacterTextSplitter(chunk_size=CHUNK_CHARS, chunk_overlap=OVERLAP_CHARS)
    files = sorted(p for p in directory.iterdir() if p.is_file())
    inputs = [(p.suffix.lower(), p.read_bytes()) for p in files]
    kinds: dict = {}
    timings = []
    for _ in range(runs):
        totals: dict = {}
        started = time.perf_counter()
        for suffix, data in inputs:
            kind = "pdf" if suffix == ".pdf" else "text"
            t0 = time.perf_counter()
            if kind == "pdf":
                pages = [page.extract_text() for page in PdfReader(io.BytesIO(data)).pages]
            else:
                pages = [data.decode("utf-8", errors="replace").replace("\0", "")]
            chunks = sum(len(splitter.split_text(page)) for page in pages)
            entry = totals.setdefault(kind, {"files": 0, "bytes": 0, "pages": 0, "chunks": 0, "seconds": 0.0})
            entry["files"] += 1
            entry["bytes"] += len(data)
            entry["pages"] += len(pages)
            entry["chunks"] += chunks
            entry["seconds"] += time.perf_counter() - t0
        timings.append((time.perf_counter() - started, totals))
    seconds, kinds = min(timings, key=lambda t: t[0])
    return {"runs": runs, "seconds": seconds, "kinds": kinds,
            "splitter": f"RecursiveCharacterTextSplitter({CHUNK_CHARS}, {OVERLAP_CHARS})",
            "python": sys.version.split()[0]}


if __name__ == "__main__":
    command, directory = sys.argv[1], Path(sys.argv[2])
    if command == "corpus":
        corpus(directory)
    else:
        runs = int(sys.argv[3]) if len(sys.argv) > 3 else 5
        print(json.dumps(reference(directory, runs)))
