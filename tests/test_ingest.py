"""Ingest: incremental indexing, crash safety, bad input, model mismatch, the CLI contract."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest

from assistant.errors import DocumentError, IndexUnavailableError
from assistant.index import Index
from assistant.service import AssistantService
from assistant.settings import Settings, load_settings
from evaluation.corpus import evaluation_corpus
from ingest.isolation import FileLimits
from ingest.pipeline import IngestOptions, Ingestor, IngestSummary
from tests.conftest import REPO, SEED

pytestmark = pytest.mark.integration

SUMMARY_KEYS = {
    "files_seen",
    "files_indexed",
    "files_unchanged",
    "files_removed",
    "files_failed",
    "chunks_added",
    "chunks_removed",
    "chunks_total",
    "seconds",
}


def ingest(
    settings: Settings,
    *paths: Path,
    rebuild: bool = False,
    limits: FileLimits | None = None,
    allow_mass_removal: bool = False,
) -> IngestSummary:
    options = IngestOptions.from_settings(
        settings, rebuild=rebuild, progress=False, allow_mass_removal=allow_mass_removal
    )
    if limits is not None:
        options = replace(options, limits=limits)
    index = Index.from_settings(settings)
    try:
        return Ingestor(index, options).run(list(paths))
    finally:
        index.manifest.close()


def snapshot(settings: Settings) -> dict[str, tuple[str, str]]:
    """Every stored chunk: id -> (text, metadata as JSON)."""
    index = Index.from_settings(settings)
    chunks = {
        c.chunk_id: (c.text, json.dumps(c.__dict__, sort_keys=True, default=str))
        for c in index.store.iter_chunks()
    }
    index.manifest.close()
    return chunks


@pytest.fixture
def small_corpus(tmp_path: Path, shared_corpus: Path) -> Path:
    folder = tmp_path / "corpus"
    folder.mkdir()
    shutil.copy(SEED, folder)
    for name in (
        "IOM_HTCDS_Guidance_Migration_and_International_Protection.md",
        "IOM_CED_Evaluation_Accountability_to_Affected_Populations_Brief_2024.pdf",
        "IOM_HTCDS_Terms_of_Use_2020.docx",
    ):
        shutil.copy(shared_corpus / "iom" / name, folder)
    return folder


def test_reingest_of_an_unchanged_corpus_embeds_nothing(hash_settings: Settings, small_corpus: Path) -> None:
    first = ingest(hash_settings, small_corpus)
    assert first.files_seen == 4 and first.files_indexed == 4 and not first.files_failed
    assert first.chunks_added == first.chunks_total > 20

    again = ingest(hash_settings, small_corpus)
    assert again.files_unchanged == 4
    assert again.files_indexed == again.chunks_added == again.chunks_embedded == again.chunks_removed == 0
    assert again.chunks_total == first.chunks_total


def test_new_cleaning_code_rechunks_every_file_once_and_reuses_vectors(
    hash_settings: Settings, small_corpus: Path
) -> None:
    """An index built by older loading or chunking code is re-chunked on the next run (the
    pipeline version in the manifest differs); chunks whose text did not change keep their vectors."""
    first = ingest(hash_settings, small_corpus)
    before = snapshot(hash_settings)
    index = Index.from_settings(hash_settings)
    index.manifest.set_meta("pipeline", "0")  # as written by an older release
    index.manifest.close()

    upgraded = ingest(hash_settings, small_corpus)
    assert upgraded.files_indexed == 4 and upgraded.files_unchanged == 0
    assert upgraded.chunks_embedded == 0 and upgraded.chunks_total == first.chunks_total
    assert snapshot(hash_settings) == before
    assert ingest(hash_settings, small_corpus).files_unchanged == 4


def test_changed_deleted_and_renamed_files(hash_settings: Settings, small_corpus: Path) -> None:
    first = ingest(hash_settings, small_corpus)
    before = snapshot(hash_settings)

    seed = small_corpus / SEED.name
    seed.write_text(
        seed.read_text(encoding="utf-8") + "\nA new closing paragraph about WBCAP funding.\n",
        encoding="utf-8",
    )
    changed = ingest(hash_settings, small_corpus)
    assert changed.files_indexed == 1 and changed.files_unchanged == 3
    assert 1 <= changed.chunks_added <= 3
    assert any("A new closing paragraph" in text for text, _ in snapshot(hash_settings).values())

    md = small_corpus / "IOM_HTCDS_Guidance_Migration_and_International_Protection.md"
    md.rename(small_corpus / "renamed guidance.md")
    renamed = ingest(hash_settings, small_corpus)
    assert renamed.files_removed == 1 and renamed.files_indexed == 1
    assert renamed.chunks_embedded == 0, "a renamed file reuses its stored vectors"
    after_rename = snapshot(hash_settings)
    sources = {json.loads(meta)["source_id"] for _, meta in after_rename.values()}
    assert "renamed guidance.md" in sources
    assert md.name not in sources
    assert renamed.chunks_total == changed.chunks_total, "no duplicates after a rename"

    (small_corpus / "renamed guidance.md").unlink()
    deleted = ingest(hash_settings, small_corpus)
    assert deleted.files_removed == 1
    assert deleted.chunks_total < first.chunks_total
    assert len(before) == first.chunks_total


def test_a_run_that_would_remove_most_files_stops_until_told(
    hash_settings: Settings, small_corpus: Path, tmp_path: Path
) -> None:
    """A moved or unmounted folder looks like deleted files: the index is kept until the user
    says the files were deleted on purpose. An empty or missing folder is an error naming it."""
    ingest(hash_settings, small_corpus)
    before = snapshot(hash_settings)
    kept = sorted(small_corpus.iterdir())[0]
    for file in small_corpus.iterdir():
        if file != kept:
            file.unlink()

    with pytest.raises(DocumentError, match="--allow-mass-removal"):
        ingest(hash_settings, small_corpus)
    assert snapshot(hash_settings) == before, "nothing stored is lost"

    removed = ingest(hash_settings, small_corpus, allow_mass_removal=True)
    assert removed.files_removed == 3 and removed.files_unchanged == 1

    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DocumentError, match=str(empty)):
        ingest(hash_settings, empty)
    with pytest.raises(DocumentError, match="does not exist"):
        ingest(hash_settings, tmp_path / "missing")


def test_embedding_model_mismatch_asks_for_rebuild(tmp_path: Path, small_corpus: Path) -> None:
    built = load_settings(index_dir=tmp_path / "index", embedding_model="hash-256")
    ingest(built, small_corpus)
    other = load_settings(index_dir=tmp_path / "index", embedding_model="hash-128")
    with pytest.raises(IndexUnavailableError, match="--rebuild"):
        ingest(other, small_corpus)
    rebuilt = ingest(other, small_corpus, rebuild=True)
    assert rebuilt.files_indexed == 4 and rebuilt.chunks_total == rebuilt.chunks_added


def _make_bad_files(folder: Path) -> dict[str, str]:
    """Bad inputs, each with the words its failure must contain."""
    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(width=200, height=200)
    writer.encrypt("secret")
    with (folder / "encrypted.pdf").open("wb") as handle:
        writer.write(handle)
    pdf = (evaluation_corpus() / "iom" / "IOM_CED_Meta-evaluation_2020-2024_Brief_2025.pdf").read_bytes()
    (folder / "corrupted.pdf").write_bytes(pdf[: len(pdf) // 3])
    (folder / "empty.txt").write_bytes(b"")
    (folder / "junk.txt").write_bytes(bytes(range(256)) * 64)
    (folder / "slides.pptx").write_bytes(b"PK\x03\x04 not really")
    with (folder / "huge.txt").open("w", encoding="utf-8") as handle:
        line = "Migration data are collected by IOM field teams every month. " * 20 + "\n"
        for _ in range(50 * 1024 * 1024 // len(line) + 1):
            handle.write(line)
    return {
        "encrypted.pdf": "encrypt",
        "corrupted.pdf": "pdf",
        "empty.txt": "empty",
        "junk.txt": "binary",
        "slides.pptx": ".pptx",
        "huge.txt": "MB",
    }


def test_bad_files_are_reported_and_the_rest_is_indexed(hash_settings: Settings, tmp_path: Path) -> None:
    folder = tmp_path / "mixed"
    folder.mkdir()
    shutil.copy(SEED, folder)
    first = ingest(hash_settings, folder)
    kept = snapshot(hash_settings)

    expected = _make_bad_files(folder)
    (folder / "Réunion frontières 2022 (copie).txt").write_text(
        "La réunion des chefs de la police des frontières a eu lieu à Budva en juin 2022.", encoding="utf-8"
    )
    (folder / "windows-1252.txt").write_bytes(
        "Caf\xe9 d\xe9bat on migration \x96 a cp1252 note.".encode("latin-1")
    )
    shutil.copy(SEED, folder / "copy of seed.txt")

    summary = ingest(hash_settings, folder)
    failed = {Path(f.path).name: f.error for f in summary.files_failed}
    assert set(failed) == set(expected), failed
    for name, words in expected.items():
        assert words.lower() in failed[name].lower(), (name, failed[name])
    assert summary.files_indexed == 3  # the non-ASCII name, the cp1252 file, the identical copy
    after = snapshot(hash_settings)
    assert set(kept) <= set(after), "nothing already stored is lost"
    texts = " ".join(text for text, _ in after.values())
    assert "Café débat" in texts and "police des frontières" in texts
    assert first.chunks_total < summary.chunks_total


def test_hostile_files_are_stopped_at_their_limits_and_the_rest_is_indexed(
    settings: Settings, tmp_path: Path
) -> None:
    """Files built to stall readers fail alone, quickly, each naming the limit it hit and the
    setting that raises it; the worker that ran past its time is replaced. (The real embedder:
    its tokenizer is what long lines cost.)"""
    folder = tmp_path / "hostile"
    folder.mkdir()
    shutil.copy(SEED, folder)
    (folder / "dots.txt").write_text("Intro sentence. " + "." * 300_000 + " end.")  # one 300 KB line
    (folder / "wide.csv").write_text("," * 5000 + "\n" + "1," * 5000 + "\n")  # 5,001 columns
    _blank_pdf(folder / "pages.pdf", pages=3)
    _docx_bomb(folder / "bomb.docx", inflated_mb=600)  # 600 KB that inflate to 600 MB
    words = " ".join(f"w{i}" for i in range(30_000))  # 6 MB of long lines: over 2 s to chunk
    (folder / "slow.txt").write_text("\n\n".join([words] * 30))
    (folder / "note.md").write_text("# Note\n\nThe Tirana migration office opened in March 2023.\n")

    options = IngestOptions.from_settings(settings).limits
    reading = replace(options.reading, max_pages=2, max_unpacked_mb=100)
    started = time.monotonic()
    # The default memory limit: at 512 MB the tokenizer itself may run out on the long lines
    # before their 2 s are up (the memory limit has its own test below).
    limits = FileLimits(seconds=2, memory_mb=options.memory_mb, reading=reading)
    summary = ingest(settings, folder, limits=limits)
    elapsed = time.monotonic() - started

    failed = {Path(f.path).name: f.error for f in summary.files_failed}
    assert set(failed) == {"dots.txt", "wide.csv", "pages.pdf", "bomb.docx", "slow.txt"}, failed
    expected = {
        "dots.txt": ("300,021 characters in one line", "IOM_ASSISTANT_MAX_LINE_CHARS"),
        "wide.csv": ("5,001 columns", "IOM_ASSISTANT_MAX_COLUMNS"),
        "pages.pdf": ("3 pages, over the limit of 2", "IOM_ASSISTANT_MAX_PAGES"),
        "bomb.docx": ("600 MB unpacked", "IOM_ASSISTANT_MAX_UNPACKED_MB"),
        "slow.txt": ("longer than 2 s", "IOM_ASSISTANT_FILE_TIMEOUT_S"),
    }
    for name, (limit, setting) in expected.items():
        assert limit in failed[name] and setting in failed[name], (name, failed[name])
    assert summary.files_indexed == 2
    texts = " ".join(text for text, _ in snapshot(settings).values())
    assert "Tirana migration office" in texts and "Budva" in texts
    assert elapsed < 60, elapsed


def test_a_file_over_the_memory_limit_fails_alone(settings: Settings, tmp_path: Path) -> None:
    folder = tmp_path / "bomb"
    folder.mkdir()
    shutil.copy(SEED, folder)
    _docx_bomb(folder / "bomb.docx", inflated_mb=600)
    options = IngestOptions.from_settings(settings).limits
    limits = replace(options, memory_mb=512, reading=replace(options.reading, max_unpacked_mb=10_000))
    summary = ingest(settings, folder, limits=limits)
    [failure] = summary.files_failed
    assert "512 MB" in failure.error and "IOM_ASSISTANT_FILE_MEMORY_MB" in failure.error
    assert summary.files_indexed == 1


def test_files_that_were_slow_to_read_are_read_in_linear_time() -> None:
    """Patterns that rescanned their input from every position: unclosed HTML comments in
    Markdown, a run of dots in a sentence, a CSV header of empty names (each ran for minutes)."""
    from assistant.text import split_sentences
    from ingest.loaders._markdown import markdown_sections

    started = time.monotonic()
    sections, _ = markdown_sections(("<!-- unclosed " + "x" * 20 + "\n") * 12000)  # 420 KB
    assert "unclosed" in sections[0].text
    assert split_sentences("Intro " + "." * 300_000 + " End. Next one.")[-1] == "Next one."
    assert markdown_sections("a <!-- gone --> b <!-- stays")[0][0].text == "a b <!-- stays"
    assert time.monotonic() - started < 5


def _blank_pdf(path: Path, pages: int) -> None:
    from pypdf import PdfWriter

    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(width=595, height=842)
    with path.open("wb") as handle:
        writer.write(handle)


def _docx_bomb(path: Path, inflated_mb: int) -> None:
    """A DOCX whose document.xml is one text run of `inflated_mb` MB, compressed to almost nothing."""
    import zipfile

    types = (
        '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/><Override PartName="/word/document.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>'
    )
    rels = (
        '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Target="word/document.xml" Type="http://schemas.openxmlformats.org/'
        'officeDocument/2006/relationships/officeDocument"/></Relationships>'
    )
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as bomb:
        bomb.writestr("[Content_Types].xml", types)
        bomb.writestr("_rels/.rels", rels)
        with bomb.open("word/document.xml", "w", force_zip64=True) as body:
            body.write(b'<?xml version="1.0"?><w:document xmlns:w="http://schemas.openxmlformats.org/'
                       b'wordprocessingml/2006/main"><w:body><w:p><w:r><w:t>')  # fmt: skip
            for _ in range(inflated_mb):
                body.write(b"a" * (1 << 20))
            body.write(b"</w:t></w:r></w:p></w:body></w:document>")


def test_a_file_that_turns_bad_keeps_its_last_good_chunks(hash_settings: Settings, tmp_path: Path) -> None:
    folder = tmp_path / "c"
    folder.mkdir()
    seed = folder / SEED.name
    shutil.copy(SEED, seed)
    ingest(hash_settings, folder)
    before = snapshot(hash_settings)
    seed.write_bytes(b"\x00\x01\x02" * 1000)
    summary = ingest(hash_settings, folder)
    assert len(summary.files_failed) == 1
    assert snapshot(hash_settings) == before


@pytest.mark.slow
def test_killing_ingest_at_any_moment_converges_to_a_clean_index(
    tmp_path: Path, small_corpus: Path, shared_corpus: Path
) -> None:
    shutil.copy(
        shared_corpus / "iom" / "IOM_EU-IOM_JI_Horn_of_Africa_Final_Evaluation_Abridged_Report_2023.pdf",
        small_corpus,
    )
    shutil.copy(shared_corpus / "iom" / "IOM_Evaluation_Repository_Export_2025-11-13.csv", small_corpus)
    clean = load_settings(index_dir=tmp_path / "clean", embedding_model="hash-256")
    ingest(clean, small_corpus)
    expected = snapshot(clean)

    env = {k: v for k, v in os.environ.items() if not k.startswith("IOM_ASSISTANT_")}
    env |= {"IOM_ASSISTANT_INDEX_DIR": str(tmp_path / "killed"), "IOM_ASSISTANT_EMBEDDING_MODEL": "hash-256"}
    command = [sys.executable, "-m", "assistant.cli", "ingest", str(small_corpus)]
    killed = load_settings(index_dir=tmp_path / "killed", embedding_model="hash-256")
    kills, after_kills = 0, set()
    for delay in (0.8, 1.6, 2.4, 3.2, 4.5, 6.0):
        process = subprocess.Popen(
            command, env=env, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        time.sleep(delay)
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
            kills += 1
            process.wait()
            after_kills.add(AssistantService(killed).health()["status"])
        process.wait()
    assert kills >= 3, "ingest finished too fast to be killed mid-run"
    assert "incomplete" in after_kills, "a cut-short run does not claim a complete index"
    finished = subprocess.run(
        [*command, "--json"], env=env, cwd=REPO, capture_output=True, text=True, check=True
    )
    assert json.loads(finished.stdout)["files_failed"] == []

    assert snapshot(killed) == expected
    assert AssistantService(killed).health()["status"] == "ok"


def test_cli_json_summary_and_strict(hash_settings: Settings, tmp_path: Path) -> None:
    folder = tmp_path / "cli"
    folder.mkdir()
    shutil.copy(SEED, folder)
    (folder / "empty.md").write_bytes(b"")
    env = {k: v for k, v in os.environ.items() if not k.startswith("IOM_ASSISTANT_")}
    env["IOM_ASSISTANT_EMBEDDING_MODEL"] = "hash-256"
    base = [sys.executable, "-m", "assistant.cli", "ingest", str(folder), "--index-dir", str(tmp_path / "ix")]
    result = subprocess.run([*base, "--json"], env=env, cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert SUMMARY_KEYS <= set(summary)
    assert summary["files_seen"] == 2 and summary["files_indexed"] == 1
    assert summary["files_failed"] == [
        {"path": str(folder / "empty.md"), "error": summary["files_failed"][0]["error"]}
    ]
    strict = subprocess.run([*base, "--strict"], env=env, cwd=REPO, capture_output=True, text=True)
    assert strict.returncode == 1
    assert "empty.md" in strict.stdout


def test_a_link_leading_out_of_the_corpus_is_refused(hash_settings: Settings, tmp_path: Path) -> None:
    folder = tmp_path / "linked"
    folder.mkdir()
    shutil.copy(SEED, folder)
    secret = tmp_path / "secret.txt"
    secret.write_text("The secret outside the corpus must never be indexed or served.", encoding="utf-8")
    (folder / "innocent.txt").symlink_to(secret)
    summary = ingest(hash_settings, folder)
    assert [Path(f.path).name for f in summary.files_failed] == ["innocent.txt"]
    assert "outside the corpus" in summary.files_failed[0].error
    assert not any("secret outside" in text for text, _ in snapshot(hash_settings).values())
