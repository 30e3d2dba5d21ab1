"""Loaders and text cleaning, on the real IOM documents of the shared corpus and on bad files."""

from __future__ import annotations

import functools
import re
import time
import unicodedata
from dataclasses import replace
from pathlib import Path

import pypdf
import pytest

from assistant.documents import Chunk, SourceDocument
from assistant.errors import DocumentError
from evaluation.corpus import DEFAULT_CACHE
from ingest.cleaning import decode_text, normalize_text
from ingest.loaders import SUPPORTED_EXTENSIONS, load_document
from ingest.navigation import strip_navigation
from ingest.reflow import is_contents_page, join_hyphenated, reflow_lines, running_line_keys
from tests.conftest import REPO

pytestmark = pytest.mark.unit

CORPUS = DEFAULT_CACHE  # the locked evaluation documents, which `make corpus` puts there
IOM = CORPUS / "iom"
SEED = REPO / "corpus" / "iom-albania-heads-of-border-police-western-balkans-2022.txt"
AAP_REPORT = IOM / "IOM_CED_Evaluation_Accountability_to_Affected_Populations_Report_2024.pdf"
AAP_BRIEF = IOM / "IOM_CED_Evaluation_Accountability_to_Affected_Populations_Brief_2024.pdf"
META_REPORT = IOM / "IOM_CED_Meta-evaluation_of_IOM_Evaluations_2020-2024_Report_2025.pdf"
HOA_REPORT = IOM / "IOM_EU-IOM_JI_Horn_of_Africa_Final_Evaluation_Abridged_Report_2023.pdf"
HOA_MATRIX = IOM / "IOM_EU-IOM_JI_Horn_of_Africa_Management_Response_Matrix_2023.pdf"
FRENCH_PDF = IOM / "OIM_PNUD_Haiti-RD_Dialogue_Binational_Resume_Evaluation_FR_2025.pdf"
AAP_RESPONSE = IOM / "IOM_AAP_Evaluation_Management_Response_2024.docx"
TERMS_DOCX = IOM / "IOM_HTCDS_Terms_of_Use_2020.docx"
GLOSSARY_MD = IOM / "IOM_HTCDS_Guidance_Migration_and_International_Protection.md"
MISSING_MIGRANTS = IOM / "IOM_Missing_Migrants_Project_Global_Incidents_export_2021-09-05.csv"
REPOSITORY_CSV = IOM / "IOM_Evaluation_Repository_Export_2025-11-13.csv"
RDH_CASE_STUDY = IOM / "IOM_Migration_Data_Strategy_Evaluation_Case_Study_Asia-Pacific_RDH_2025.pdf"

CORPUS_FILES = sorted([SEED, *(p for p in CORPUS.rglob("*") if p.is_file())])
LONG_REPORTS = {AAP_REPORT, META_REPORT}
# The pages that list contents, figures or tables with dot leaders, read off the PDFs.
CONTENTS_PAGES = {AAP_REPORT: {4}, META_REPORT: {5, 6, 7, 8}, HOA_REPORT: {3}, RDH_CASE_STUDY: {2}}


@functools.cache
def timed_load(path: Path) -> tuple[SourceDocument, float]:
    """Each corpus file is loaded once per test session; the seconds it took come along."""
    started = time.perf_counter()
    doc = load_document(path, path.relative_to(path.parent.parent).as_posix())
    return doc, time.perf_counter() - started


def load(path: Path) -> SourceDocument:
    return timed_load(path)[0]


def lines_of(doc: SourceDocument) -> list[str]:
    return [line for section in doc.sections for line in section.text.split("\n")]


# --- every corpus file ------------------------------------------------------------------------


def test_the_shared_corpus_is_there() -> None:
    assert len(CORPUS_FILES) == 17, f"expected the seed article and 16 IOM documents in {CORPUS}: make corpus"
    assert {p.suffix for p in CORPUS_FILES} <= SUPPORTED_EXTENSIONS


@pytest.mark.parametrize(
    "path",
    [pytest.param(p, marks=pytest.mark.slow) if p in LONG_REPORTS else p for p in CORPUS_FILES],
    ids=lambda p: p.name,
)
def test_every_corpus_file_loads_as_clean_text(path: Path) -> None:
    doc = load(path)
    assert doc.sections, "no sections"
    assert doc.title.strip() and "\n" not in doc.title and len(doc.title) <= 201
    assert doc.format in {"pdf", "docx", "markdown", "text", "csv"}
    for section in doc.sections:
        assert section.text.strip(), "empty section"
        assert section.text == unicodedata.normalize("NFC", section.text)
        assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f\u00ad]", section.text), "control character left"
        assert "  " not in section.text
    if doc.format == "pdf":
        assert doc.pages and all(1 <= (s.page or 0) <= doc.pages for s in doc.sections)
        numbers = [s.page or 0 for s in doc.sections]
        assert numbers == sorted(numbers), "sections out of page order"


def test_pdf_page_and_section_counts() -> None:
    brief = load(AAP_BRIEF)
    assert brief.pages == 2
    assert [s.page for s in brief.sections] == [1, 2]
    matrix = load(HOA_MATRIX)
    assert matrix.pages == 8
    assert load(IOM / "IOM_CED_Meta-evaluation_2020-2024_Brief_2025.pdf").published == "2025-07"


@pytest.mark.slow
def test_long_reports_load_in_reasonable_time() -> None:
    for path, pages, limit in ((AAP_REPORT, 95, 30.0), (META_REPORT, 143, 60.0)):
        doc, seconds = timed_load(path)
        assert seconds < limit, f"{path.name} took {seconds:.1f} s"
        assert doc.pages == pages
        contents = CONTENTS_PAGES[path]
        assert {s.page for s in doc.sections} >= set(range(2, pages + 1)) - {5} - contents


@pytest.mark.slow
def test_tables_of_contents_are_dropped_and_the_pages_they_list_kept() -> None:
    for path, contents in CONTENTS_PAGES.items():
        doc = load(path)
        pages = {s.page for s in doc.sections}
        assert not pages & contents, f"{path.name}: contents pages {sorted(pages & contents)} kept"
        assert not [line for line in lines_of(doc) if "....." in line], f"{path.name}: dot leaders left"
        assert pages >= set(range(min(contents) + 1, max(contents) + 4)) - contents
    assert "A mixed methods approach" in load(AAP_REPORT).text  # the chapter, not its entry


def test_contents_rule_needs_a_page_of_leaders_not_a_form_field() -> None:
    toc = [
        "CONTENTS",
        "1. Introduction ........ 3",
        "2. Background .......... 4",
        "2.1. Context",
        "3. Findings . . . . . . 9",
    ]
    assert is_contents_page(toc)
    form = [
        "Evaluation brief",
        "Name: ..........",
        "Date: 12 May 2023",
        "Signed: ..........",
        "Office: Geneva",
    ]
    assert not is_contents_page(form)
    assert not is_contents_page(["He paused... and left.", "Then more ... text."] * 3)


# --- the seed news article --------------------------------------------------------------------


def test_seed_article_loses_site_navigation_and_keeps_every_sentence() -> None:
    doc = load(SEED)
    assert doc.format == "text"
    assert doc.title.startswith(
        "IOM organized the meeting of the Heads of Border Police in the Western Balkans"
    )
    assert doc.sections[0].text.startswith("Budva – On June 14 and 15, 2022, the International Organization")
    assert "June 14 and 15, 2022" in doc.text
    assert doc.published == "2022-06-14"
    kept = set(lines_of(doc))
    for navigation in (
        "Who We Are",
        "About",
        "IOM Global",
        "- Data and Resources",
        "- Take Action",
        "Our Work",
        "Cross-cutting (Global)",
        "-",
        "- 2030 Agenda",
    ):
        assert navigation not in kept
    assert "WHO WE ARE" not in doc.text and "IOM has had a presence in Albania since 1992" not in doc.text
    raw = SEED.read_text(encoding="utf-8").split("\n")
    article = raw[raw.index(next(line for line in raw if line.startswith("Budva"))) :]
    for line in filter(None, (normalize_text(line) for line in article)):
        assert line in doc.text


# --- PDF cleaning -----------------------------------------------------------------------------


@pytest.mark.slow
def test_aap_report_page_numbers_are_gone_and_pages_are_right() -> None:
    doc = load(AAP_REPORT)
    assert doc.title == "Evaluation of IOM Accountability to Affected Populations"
    assert doc.published == "2024-12"
    assert not [line for line in lines_of(doc) if re.fullmatch(r"\d{1,3}", line)], "bare page numbers left"
    page = {s.page: s.text for s in doc.sections if not s.is_table}
    assert page[11].startswith(
        "The evaluation did not focus on the implementation of AAP within specific projects."
    )
    assert "\nMethodology\nA mixed methods approach" in page[11]
    assert page[12].startswith("a continuous examination of pertinent documents")


def test_running_headers_and_footers_are_removed() -> None:
    brief = load(AAP_BRIEF)
    assert "Route des Morillons" not in brief.text, "Geneva address footer left"
    assert "EVALUATION BRIEF" not in lines_of(brief)
    report = load(HOA_REPORT)
    header = (
        "Final Evaluation for EU-IOM Joint Initiative for Migrant Protection and Reintegration "
        "in the Horn of Africa"
    )
    assert lines_of(report).count(header) == 0
    assert report.published == "2023-03-17"


def test_hyphenation_across_lines_is_repaired() -> None:
    text = load(AAP_BRIEF).text
    assert "by taking account of, giving account to, and being held to account" in text
    assert "emergency operations leaves many unclear" in text
    assert not re.search(r"\b(?:emergen|ac|tak|Organiza)-\s", text)


def test_lines_are_reflowed_into_paragraphs_and_bullets_kept() -> None:
    text = load(AAP_BRIEF).text
    assert (
        "This evaluation brief presents a summary of the key findings, conclusions, and recommendations, "
        "as identified by the evaluator(s) for use by key stakeholders"
    ) in text
    numbered = [line for line in text.split("\n") if re.match(r"[1-5]\. ", line)]
    assert len(numbered) == 5 and numbered[0].startswith("1. Clarify that the scope and applicability of AAP")


def test_management_response_matrix_pdf_tables_become_rows() -> None:
    doc = load(HOA_MATRIX)
    tables = [s for s in doc.sections if s.is_table]
    assert {s.page for s in tables} == set(range(2, 9))
    rows = lines_of(doc)
    assert any(
        row.startswith("Key action | Time frame or deadline | Responsible individual or unit(s)")
        for row in rows
    )
    assert any(
        row.startswith("Evaluation recommendation 1: Enhance efforts with national, regional") for row in rows
    )
    assert "Management Response Matrix" in doc.title


def test_french_pdf_keeps_its_accents() -> None:
    doc = load(FRENCH_PDF)
    assert "RENFORCEMENT DU DIALOGUE BINATIONAL ENTRE HAÏTI ET LA RÉPUBLIQUE DOMINICAINE" in doc.title
    assert "Évaluation finale indépendante" in doc.text and "évaluation" in doc.text
    assert "Ã" not in doc.text and "\ufffd" not in doc.text
    assert doc.published == "2025-06-01"


# --- DOCX -------------------------------------------------------------------------------------


def test_management_response_docx_rows_are_sections_per_recommendation() -> None:
    doc = load(AAP_RESPONSE)
    assert doc.published == "2024-12"
    assert doc.title == "MANAGEMENT RESPONSE AND ACTION PLAN MATRIX"
    assert not doc.sections[0].is_table and "Sara M. Basha" in doc.sections[0].text
    blocks = [s for s in doc.sections if s.is_table]
    assert [s.heading for s in blocks] == [
        f"Evaluation recommendation # {n}" for n in range(1, len(blocks) + 1)
    ]
    assert len(blocks) == 9
    first = blocks[0].text.split("\n")
    assert len(first) == 5
    assert first[0].startswith("Evaluation recommendation # 1: The AAP team should clarify")
    assert first[1] == "Responsible unit(s): AAP Unit"
    assert first[2].startswith("Management response - accept/partially accept/reject: AAP unit accepts")


def test_docx_bold_paragraphs_become_headings() -> None:
    doc = load(TERMS_DOCX)
    assert doc.title == "TERMS AND CONDITIONS OF USE"
    headings = {s.heading for s in doc.sections}
    assert {"Scope", "Intellectual Property", "Disclaimer"} <= headings


# --- Markdown ---------------------------------------------------------------------------------


def test_markdown_tables_are_rows_and_headings_are_sections() -> None:
    doc = load(GLOSSARY_MD)
    assert doc.title == "Migration and International Protection"
    tables = [s for s in doc.sections if s.is_table]
    assert {s.heading for s in tables} >= {"Migrant Type", "International Protection"}
    rows = tables[0].text.split("\n")
    assert rows[0].startswith("Value: Family Migrant | Definition: ")
    assert "|--" not in doc.text and "**" not in doc.text


def test_markdown_inline_syntax_becomes_plain_text(tmp_path: Path) -> None:
    path = tmp_path / "note.md"
    path.write_text(
        "---\ntitle: Field note\n---\n\nIntro line.\n\nSetext Heading\n==============\n\n"
        'Some **bold** and _italic_ text with a [link](https://iom.int "IOM") and `code`.\n'
        "A soft-wrapped\nline.\n\n- item one\n- item two\n\n| A | B |\n|---|---|\n| 1 | 2 |\n",
        encoding="utf-8",
    )
    doc = load_document(path, "note.md")
    assert doc.title == "Field note"
    body = doc.sections[1]
    assert body.heading == "Setext Heading"
    assert "Some bold and italic text with a link and code." in body.text
    assert "A soft-wrapped line." in body.text
    assert "- item one\n- item two" in body.text
    assert doc.sections[2].is_table and doc.sections[2].text == "A | B\n1 | 2"


# --- CSV --------------------------------------------------------------------------------------


def test_missing_migrants_csv_is_one_section_per_row_and_fast() -> None:
    started = time.perf_counter()
    doc = load_document(MISSING_MIGRANTS, MISSING_MIGRANTS.name)
    assert time.perf_counter() - started < 2.0
    assert len(doc.sections) == 8810
    assert all(s.is_table for s in doc.sections)
    first = doc.sections[0]
    assert first.heading == "Row 1"
    assert first.text.startswith("Web ID: 58641\nRegion: North Africa\nReported Date: August 31, 2021")
    assert "Number of Females:" not in first.text, "empty values are skipped"


def test_repository_csv_handles_bom_and_multiline_fields() -> None:
    doc = load(REPOSITORY_CSV)
    assert len(doc.sections) == 734
    first = doc.sections[0]
    assert first.heading == "EVALUATION OF IOM’S MIGRATION DATA STRATEGY"
    assert first.text.startswith("Title: EVALUATION OF IOM’S MIGRATION DATA STRATEGY\nYear: 2025")
    assert all(line.split(": ", 1)[0] for s in doc.sections for line in s.text.split("\n"))
    assert "\ufeff" not in doc.text


def test_csv_dialect_ragged_rows_and_multiline_fields(tmp_path: Path) -> None:
    path = tmp_path / "offices.csv"
    path.write_bytes(
        '\ufeffName;Country;Notes\nIOM Tirana;Albania;"opened\nin 1992"\n'
        "IOM Budva;Montenegro;;extra\n".encode()
    )
    doc = load_document(path, "offices.csv")
    assert [s.heading for s in doc.sections] == ["IOM Tirana", "IOM Budva"]
    assert doc.sections[0].text == "Name: IOM Tirana\nCountry: Albania\nNotes: opened in 1992"
    assert doc.sections[1].text == "Name: IOM Budva\nCountry: Montenegro\nColumn 4: extra"


def test_a_record_is_embedded_by_its_worded_fields_and_searched_by_all() -> None:
    """Counts, codes, bare dates, coordinates and links of a CSV row are left to word search: the
    embedder reads the fields that carry meaning, about half the encoder's time on the corpus."""
    doc = load_document(MISSING_MIGRANTS, MISSING_MIGRANTS.name)
    row = doc.sections[0]
    chunk = Chunk("c1", doc.source_id, row.text, doc.title, doc.format, 0, heading=row.heading)
    embedded = chunk.embedding_text().splitlines()
    assert embedded[:2] == ["Region: North Africa", "Reported Date: August 31, 2021"], embedded
    assert "Cause of Death: Presumed drowning" in embedded
    left_out = ("Web ID", "Number Dead", "Location Coordinates")
    assert not [line for line in embedded if line.startswith(left_out)]
    searched = chunk.searchable_text()
    assert searched.startswith(f"{doc.title} — Row 1\nWeb ID: 58641")
    assert "Number Dead: 2" in searched
    prose = replace(chunk, format="pdf")
    assert prose.embedding_text() == prose.searchable_text()


def test_csv_with_a_header_and_no_rows_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    path.write_text("a,b,c\n\n", encoding="utf-8")
    with pytest.raises(DocumentError, match="no rows"):
        load_document(path, "empty.csv")


# --- HTML -------------------------------------------------------------------------------------


def test_html_main_content_title_date_and_canonical_url(tmp_path: Path) -> None:
    paragraph = (
        "IOM supported the returnees with reintegration assistance in their communities of origin, "
        "working with local authorities and partners to provide housing, training and psychosocial care. "
    )
    path = tmp_path / "news.html"
    path.write_text(
        "<html><head><title>Returnees supported | IOM</title>"
        '<link rel="canonical" href="https://www.iom.int/news/returnees-supported">'
        '<meta property="article:published_time" content="2024-03-17"></head><body>'
        "<nav><ul><li>Who We Are</li><li>Our Work</li><li>Data and Resources</li></ul></nav>"
        f"<article><h1>Returnees supported</h1><p>{paragraph * 3}</p>"
        f"<h2>Next steps</h2><p>{paragraph}</p></article>"
        "<footer>© 2024 International Organization for Migration. Privacy policy.</footer></body></html>",
        encoding="utf-8",
    )
    doc = load_document(path, "news.html")
    assert doc.format == "html"
    assert doc.url == "https://www.iom.int/news/returnees-supported"
    assert "Returnees supported" in doc.title
    assert doc.published == "2024-03-17"
    assert "IOM supported the returnees" in doc.text
    assert "Who We Are" not in doc.text and "Privacy policy" not in doc.text


# --- bad files --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["empty.pdf", "empty.docx", "empty.txt", "empty.md", "empty.csv", "empty.html"]
)
def test_empty_files_are_errors(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(b"")
    with pytest.raises(DocumentError, match="file is empty"):
        load_document(path, name)


def test_whitespace_only_text_is_empty(tmp_path: Path) -> None:
    path = tmp_path / "blank.txt"
    path.write_text(" \n\t\n  \n", encoding="utf-8")
    with pytest.raises(DocumentError, match="file is empty"):
        load_document(path, "blank.txt")


@pytest.mark.parametrize("name", ["junk.txt", "junk.md", "junk.csv"])
def test_binary_data_named_as_text_is_an_error(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(bytes(range(256)) * 8)
    with pytest.raises(DocumentError, match="not text: looks like binary data"):
        load_document(path, name)


def test_windows_1252_text_is_decoded(tmp_path: Path) -> None:
    path = tmp_path / "legacy.txt"
    path.write_bytes("Caf\u00e9 meeting \u2013 \u201cmigration\u201d costs 5 \u20ac.\n".encode("cp1252"))
    doc = load_document(path, "legacy.txt")
    assert doc.text == "Café meeting – “migration” costs 5 €."


def test_utf8_bom_and_crlf_are_removed(tmp_path: Path) -> None:
    path = tmp_path / "bom.txt"
    path.write_bytes("\ufeffFirst paragraph here.\r\nSecond paragraph.\r\n".encode())
    doc = load_document(path, "bom.txt")
    assert doc.text == "First paragraph here.\nSecond paragraph."


def test_unknown_extension_names_it_and_the_supported_ones(tmp_path: Path) -> None:
    path = tmp_path / "slides.pptx"
    path.write_bytes(b"PK\x03\x04")
    with pytest.raises(DocumentError, match=r"'\.pptx'.*\.csv, \.docx, .*\.pdf"):
        load_document(path, "slides.pptx")


def test_extension_case_and_unusual_file_names(tmp_path: Path) -> None:
    path = tmp_path / "Évaluation finale – résumé (2024) v2.TXT"
    path.write_text("Résumé des constatations de l’évaluation finale.\n", encoding="utf-8")
    doc = load_document(path, path.name)
    assert doc.title == "Évaluation finale – résumé (2024) v2"
    assert doc.text == "Résumé des constatations de l’évaluation finale."


def test_encrypted_pdf_is_an_error_unless_the_password_is_empty(tmp_path: Path) -> None:
    locked, open_lock = tmp_path / "locked.pdf", tmp_path / "open.pdf"
    for path, password in ((locked, "secret"), (open_lock, "")):
        writer = pypdf.PdfWriter(clone_from=FRENCH_PDF)
        writer.encrypt(user_password=password, owner_password="owner", algorithm="AES-128")
        with path.open("wb") as out:
            writer.write(out)
    with pytest.raises(DocumentError, match="encrypted PDF: remove the password"):
        load_document(locked, "locked.pdf")
    assert "Haïti" in load_document(open_lock, "open.pdf").text


def test_truncated_and_corrupted_pdfs_are_errors(tmp_path: Path) -> None:
    data = AAP_BRIEF.read_bytes()
    truncated = tmp_path / "truncated.pdf"
    truncated.write_bytes(data[: len(data) // 2])
    with pytest.raises(DocumentError, match="truncated PDF"):
        load_document(truncated, "truncated.pdf")
    corrupted = tmp_path / "corrupted.pdf"
    corrupted.write_bytes(b"%PDF-1.7\n" + bytes(range(256)) * 20 + b"\n%%EOF\n")
    with pytest.raises(DocumentError, match="PDF"):
        load_document(corrupted, "corrupted.pdf")
    not_pdf = tmp_path / "renamed.pdf"
    not_pdf.write_text("just text", encoding="utf-8")
    with pytest.raises(DocumentError, match="not a PDF"):
        load_document(not_pdf, "renamed.pdf")


def test_pdf_without_text_needs_ocr(tmp_path: Path) -> None:
    writer = pypdf.PdfWriter()
    writer.add_blank_page(width=595, height=842)
    path = tmp_path / "scan.pdf"
    with path.open("wb") as out:
        writer.write(out)
    with pytest.raises(DocumentError, match="needs OCR"):
        load_document(path, "scan.pdf")


def test_broken_docx_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "broken.docx"
    path.write_bytes(AAP_RESPONSE.read_bytes()[:5000])
    with pytest.raises(DocumentError, match="not a readable DOCX"):
        load_document(path, "broken.docx")


def test_missing_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(DocumentError, match="file not found"):
        load_document(tmp_path / "gone.md", "gone.md")


# --- cleaning functions -----------------------------------------------------------------------


def test_normalize_text_nfc_controls_and_spaces() -> None:
    assert (
        normalize_text("Cafe\u0301\x07 \u00a0 du\u00adring\u200b  ﬁeld\r\n\n\n\nnext ")
        == "Café during field\n\nnext"
    )


def test_hyphenation_rule() -> None:
    assert join_hyphenated("the informa-", "tion is") == "the information is"
    assert join_hyphenated("their well-", "being") == "their well-being"
    assert join_hyphenated("the EU-", "IOM Joint") == "the EU-IOM Joint"
    assert join_hyphenated("rights-", "based", {"rights-based"}) == "rights-based"
    assert join_hyphenated("co-", "operation", {"cooperation"}) == "cooperation"
    assert join_hyphenated("ends here", "Next") == "ends here Next"


def test_reflow_keeps_headings_bullets_and_paragraph_breaks() -> None:
    wrapped = [
        "The evaluation employed the six standard criteria of the OECD Development",
        "Assistance Committee and a mixed methods approach across the case study",
        "countries and regions.",
        "Methodology",
        "• Desk review of documents",
        "• Interviews",
        "",
        "A new paragraph starts here with text that runs to the end of the line and",
        "continues.",
    ]
    assert reflow_lines(wrapped) == [
        "The evaluation employed the six standard criteria of the OECD Development Assistance Committee "
        "and a mixed methods approach across the case study countries and regions.",
        "Methodology",
        "• Desk review of documents",
        "• Interviews",
        "A new paragraph starts here with text that runs to the end of the line and continues.",
    ]


def test_a_line_ending_in_an_article_or_preposition_goes_on() -> None:
    """A short line that ends in "a", "the" or "of" cannot end a paragraph, even when the next line
    starts with a capital: "IOM has established a" / "Telegram channel"."""
    wrapped = [
        "The evaluation employed the six standard criteria of the OECD Development",
        "Assistance Committee.",
        "In the Republic of Moldova, IOM has established a",
        "Telegram channel and a dedicated AAP officer.",
    ]
    assert reflow_lines(wrapped)[-1] == (
        "In the Republic of Moldova, IOM has established a Telegram channel and a dedicated AAP officer."
    )


def test_running_lines_need_repetition_at_page_edges() -> None:
    pages = [["Header of the report", f"Body text {n} that differs", str(n)] for n in range(1, 9)]
    keys = running_line_keys(pages)
    assert "header of the report" in keys and "#" in keys
    assert running_line_keys([["Only one page"]]) == frozenset()


def test_navigation_rule_keeps_a_lone_title_and_plain_documents() -> None:
    article = ["Annual Report", "This is the first paragraph of the report.", "Second paragraph."]
    assert strip_navigation(article) == article
    menu = ["Home", "Home", "- News", "- Contact", "Budget cuts hit the programme in 2024.", "More text."]
    assert strip_navigation(menu) == menu[4:]
    footer = ["Body sentence one.", "Body sentence two.", "Follow us", "© 2024 IOM", "Privacy policy"]
    assert strip_navigation(footer) == footer[:2]


def test_decode_text_rejects_undecodable_bytes() -> None:
    assert decode_text("naïve".encode("utf-16")) == "naïve"
    with pytest.raises(DocumentError, match="not valid UTF-8"):
        decode_text(b"text with C1 bytes \x81\x8d\x8f\x90\x9d" * 20)
