"""What a run means in the customer's words: the acceptance, findings with measures, gaps grouped by
reason, the management summary, German reasons and sources. Stored fixture runs, judged for real."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
import yaml

from readiness import metrics
from readiness import results as results_mod
from readiness.reports import findings, measures, reasons
from readiness.reports.language import Language, detect
from readiness.reports.subjects import where_text

from . import fixture_runs

DE, EN = Language("de"), Language("en")
PACKAGE = Path(__file__).resolve().parents[2] / "readiness"
PROFILES = Path(__file__).resolve().parents[2] / "profiles"
# Words of our own English wording that must not show in a German text (standards' names may).
ENGLISH = re.compile(r"\b(the|and|of|not|measured|passed|failed|calls?|criteria|must|should|port|direction)\b")


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    return {kind: results_mod.load(fixture_runs.write(tmp_path_factory.mktemp(kind), kind))
            for kind in ("mixed", "pass", "interrupted")}


def test_every_catalogued_metric_has_words_and_a_measure_in_both_languages():
    for name in metrics.METRICS:
        w = measures.words(name)
        assert w is not None, f"{name} has no entry in reports/measures.py"
        for text in (w.title_de, w.title_en, w.measure_de, w.measure_en, w.noun_de, w.noun_en):
            assert text.strip(), name


def test_acceptance_in_words(runs):
    assert findings.acceptance(runs["mixed"]) == "rejected"
    assert findings.acceptance(runs["pass"]) == "accepted"
    assert findings.acceptance(runs["interrupted"]) == "incomplete"
    assert [DE.acceptance(k) for k in ("accepted", "reservations", "rejected", "incomplete")] == [
        "abgenommen", "abgenommen unter Vorbehalt", "nicht abgenommen", "unvollständig"]


def test_findings_are_the_failed_and_warned_criteria_defects_first_with_measures(runs):
    found = findings.findings(runs["mixed"], DE, voice_vlan=20)
    assert [f.outcome for f in found] == ["fail"] * 4 + ["warn"] * 3
    assert {f.severity_text for f in found} == {"Mangel", "Hinweis"}
    by_id = {f.criterion: f for f in found}
    vlan = by_id["voice-vlan-on-phone-ports"]
    assert vlan.measured == "3\u00a0Ports" and vlan.required == "höchstens 0\u00a0Ports"
    assert vlan.where == "access-switch, Ports Gi1/0/5, Gi1/0/6, Gi1/0/7"
    assert "Voice-VLAN 20" in vlan.measure and "Gi1/0/5" in vlan.measure
    mos = by_id["call-mos"]
    assert mos.where == "Anruf 3, Gegenstelle → Standort" and mos.measured == "3,61\u00a0MOS"
    assert "15\u00a0min" in by_id["ups-runtime"].measure          # the requirement filled into the measure
    for f in found:
        assert f.measure and f.effect and f.source and "{" not in f.measure, f


def test_not_measured_criteria_are_one_gap_per_reason_in_german(runs):
    gaps = findings.gaps(runs["mixed"], DE)
    assert len(gaps) == 1 and len(gaps[0].criteria) == 4
    assert gaps[0].reason.startswith("Der iperf3-Server 192.0.2.10:5201 war mit einem anderen Test belegt")
    assert findings.gaps(runs["mixed"], EN)[0].reason.startswith("iperf3 server 192.0.2.10:5201 is busy")


@pytest.mark.parametrize("kind", ["mixed", "pass", "interrupted"])
def test_management_summary_is_two_to_five_german_sentences(runs, kind):
    text = findings.management_summary(runs[kind], DE, "Cloud-Telefonanlage, ein Standort")
    assert 2 <= len(text) <= 5
    checked = {"mixed": 28, "pass": 28, "interrupted": 31}[kind]   # of 33: the n/a ones are counted apart
    assert text[0].startswith(f"Am 1. Dezember 2026 wurden am Standort Testfirma GmbH, Köln {checked} Kriterien")
    for sentence in text:
        assert sentence.endswith(".") and not ENGLISH.search(sentence), sentence
    if kind == "mixed":
        assert "4 Muss-Kriterien sind nicht erfüllt" in text[1]
        assert any(s.startswith("Für die Telefonie bedeutet das: Gesprächspartner hören Aussetzer") for s in text)
    if kind == "interrupted":
        assert text[-1].startswith("Das Protokoll ist unvollständig.")


def test_subjects_read_as_a_person_says_them():
    assert where_text("call 3 down", DE) == "Anruf 3, Gegenstelle → Standort"
    assert where_text("call 3 up", EN) == "call 3, site → far end"
    assert where_text("iperf3 down under load", DE) == "iperf3, Server → Standort, unter Last"
    assert where_text("sw1 Gi1/0/1", DE) == "sw1, Port Gi1/0/1"
    assert where_text("RTP 10.0.0.1:4000 -> 10.0.0.2:5000 ssrc 0x1A", DE) == \
        "RTP-Strom 10.0.0.1:4000 → 10.0.0.2:5000 (SSRC 0x1A)"
    assert where_text("ups", DE) == "ups"


def test_german_sources_name_the_standards_alone():
    for path in PROFILES.glob("*.yaml"):
        for c in yaml.safe_load(path.read_text(encoding="utf-8")).get("criteria") or []:
            if not c.get("source"):
                continue
            text = findings.source(c["source"], DE)
            assert text and not re.search(r"\b(the|is|are|must|per|at most|below)\b", text), (path.name, text)
    assert findings.source("ITU-T G.114 (05/2003): up to 150 ms one way", EN) == \
        "ITU-T G.114 (05/2003): up to 150 ms one way"


def test_every_fixed_reason_a_probe_writes_has_a_german_text():
    """NotMeasured(metric, "reason", ...) with a literal reason anywhere outside the reports."""
    literal = []
    for path in PACKAGE.rglob("*.py"):
        if "reports" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", "")) == \
                    "NotMeasured" and len(node.args) > 1:
                arg = node.args[1]
                values = arg.values if isinstance(arg, ast.BoolOp) else [arg]
                literal += [(path.name, v.value) for v in values if isinstance(v, ast.Constant)]
    assert len(literal) >= 10                     # the walk really found the probes' reasons
    assert [r for r in literal if not reasons.known(r[1])] == []


@pytest.mark.parametrize("reason, german", [
    ("8 of 8 call directions: call not answered: refused (127.0.0.1:1 refused the connection)",
     "8 von 8 Anrufrichtungen: Anruf nicht angenommen: Verbindung abgelehnt („127.0.0.1:1 refused the connection“)"),
    ("iperf3 is not installed (Debian/Ubuntu: apt-get install iperf3)",
     "iperf3 ist auf dem Messrechner nicht installiert (Debian/Ubuntu: apt-get install iperf3)"),
    ("call 2 down: the far end sent no RTP", "Anruf 2, Gegenstelle → Standort: die Gegenstelle hat keine RTP-Pakete gesendet"),
    ("something nobody translated", "Meldung des Messprogramms: „something nobody translated“"),
])
def test_reasons_in_german(reason, german):
    assert reasons.localize(reason, DE) == german
    assert reasons.localize(reason, EN) == reason


@pytest.mark.parametrize("language, names, code", [
    (None, ["Testfirma GmbH, Köln"], "de"), (None, ["Acme Ltd", "1 High Street, London"], "en"),
    (None, ["Praxis Dr. Weber", "Hauptstr. 5, 80331 München"], "de"), ("en", ["Müller GmbH"], "en"),
    (None, ["Demo lab (loopback)"], "en"),
])
def test_report_language_from_the_site(language, names, code):
    assert detect(language, *names) == code
