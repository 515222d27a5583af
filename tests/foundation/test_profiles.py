"""Profiles: the shipped ones are valid; every kind of bad input names file and line, all at once."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from readiness.config import profile as profile_mod
from readiness.config import schema
from readiness.errors import ConfigError

from ..conftest import REPO

SHIPPED = sorted((REPO / "profiles").glob("*.yaml"))
REQUIRED = ["cloud-pbx-single-site", "onprem-pbx-sip-trunk", "multi-site-sd-wan", "teams-direct-routing"]


def cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "readiness", *args], capture_output=True, text=True, cwd=cwd)


def write(tmp: Path, name: str, text: str) -> Path:
    p = tmp / name
    p.write_text(text)
    return p


def problems_of(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as e:
        profile_mod.load(str(path))
    return e.value.problems


GOOD_CRITERION = """
  - id: loss
    metric: rtp.loss_pct
    op: "<="
    threshold: 1 %
    severity: must
    source: Cisco voice QoS guidance
"""


def test_required_profiles_are_shipped_and_valid():
    names = {p.stem for p in SHIPPED}
    assert set(REQUIRED) <= names
    for path in SHIPPED:
        p = profile_mod.load(str(path))
        assert p.criteria, path
        for c in p.criteria:
            assert c.source, f"{path}: {c.id} has no source"


def test_cli_validate_all_shipped_profiles():
    r = cli("profiles", "validate", *[str(p) for p in SHIPPED], cwd=REPO)
    assert r.returncode == 0, r.stderr
    assert r.stdout.count(": ok") == len(SHIPPED)


def test_show_resolves_inherited_criteria():
    p = profile_mod.load("onprem-pbx-sip-trunk")
    ids = [c.id for c in p.criteria]
    assert "rtp-loss" in ids            # from voice-baseline, two levels up
    assert "poe-headroom" in ids        # from site-lan
    ups = next(c for c in p.criteria if c.id == "ups-runtime")
    assert ups.threshold == 30.0 and ups.severity == "must"  # overridden here (15 min should in site-lan)
    assert p.chain[1:] == ["profiles/site-lan.yaml", "profiles/voice-baseline.yaml"] or len(p.chain) == 3
    r = cli("profiles", "show", "onprem-pbx-sip-trunk", "--json", cwd=REPO)
    assert r.returncode == 0
    data = json.loads(r.stdout)
    assert any(c["id"] == "rtp-loss" for c in data["criteria"])


def test_thresholds_are_converted_to_the_metric_unit(tmp_path):
    f = write(tmp_path, "p.yaml", """
criteria:
  - id: delay
    metric: call.mouth_to_ear_ms
    op: "<="
    threshold: 0.15 s
    window: 15 s
    severity: must
    source: ITU-T G.114
  - id: dscp
    metric: rtp.dscp_received
    op: in
    threshold: [EF, 46]
    severity: should
    source: RFC 4594
""")
    p = profile_mod.load(str(f))
    delay, dscp = p.criteria
    assert delay.threshold == pytest.approx(150.0) and delay.unit == "ms" and delay.window_s == 15.0
    assert dscp.threshold == [46, 46]


def test_yaml_syntax_error_names_file_and_line(tmp_path):
    f = write(tmp_path, "broken.yaml", "name: x\ncriteria:\n  - id: a\n    metric: [unclosed\n")
    problems = problems_of(f)
    assert len(problems) == 1
    assert problems[0].startswith(f"{f}:") and "YAML syntax error" in problems[0]
    line = int(problems[0].split(":")[1])
    assert line in (4, 5)


def test_unknown_key_wrong_type_unknown_metric_and_missing_unit_all_reported(tmp_path):
    f = write(tmp_path, "bad.yaml", """name: bad
colour: blue
criteria:
  - id: a
    metric: rtp.loss_pct
    op: "<="
    threshold: 1
    severity: must
    source: Cisco
  - id: b
    metric: rtp.los_pct
    op: "<="
    threshold: 1 %
    severity: must
    source: Cisco
  - id: c
    metric: rtp.jitter_ms
    op: "<="
    threshold: 30 ms
    severity: [must]
    source: Cisco
  - id: d
    metric: rtp.jitter_ms
    op: "<="
    threshold: 30 ms
    severity: must
    source: Cisco
    windw: 15 s
""")
    problems = problems_of(f)
    text = "\n".join(problems)
    assert f"{f}:2: unknown key 'colour'" in text
    assert any(p.startswith(f"{f}:7:") and "no unit" in p for p in problems), text
    assert any(p.startswith(f"{f}:11:") and "unknown metric 'rtp.los_pct'" in p and "rtp.loss_pct" in p
               for p in problems), text
    assert any(p.startswith(f"{f}:20:") and "severity" in p for p in problems), text
    assert any(p.startswith(f"{f}:28:") and "unknown key 'windw'" in p and "window" in p for p in problems), text
    assert len(problems) == 5


def test_wrong_unit_dimension_and_bad_window(tmp_path):
    f = write(tmp_path, "p.yaml", """criteria:
  - id: a
    metric: rtp.jitter_ms
    op: "<="
    threshold: 30 W
    severity: must
    source: Cisco
  - id: b
    metric: rtp.jitter_ms
    op: "<="
    threshold: 30 ms
    window: fifteen
    severity: must
    source: Cisco
""")
    problems = problems_of(f)
    assert any(p.startswith(f"{f}:5:") and "in W" in p for p in problems), problems
    assert any(p.startswith(f"{f}:12:") and "window" in p for p in problems), problems


def test_extends_cycle(tmp_path):
    write(tmp_path, "a.yaml", "extends: b\ncriteria:" + GOOD_CRITERION)
    write(tmp_path, "b.yaml", "criteria: []\nextends: a\n")
    problems = problems_of(tmp_path / "a.yaml")
    assert any(":2: extends: cycle" in p and "a -> b -> a" in p for p in problems), problems


def test_extends_self(tmp_path):
    f = write(tmp_path, "a.yaml", "extends: a\n")
    problems = problems_of(f)
    assert problems == [f"{f}:1: extends: cycle a -> a"]


def test_missing_parent(tmp_path):
    f = write(tmp_path, "child.yaml", "name: child\nextends: no-such-parent\ncriteria:" + GOOD_CRITERION)
    problems = problems_of(f)
    assert len(problems) == 1
    assert problems[0].startswith(f"{f}:2: extends: no profile 'no-such-parent'")


def test_problems_in_parent_and_child_reported_together(tmp_path):
    write(tmp_path, "parent.yaml", "criteria:\n  - id: x\n    metric: nope\n    op: '<'\n    threshold: 1 ms\n"
                                   "    severity: must\n    source: none\n")
    f = write(tmp_path, "child.yaml", "extends: parent\nbogus: 1\n")
    problems = problems_of(f)
    assert any(p.startswith(f"{f}:2: unknown key 'bogus'") for p in problems), problems
    assert any("parent.yaml:3:" in p and "unknown metric" in p for p in problems), problems


def test_omit_and_override(tmp_path):
    write(tmp_path, "base.yaml", "criteria:" + GOOD_CRITERION + """
  - id: jitter
    metric: rtp.jitter_ms
    op: "<="
    threshold: 30 ms
    severity: must
    source: Cisco
""")
    f = write(tmp_path, "child.yaml", """extends: base
omit: [jitter, nothing-like-this]
criteria:
  - id: loss
    metric: rtp.loss_pct
    op: "<="
    threshold: 0.5 %
    severity: should
    source: stricter
""")
    problems = problems_of(f)
    assert problems == [f"{f}:2: omit: 'nothing-like-this' is not a criterion of base"]
    f.write_text(f.read_text().replace(", nothing-like-this", ""))
    p = profile_mod.load(str(f))
    assert [(c.id, c.threshold, c.severity) for c in p.criteria] == [("loss", 0.5, "should")]


def test_duplicate_key_and_empty_file(tmp_path):
    f = write(tmp_path, "dup.yaml", "name: a\nname: b\n")
    assert problems_of(f) == [f"{f}:2: duplicate key 'name' (first at line 1)"]
    e = write(tmp_path, "empty.yaml", "")
    assert problems_of(e) == [f"{e}:1: the file is empty"]


def test_cli_validate_exit_2_and_lines_on_stderr(tmp_path):
    f = write(tmp_path, "bad.yaml", "criteria:\n  - id: a\n    metric: rtp.loss_pct\n")
    r = cli("profiles", "validate", str(f))
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 4  # op, threshold, severity and source are missing: one line each
    assert all(line.startswith(f"{f}:") for line in lines)


def test_shipped_json_schemas_match_the_models():
    for name, generated in (("profile.schema.json", schema.profile_schema()),
                            ("site.schema.json", schema.site_schema())):
        shipped = json.loads((REPO / "profiles" / name).read_text())
        assert shipped == generated, f"profiles/{name} is stale: run `readiness profiles schema > profiles/{name}`"
