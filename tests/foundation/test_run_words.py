"""What a reader sees of a run's names and reasons: German site names keep their letters in the run
folder's name, and equal reasons for not measuring are said once, counted."""

from __future__ import annotations

from readiness import store
from readiness.acceptance.evaluate import evaluate
from readiness.model import Criterion, NotMeasured


def test_german_site_names_are_transliterated_not_cut():
    assert store.slug("Testfirma GmbH, Köln") == "testfirma-gmbh-koeln"
    assert store.slug("Bäckerei Müller & Söhne, Straße 5") == "baeckerei-mueller-soehne-strasse-5"
    assert store.slug("Café Genève") == "cafe-geneve"
    assert store.slug("ÄÖÜ") == "aeoeue"


def test_run_folder_name_keeps_the_letters(tmp_path):
    path = store.new_run_dir(tmp_path, "cloud-pbx-single-site", "Testfirma GmbH, Köln")
    assert path.name.endswith("-cloud-pbx-single-site-testfirma-gmbh-koeln")


def test_equal_reasons_are_grouped_with_a_count():
    c = Criterion(id="call-mos", metric="call.mos", op=">=", threshold=4.0, unit="MOS")
    why = "call not answered: refused (127.0.0.1:1 refused the connection)"
    missing = [NotMeasured("call.mos", why, f"call {i} {d}", "calls", {"direction": d})
               for i in range(1, 5) for d in ("up", "down")]
    (v,) = evaluate([c], [], [], missing)
    assert v.outcome == "not_measured"
    assert v.explanation == f"8 of 8 call directions: {why}"


def test_different_reasons_each_keep_their_subjects():
    c = Criterion(id="call-mos", metric="call.mos", op=">=", threshold=4.0, unit="MOS")
    missing = [NotMeasured("call.mos", "no media measured", "call 1 up"),
               NotMeasured("call.mos", "no media measured", "call 1 down"),
               NotMeasured("call.mos", "call not answered: busy", "call 2 up")]
    (v,) = evaluate([c], [], [], missing)
    assert v.explanation == "2 of 3 call directions: no media measured; call 2 up: call not answered: busy"


def test_an_optional_criterion_with_nothing_to_judge_does_not_apply():
    c = Criterion(id="sig", metric="capture.signalling_dscp_ok_pct", op=">=", threshold=100.0, unit="%",
                  optional=True)
    nothing = NotMeasured("capture.signalling_dscp_ok_pct", "no SIP message in the capture", absent=True)
    (v,) = evaluate([c], [], [], [nothing])
    assert v.outcome == "not_applicable" and "no SIP" in v.explanation
    # a probe that could not look at all leaves even an optional criterion not measured
    (v,) = evaluate([c], [], [], [NotMeasured("capture.signalling_dscp_ok_pct", "dumpcap is not installed")])
    assert v.outcome == "not_measured"
    must = Criterion(id="sig", metric="capture.signalling_dscp_ok_pct", op=">=", threshold=100.0, unit="%")
    (v,) = evaluate([must], [], [], [nothing])
    assert v.outcome == "not_measured"
