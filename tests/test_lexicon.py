"""The bilingual glossary: its files, its look-up, and the bridge consulting it first."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.crosslingual import CrossLingualBridge
from assistant.documents import Chunk
from assistant.embedder import make_embedder
from assistant.lexicon import Lexicon, load_lexicon, parse_lexicon
from assistant.settings import DEFAULT_EMBEDDING_MODEL


def test_entries_are_folded_and_a_bad_line_is_named() -> None:
    entries = parse_lexicon("# Albanian\nvlerësim\tevaluation assessment\n\nkufitare\tborder\n")
    assert entries == {"vleresim": ("evaluation", "assessment"), "kufitare": ("border",)}
    with pytest.raises(ValueError, match="line 2: expected `word<TAB>english words`"):
        parse_lexicon("# Albanian\nvlerësim evaluation\n")


def test_an_inflected_word_is_found_by_its_longest_listed_beginning() -> None:
    lexicon = Lexicon({"vleresim": ("evaluation",), "raport": ("report",), "sa": ("many",)})
    assert lexicon.english("vleresim") == ("evaluation",)
    assert lexicon.english("vleresimeve") == ("evaluation",)  # "of the evaluations"
    assert lexicon.english("raportet") == ("report",)
    assert lexicon.english("raportimeve") == (), "a beginning must cover most of the word"
    assert lexicon.english("sapo") == (), "nor be a short word"


def test_the_shipped_lists_cover_spanish_and_albanian() -> None:
    lexicon = load_lexicon()
    assert len(lexicon) > 4000
    assert lexicon.english("kufitare") == ("border",)  # Albanian
    assert "returnees" in lexicon.english("retornados")  # Spanish
    assert lexicon.english("traite") == (), "no French list: the encoder glosses French"
    assert lexicon.english("erythree") == ("eritrea",), "but place names (CLDR's) in all three"
    assert lexicon.english("greqise") == ("greece",), "Albanian 'of Greece', by its beginning"
    assert "netherlands" not in lexicon.english("paises"), "a word of a longer name is no place"


def test_a_place_agrees_with_its_names_in_the_other_languages() -> None:
    from assistant.lexicon import place_equivalents

    dutch = set(place_equivalents("¿Quién evaluó el proyecto de los Países Bajos en Irak?"))
    assert {("paises", "netherlands"), ("bajos", "netherlands"), ("irak", "iraq")} <= dutch
    assert ("bajos", "bas") in dutch, "the French name, Pays-Bas"
    assert ("dominicaine", "dominican") in place_equivalents("Le dialogue avec la République dominicaine")
    spanish = place_equivalents("¿Entre Haití y la República Dominicana?")
    assert ("dominicana", "dominicaine") in spanish, "a French document names it so"
    assert ("dominican", "dominicaine") in place_equivalents("the Dominican Republic project")
    assert place_equivalents("¿Qué países cubrió la evaluación?") == [], "countries, no place"
    assert ("turquie", "turkey") in place_equivalents("au large de Datça (Turquie)"), "a former name"
    assert ("turkiye", "turkey") in place_equivalents("IOM Türkiye's hotline")


@pytest.mark.integration
def test_the_bridge_glosses_from_the_list_before_the_encoder(tmp_path: Path) -> None:
    text = "The border police meeting was funded by Denmark."
    chunk = Chunk(chunk_id="c", source_id="a.txt", text=text, title="", format="text", ordinal=0)
    embedder = make_embedder(DEFAULT_EMBEDDING_MODEL)
    plain = CrossLingualBridge(embedder, tmp_path)
    listed = CrossLingualBridge(embedder, tmp_path, Lexicon({"kufitare": ("border",)}))
    for bridge in (plain, listed):
        bridge.add([chunk])
    question = "Kush financoi takimin e policisë kufitare?"  # Albanian: who funded the border police meeting
    assert "border" not in plain.gloss(question).translations("kufitare"), "the encoder knows no Albanian"
    assert listed.gloss(question).translations("kufitare") == ["border"]


@pytest.mark.integration
def test_words_the_documents_also_use_get_their_glossary_english_in_a_listed_language(tmp_path: Path) -> None:
    text = "Rights of migrants: derechos de los migrantes. The report was published."
    chunk = Chunk(chunk_id="c", source_id="a.txt", text=text, title="", format="text", ordinal=0)
    bridge = CrossLingualBridge(make_embedder(DEFAULT_EMBEDDING_MODEL), tmp_path,
                                Lexicon({"derechos": ("rights",), "informe": ("report",)}))  # fmt: skip
    bridge.add([chunk])
    spanish = bridge.gloss("¿Qué derechos menciona el informe?")
    assert ("derechos", "rights") in spanish.listed, "a document word, glossed for agreement"
    assert "rights" not in spanish.added, "but not searched"
    assert bridge.gloss("Which derechos did the reprot name?").listed == (), "English with a typo"
