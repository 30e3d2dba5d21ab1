"""The answer-or-refuse rule: kinds of fact, the question's entities, the fitted model."""

from __future__ import annotations

import json
from importlib import resources

import pytest

from assistant.answering.agreement import (
    disagreeing,
    missing_entities,
    off_document,
    question_entities,
    unknown_entities,
)
from assistant.answering.decision import (
    Evidence,
    decide,
    load_decision_model,
    refusal_reason,
    word_coverage,
)
from assistant.answering.facts import asked_parts, holds, person_name, wanted_kind
from assistant.answering.fitted import DECISION, LogisticModel
from assistant.answering.numbers import asks_percentage, counted_words, counts_asked
from assistant.crosslingual import Gloss
from assistant.documents import Chunk
from assistant.lexical import LexicalIndex

pytestmark = pytest.mark.unit


def test_the_kind_of_fact_asked_in_four_languages() -> None:
    assert wanted_kind("When did IOM organize the meeting?") == "date"
    assert wanted_kind("What should staff include when using HTCDS materials?") is None
    assert wanted_kind("¿Cuándo se celebró la reunión?") == "date"
    assert wanted_kind("Combien de personnes ont été interrogées ?") == "number"
    assert wanted_kind("What was the budget of the evaluation?") == "amount"
    assert wanted_kind("Kush e financoi takimin?") == "name"
    assert wanted_kind("And when was it founded?") == "date"
    assert wanted_kind("Et le rapport final, il date de quand ?") == "date"
    assert wanted_kind("What is the date of publication, and who wrote it?") == "day"
    assert wanted_kind("¿Cuál es la fecha del informe final?") == "day"


def test_a_fact_of_the_kind_asked_is_not_the_questions_own() -> None:
    count = "How many participants attended the meeting in Budva in June 2022?"
    assert not holds("number", "On June 14 and 15, 2022, IOM organized a meeting in Budva.", count)
    assert holds("number", "The meeting brought together 45 participants.", count)
    assert holds("number", "A hotline in five languages.", "In how many languages does it run?")
    assert not holds("amount", "The budget covered 2017 to 2022.", "What was the budget?")
    when = "When did the evaluation start in 2023?"
    assert not holds("date", "The evaluation of 2023 was led by PPMI.", when), "the question's own year"
    assert holds("date", "Data collection began on 3 March 2023.", when)
    question = "How many people returned in 2022?"
    assert not holds("number", "In 2022 the office reopened.", question), "a year is not a count"
    assert holds("number", "In 2022, 2,429 people returned.", question)
    assert holds("amount", "Budget: EUR 64.7 million", "What was the budget?")
    assert not holds("date", "The meeting took place in 2022.", "What happened in 2022?")
    on_a_day = "How many survivors were recorded on 31 August 2021?"
    assert holds("number", "Number of Survivors: 31", on_a_day), "the question's day is not a count"
    assert not holds("number", "Reported Date: August 31, 2021", on_a_day)


def test_a_question_asking_several_things_is_read_as_its_parts() -> None:
    two = asked_parts("Who led the evaluation, and who led its Ethiopia case study?")
    assert two == ["who led the evaluation", "who led its ethiopia case study?"]
    assert [wanted_kind(p) for p in asked_parts("¿Quién la realizó y en qué fechas fueron las visitas?")] == [
        "name",
        "day",
    ]
    assert len(asked_parts("Sa raporte u shqyrtuan dhe nga sa raporte u zgjodhën?")) == 2
    assert asked_parts("What did Bosnia and Herzegovina agree?") == ["what did bosnia and herzegovina agree?"]


def test_a_name_with_accents_is_a_name() -> None:
    question = "Qui a mené l'évaluation finale du projet ?"
    assert holds("name", "Type d'évaluation : finale. Évaluateur(s) : Célestin SIKUBE", question)


def test_a_name_answers_only_when_the_question_does_not_say_it_and_no_month_is_a_name() -> None:
    question = "Who carried out the Budva meeting report?"
    assert not holds("name", "The report on the Meeting in Budva was carried out in February 2025.", question)
    assert holds("name", "The report was carried out by Artival Research in February 2025.", question)


def test_a_footnote_mark_is_no_count() -> None:
    question = "How many staff positions were cut?"
    assert not holds("number", "a reduction of staff was found.31 In general, informants agreed", question)
    assert not holds("number", "an important responsibility 30 According to IOM officers", question)
    assert not holds("number", "1 Formal title: Facility on Sustainable and Dignified Return", question)
    assert holds("number", "12 KIIs were held in Türkiye.", question), "a count opening a sentence"
    assert not holds("number", "Checklist for protection during COVID-19.", question), "a name's number"
    assert not holds("number", "Instruction IN/285 applies.", question), "a code's number"
    assert not holds("number", "as in Security Council Resolution 1244 (1999).", question), "a label"
    assert holds("number", "Figure 8 shows that 40 positions were cut.", question)
    assert holds("number", "The office cut 30 positions.", question)
    assert holds("number", "In total 45 In-person interviews were held.", question)
    address = "Organisation internationale pour les migrations, Rue E. Pierre, 11, Tabarre 27, Port-au-Prince"
    assert not holds("number", address, question), "an address's numbers"
    assert not holds("number", "1 – using common terminology for case data.", question), "a list item's"
    assert not holds("number", "38 | 2021 | RP.0110 | Final evaluation", question), "a row's and a code's"
    assert holds("number", "Ethiopia | 221 | 745", question)
    assert holds("number", "The office on Main Street hired 40 staff; 30 positions were cut.", question)


def test_a_date_or_a_records_identifier_coordinates_or_rating_is_no_count() -> None:
    question = "How many pages is the report, and how many migrants died?"
    assert not holds("number", "Date of Publication: 2025-03-28", question), "an ISO date's day and month"
    assert not holds("number", "Fecha: 28/03/2025", question), "a day written with slashes"
    assert not holds("number", "Web ID: 48124", question), "a record's identifier"
    assert not holds("number", "Location Coordinates: 41.730953900000, 26.081781400000", question)
    assert not holds("number", "Source Quality: 1", question), "a rating"
    assert holds("number", "Number of Pages Excluding annexes: 41", question)
    assert holds("number", "Number Dead: 2", question)
    assert holds("date", "Date of Publication: 2025-03-28", "When was it published?")
    for day in ("Date of Publication: 2025-03-28", "Fecha: 28/03/2025"):  # one pattern for both kinds
        assert holds("day", day, "On what day was it published?")


def test_a_count_question_is_answered_by_a_number_beside_one_of_its_words() -> None:
    question = "How many calls did the IOM hotline in Ukraine receive?"
    assert counted_words(question) == ["calls", "hotline", "receive"], "without names or asking words"
    assert counted_words("Combien d'appels la ligne a-t-elle reçus ?")[:1] == ["appels"]
    assert counted_words("When did the hotline open?") == [], "no count asked"
    assert counted_words("What percentage of respondents were satisfied?") == ["respondents", "satisfied"]
    counted = {"call", "hotlin", "receiv"}
    assert counts_asked("The hotline received a total of 1,433 calls in 2022.", counted)
    assert counts_asked("Number of calls: 1433", counted), "a record field"
    assert not counts_asked("30 informants were interviewed in Kyiv.", counted), "a count of something else"
    assert not counts_asked("Date of Publication: 2023-02-20", counted), "a date counts nothing"
    assert not counts_asked("Calls were answered by 12 staff.", counted), "a number beside other words"
    assert not counts_asked("In the words of one survey respondent, complaints remain.", counted)
    assert asks_percentage("What percentage of callers were women?")
    assert not counts_asked("56 per cent of calls were received at night.", counted), "a share is no count"
    assert counts_asked("56 per cent of calls were received at night.", counted, percentage=True)
    assert not counts_asked("The hotline received 1,433 calls.", counted, percentage=True), (
        "a count is no share"
    )


def test_when_asks_for_a_date_at_the_head_of_a_clause_not_as_a_conjunction() -> None:
    assert wanted_kind("Selon le rapport, quand a eu lieu la réunion ?") == "date"
    assert wanted_kind("Según el informe, ¿cuándo se celebró?") == "date"
    assert wanted_kind("Kur u mbajt takimi?") == "date"
    conjunction = "Çfarë mundësie duhet të ekzistojë kur të kthyerit nuk mund të punësohen?"
    assert wanted_kind(conjunction) != "date"
    assert wanted_kind("¿Qué se hace cuando llegan los migrantes?") != "date"


def test_what_date_asks_for_a_day_or_a_month_not_a_year() -> None:
    question = "On what date was the final debriefing workshop held?"
    assert wanted_kind(question) == "day"
    assert wanted_kind("¿En qué fecha se celebró el taller?") == "day"
    assert not holds("day", "The framework covers the period 2018-2030.", question)
    assert holds("day", "The workshop was held on 14 June 2022 in Nairobi.", question)
    assert holds("day", "The final report is dated March 2023.", question)
    assert holds("day", "Date of publication: 13/11/2025", question)


def test_a_person_asked_by_their_role_is_answered_by_a_rare_name() -> None:
    for question in (
        "Which Montenegrin minister opened the meeting?",
        "What is the name of the consultant hired to revise the instruction?",
        "Who is the current Director General of IOM?",
        "¿Quién es el jefe de misión de la OIM en Haití?",
        "Quel est le nom du consultant ?",
        "Si quhet Koordinatori i Qendrës Rajonale?",  # Albanian: what is the coordinator called
        "¿Cómo se llama la coordinadora del proyecto?",
    ):
        assert wanted_kind(question) == "person", question
    assert wanted_kind("Who funded the project?") == "name", "an organisation may answer"
    filler = [f"The Protection Division of the United Nations met in round {n}." for n in range(400)]
    stats = documents("Laura Boucsein is the programme coordinator.", *filler)
    rare = person_name(stats)
    question = "Who is the programme coordinator?"
    assert holds("person", "Laura Boucsein is the programme coordinator.", question, rare)
    assert not holds("person", "The Protection Division of the United Nations met.", question, rare)
    assert not holds("person", "The coordinator reports to the Division.", question, rare)
    stats = documents("Delegations from Bosnia and Herzegovina met.", *filler)
    assert not holds("person", "Delegations from Bosnia and Herzegovina met.", question, person_name(stats))


def test_a_person_asked_by_their_role_is_one_named_beside_that_role() -> None:
    """The Team Leader quoted in the seed article is not the minister the question asks for."""
    question = "Which Montenegrin minister opened the meeting in Budva?"
    assert not holds("person", "declared Donatella Bradić, IOM’s Team Leader.", question)
    assert holds("person", "The meeting was opened by the Minister of Interior, Filip Adžić.", question)
    spanish = "¿Quién fue el evaluador del proyecto?"
    assert holds("person", "Author: Sebastián León Giraldo", spanish), "a report's author is its evaluator"
    assert holds("person", "Lead evaluator: Melissa Andrade Costa", spanish)
    assert not holds("person", "Donor: Government of Colombia", spanish)


def passage_of(text: str, source_id: str, format: str = "text", title: str = "") -> Chunk:
    return Chunk(chunk_id="p", source_id=source_id, text=text, title=title, format=format, ordinal=0)


def documents(*texts: str) -> LexicalIndex:
    index = LexicalIndex()
    index.add(
        Chunk(chunk_id=str(i), source_id=f"doc-{i}.txt", text=t, title="", format="text", ordinal=0)
        for i, t in enumerate(texts)
    )
    return index


STATS = documents(
    "In 2023, the office in Ethiopia received 300 complaints under instruction IN/285 of IOM.",
    "The Dialogue system in Türkiye was funded by Denmark. The meeting took place in Budva.",
)


def test_entities_are_names_acronyms_years_and_numbers() -> None:
    entities = question_entities(
        "What did IOM Ethiopia report on complaints in 2023 under IN/285?", None, STATS
    )
    assert entities == ["IOM", "Ethiopia", "2023", "IN/285"]
    assert question_entities("Who funded the meeting?", None, STATS) == [], "the opening word is no entity"
    assert question_entities("Which Division did the Meeting fund?", None, STATS) == ["Division"], (
        "a word the documents write in lower case inside sentences is no name; one they never hold may be"
    )


def test_a_term_an_english_question_quotes_must_stand_in_the_passage() -> None:
    stats = documents("An economic migrant moves for work.", "A stateless person is a national of no State.")
    entities = question_entities("How does the guidance define an 'economic migrant'?", None, stats)
    assert entities == ["economic", "migrant"]
    assert missing_entities(entities, "A stateless person is a national of no State.") == entities
    assert question_entities("What is the office's “stateless” mandate?", None, stats) == ["stateless"]
    assert question_entities("What is the office's mandate, the guidance's word?", None, stats) == []
    assert question_entities("How does it define a 'climate nomad'?", None, stats) == [], (
        "no document's words"
    )


def test_a_name_followed_by_its_acronym_is_the_acronym() -> None:
    """The name may be spelled out in the question's language, not the documents'."""
    question = "How many requests did the Centro Regional de Datos (RDH) in Ethiopia handle in 2023?"
    assert question_entities(question, None, STATS) == ["RDH", "Ethiopia", "2023"]


def test_a_line_about_another_country_or_year_does_not_agree() -> None:
    entities = question_entities("How many complaints did IOM Ethiopia receive in 2023?", None, STATS)
    assert missing_entities(entities, "IOM Türkiye received 2,000 complaints in 2023.") == ["Ethiopia"]
    assert missing_entities(entities, "In 2022, IOM Ethiopia received 300.") == ["2023"]
    assert missing_entities(entities, "IOM Ethiopia received 300 complaints in 2023.") == []
    assert off_document(entities, "doc-0.txt", None, STATS) == 0.0
    assert off_document(entities, "doc-1.txt", None, STATS) == 1.0, "the Türkiye document"
    assert unknown_entities(["Eritrea", "Ethiopia"], None, STATS) == ["Eritrea"]


def test_a_name_in_the_documents_file_name_agrees_with_all_its_passages() -> None:
    entities = ["Handbook", "Eritrea"]
    passage = "A steering committee should include at least two ministries."
    assert disagreeing(entities, passage_of(passage, "Reintegration_Handbook_Module4.md"), None, STATS) == [
        "Eritrea"
    ]
    assert disagreeing(entities, passage_of(passage, "other.md"), None, STATS) == entities
    haiti = passage_of(passage, "OIM_PNUD_Haiti-RD_Dialogue_2025.pdf")
    assert disagreeing(["RD"], haiti, None, STATS) == [], "a part"


def test_a_record_is_a_document_of_its_own() -> None:
    """A year the export holds in other rows, or in its file name, does not make a row agree."""
    stats = documents("Reported Year: 2022 Region: Europe")
    row = "Reported Year: 2021 Region: Darien Total Dead and Missing: 1"
    assert disagreeing(["2022"], passage_of(row, "doc-0.txt"), None, stats) == [], (
        "a year of the document will do"
    )
    assert disagreeing(["2022"], passage_of(row, "doc-0.txt", "csv"), None, stats) == ["2022"]
    europe = passage_of("Region: Europe", "export_2021-09-05.csv", "csv")
    assert disagreeing(["2021"], europe, None, stats) == ["2021"]
    title = "Missing Migrants Project export 2021-09-05"
    titled = passage_of("Reported Year: 2020 Region: Europe", "export.csv", "csv", title)
    assert disagreeing(["2021", "Missing"], titled, None, stats) == ["2021"], "the title's date is no row's"


def test_the_passages_agreeing_with_the_question_are_read_first() -> None:
    from assistant.answering.agreement import agreeing_first
    from assistant.retrieval import Passage

    texts = ["In 2022 the office in Kenya opened.", "In 2023 the office in Ethiopia opened.", "Budva."]
    passages = [Passage(passage_of(t, f"doc-{i}.txt"), i + 1, 0.5) for i, t in enumerate(texts)]
    stats = documents(*texts)
    question = "When did the office in Ethiopia open in 2023?"
    read = agreeing_first(passages, Gloss(question), stats)
    assert [p.chunk.text for p in read][:2] == [texts[1], texts[0]] and [p.rank for p in read] == [1, 2, 3]
    assert agreeing_first(passages, Gloss("When did the office open?"), stats) == passages, "no entities"


def test_an_entity_stands_in_a_compound_or_a_possessive() -> None:
    assert missing_entities(["Asia"], "The Asia-Pacific RDH processed 40 requests.") == []
    assert missing_entities(["Ethiopia"], "IOM Ethiopia’s overview for January–June 2023") == []
    assert missing_entities(["Eritrea"], "IOM Ethiopia’s overview") == ["Eritrea"]


def test_an_entity_agrees_through_its_gloss() -> None:
    gloss = Gloss("¿Qué hizo la OIM en Budva?", ("hizo", "iom"), (("oim", "iom", 0.82), ("hizo", "did", 0.8)))
    entities = question_entities(gloss.question, gloss, STATS)
    assert entities == ["OIM", "Budva"]
    assert missing_entities(entities, "IOM met in Budva.", gloss) == []
    assert missing_entities(entities, "IOM met in Skopje.", gloss) == ["Budva"]


def test_capitalised_words_of_a_foreign_question_count_when_the_documents_hold_them() -> None:
    gloss = Gloss("Kush e financoi takimin e Policisë Kufitare në Budva?", ("funded",),
                  (("financoi", "funded", 0.8),), unknown=("kufitare", "takimin"))  # fmt: skip
    assert question_entities(gloss.question, gloss, STATS) == ["Budva"]


def test_a_place_a_foreign_question_names_is_an_entity_even_when_no_document_holds_it() -> None:
    """'Érythrée' is in no document (nor 'Eritrea' in these): a question about it is not answered
    by a line about Ethiopia."""
    gloss = Gloss("Combien de migrants sont rentrés en Érythrée ?", ("eritrea",),
                  (("erythree", "eritrea", 1.0),), listed=(("migrants", "migrant"),))  # fmt: skip
    entities = question_entities(gloss.question, gloss, STATS)
    assert entities == ["Érythrée"]
    assert missing_entities(entities, "IOM Ethiopia helped 300 migrants return.", gloss) == ["Érythrée"]
    assert missing_entities(entities, "In Eritrea, 40 migrants returned.", gloss) == []


def test_a_month_of_a_foreign_question_must_agree_in_any_language() -> None:
    gloss = Gloss("¿Cuántas quejas recibió la OIM en noviembre de 2023?", ("complaints",),
                  (("quejas", "complaints", 1.0),), listed=(("recibio", "received"),))  # fmt: skip
    entities = question_entities(gloss.question, gloss, STATS)
    assert entities == ["OIM", "noviembre", "2023"]
    assert missing_entities(entities[1:], "In November 2023, IOM received 40 complaints.", gloss) == []
    assert missing_entities(entities[1:], "In October 2023, IOM received 40 complaints.", gloss) == [
        "noviembre"
    ]
    assert missing_entities(["nëntor"], "Në nëntor 2023 ...") == [], "Albanian months are months too"


def test_glossary_english_lets_a_word_the_documents_also_use_agree() -> None:
    gloss = Gloss("¿Qué dice la Convención sobre los Derechos del Niño?", listed=(("derechos", "rights"),),
                  translated=(("convencion", "convention", 0.8),))  # fmt: skip
    assert gloss.translations("derechos") == ["rights"]
    assert missing_entities(["Derechos"], "the Convention on the Rights of the Child", gloss) == []
    assert missing_entities(["Derechos"], "the Convention on the Status of Refugees", gloss) == ["Derechos"]


def test_word_coverage_weights_rare_words_and_ignores_unknown_ones() -> None:
    coverage, rarest = word_coverage(["complaints", "Denmark", "zzzz"], "complaints in 2023", STATS)
    assert 0 < coverage < 1, "complaints found, Denmark not, zzzz not counted"
    assert rarest == 1.0, "Denmark, the rarest counted word, is missing"


def test_the_model_answers_at_its_threshold_and_rules_come_first() -> None:
    others = len(Evidence.names()) - 1
    model = LogisticModel(features=Evidence.names(), weights=(2.0,) + (0,) * others, bias=0.0,
                          means=(0.5,) + (0,) * others, scales=(0.1,) + (1,) * others, threshold=0.5,
                          version="test")  # fmt: skip
    rest = {name: 0.0 for name in Evidence.names() if name != "support"}
    strong = Evidence(support=0.7, **rest)
    weak = Evidence(support=0.3, **rest)
    assert model.probability(strong.vector()) > 0.5 > model.probability(weak.vector())
    assert decide(True, strong, model) and not decide(True, weak, model)
    assert not decide(False, strong, model), (
        "no sentence answers by the rules: refuse whatever the model says"
    )
    assert "a number" in refusal_reason("number")
    assert "closest to the question do not mention “2023”" in refusal_reason("number", [], ["2023"])
    assert refusal_reason("number", ["Eritrea"], ["2023"]) == "The documents do not mention “Eritrea”."


def test_the_shipped_parameters_are_fitted_on_the_current_features() -> None:
    raw = json.loads(resources.files("assistant.answering").joinpath(DECISION).read_text("utf-8"))
    assert tuple(raw["features"]) == Evidence.names()
    assert "tuning part" in raw["version"]
    assert 0 <= raw["cross_validated"]["false_refusal_rate"] <= 1
    assert load_decision_model().version == raw["version"]
