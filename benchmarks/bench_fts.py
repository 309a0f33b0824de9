"""Full-text index: walrus-suite ``Index`` beside upstream walrus's, on the same server.

Run: ``.venv/bin/python -m benchmarks.bench_fts``. Both index the same 1000 small generated
documents (10 words from a 289-word vocabulary) under their own index name, then run the
same queries. There is no raw redis-py column: a full-text query has no one-command
equivalent.
"""

from __future__ import annotations

from typing import Any

from benchmarks.harness import Result, bench_server, measure, table, upstream_results, write_section
from walrus import Database

__all__ = ["main"]

# Shared by both sides (exec'd here, sent as text to the upstream subprocess).
SETUP = """
import itertools
import random

SYLLABLES = ["ka", "lo", "mi", "ne", "ru", "sa", "ti", "vo", "zu", "pe", "do", "fi", "gu",
             "ha", "je", "wo", "xa"]
VOCAB = [a + b for a in SYLLABLES for b in SYLLABLES]
DOCS = 1000
QUERIES = [
    ("search one word", "kalo"),
    ("search a AND b", "kalo AND nevo"),
    ("search a OR b", "kalo OR nevo"),
    ("search (a OR b) AND c", "(kalo OR nevo) AND (rusa OR tivo OR zupe)"),
    ("search phrase", '"kalo nevo"'),
]
NUMBER = 200


def make_docs():
    rng = random.Random(1234)
    docs = [" ".join(rng.choice(VOCAB) for _ in range(10)) for _ in range(DOCS)]
    docs[7] = "kalo nevo " + docs[7]  # make sure the phrase has a hit
    return docs


def build(index):
    for i, text in enumerate(make_docs()):
        index.add("d%d" % i, text, n=i)


def cases_for(index):
    counter = itertools.count(10_000)
    # Words outside the vocabulary: the moving document never changes what queries find.
    texts = itertools.cycle(
        ["quorn quark quill bramble thistle", "heron osprey plover curlew dunlin"]
    )
    index.add("moving", next(texts))
    out = [("add (new doc, 10 words + 1 field)",
            lambda: index.add("d%d" % next(counter), make_docs()[0], n=1), NUMBER),
           ("update (re-index an existing doc, 5 words)",
            lambda: index.update("moving", next(texts)), NUMBER)]
    for label, query in QUERIES:
        out.append((label, (lambda q=query: index.search(q)), NUMBER))
    return out
"""

UPSTREAM_CODE = (
    SETUP
    + """
def cases(db):
    index = db.Index("up")
    build(index)
    global make_docs
    first = make_docs()[0]
    make_docs = lambda: [first]
    return cases_for(index)
"""
)


def key_memory(db: Any, name: str) -> int:
    """Bytes of every key of index ``name`` (``MEMORY USAGE ... SAMPLES 0``, key names
    included): the data itself, without the server's shared overhead."""
    keys = list(db.scan_iter(match=f"*.{name}*", count=1000))
    return sum(int(db.memory_usage(key, samples=0)) for key in keys)


def memory_per_document(url: str, docs: list[str]) -> list[tuple[str, float]]:
    """Bytes per document of each contender's keys after it indexed ``docs`` (with one
    metadata field) under its own index name of the same length: ours with and without
    token lists, and upstream walrus 0.9.8 (imported in this process)."""
    from benchmarks.bench_models_scale import load_upstream

    db = Database.from_url(url)
    upstream_db = load_upstream().Database.from_url(url)
    contenders = [
        ("ours (default: token lists)", db.Index("memt")),
        ("ours, `token_lists=False`", db.Index("memb", token_lists=False)),
        ("upstream walrus 0.9.8", upstream_db.Index("memu")),
    ]
    found = []
    for label, index in contenders:
        for i, text in enumerate(docs):
            index.add(f"d{i}", text, n=i)
        found.append((label, key_memory(db, index.name) / len(docs)))
    db.flushdb()
    db.close()
    return found


def main() -> None:
    ns: dict[str, object] = {}
    exec(SETUP, ns)  # noqa: S102 - our own constant code, shared with the upstream run
    with bench_server() as url:
        db = Database.from_url(url)
        db.flushdb()
        index = db.Index("ours")
        ns["build"](index)  # type: ignore[operator]
        ns["make_docs_all"] = ns["make_docs"]
        first = ns["make_docs"]()[0]  # type: ignore[operator]
        ns["make_docs"] = lambda: [first]  # the add case reuses one text, not 1000 fresh ones
        queries = ns["QUERIES"]
        counts = {label: len(index.search(q)) for label, q in queries}  # type: ignore[attr-defined]
        ours: dict[str, Result] = {}
        for label, fn, number in ns["cases_for"](index):  # type: ignore[operator]
            ours[label] = measure(label, fn, number=number)
        try:
            upstream = upstream_results(UPSTREAM_CODE, url)
        except Exception as exc:  # the upstream install needs network access
            print(f"upstream walrus not measured: {exc}")
            upstream = {}
        db.close()
        docs = ns["make_docs_all"]()  # type: ignore[operator]
        memory = memory_per_document(url, docs)
    rows = [(label, ours[label], None, upstream.get(label)) for label in ours]
    hits = ", ".join(f"{label}: {n}" for label, n in counts.items())
    note = (
        f"\n\n1000 documents of 10 words; hits per query (ours): {hits}. "
        "Our search is 2 round trips whatever the number of hits (one script evaluating the "
        "whole query, one pipelined HGETALL batch); upstream sends one HGETALL per hit plus "
        "one command per AND/OR step. An update is one script call that reads the document's "
        "stored token list; upstream removes (reading the content) and re-adds command by command."
    )
    note += (
        "\n\nMemory per document (`MEMORY USAGE` of every key of the index, key names "
        "included, after each indexes the same 1000 documents with one metadata field):\n\n"
        "| index | bytes per document | vs upstream |\n|---|---:|---:|\n"
        + "\n".join(
            f"| {label} | {size:,.0f} | {size / memory[-1][1]:.2f}x |" for label, size in memory
        )
        + "\n\n`token_lists=False` keeps upstream's layout only: adding a document is still 1 "
        "round trip, re-indexing or removing one costs 2 (its content is read back)."
    )
    write_section(
        "Full-text search", table(rows) + note, command=".venv/bin/python -m benchmarks.bench_fts"
    )


if __name__ == "__main__":
    main()
