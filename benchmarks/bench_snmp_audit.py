"""Benchmark: SNMP audit of 50 simulated 48-port PoE switches and 10 UPSes, concurrently, against walking the
same OIDs one device after another with net-snmp's snmpbulkwalk.

    python benchmarks/bench_snmp_audit.py [--switches 50] [--upses 10] [--agent snmpd|snmpsim] [--agents 2]

Times `readiness snmp audit --site FILE` as a technician runs it (interpreter start-up, poll, parse, plan
checks, verdicts, run folder written), the sequential snmpbulkwalk time for the same columns against the
same agents, their ratio, the values the run kept, the CPU of the command and of the agents, and the
machine's load. Target: under 10 s, faster than sequential.

The agents run on this machine and share its cores with the audit. `--agent snmpd` (default): net-snmp's
snmpd, one process per device, as on a real site (C, like a switch's own agent). `--agent snmpsim`: the
Python simulator the tests use, `--agents` processes each serving a share of the devices; it spends about
250 us of CPU per value, so there the agents, not the audit, set the pace.
Communities reach snmpbulkwalk through a per-device snmp.conf (SNMPCONFPATH), not its command line.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from readiness import tools  # noqa: E402
from readiness.lab.snmp_agent import snmpd_agents, snmpsim_agent  # noqa: E402
from readiness.lab.snmp_walks import SwitchSpec, UpsSpec, switch, ups  # noqa: E402
from readiness.probes.snmp import mibs  # noqa: E402


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def children_cpu_s() -> float:
    """CPU seconds used so far by this process's children (the snmpsim agents), from /proc."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == os.getpid():          # ppid
            total += int(fields[11]) + int(fields[12])   # utime + stime
    return total / tick


def reaped_cpu_s() -> float:
    """CPU seconds of the children this process has waited for (the audit command)."""
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def audit(site: Path, parent: Path, *only: str) -> tuple[dict, int]:
    """One `readiness snmp audit` as a user runs it: its run document and the values its snapshot kept
    (one .snmprec line per value)."""
    parent.mkdir()
    out = parent / "results.json"
    only_args = [a for d in only for a in ("--device", d)]
    r = subprocess.run([sys.executable, "-m", "readiness", "snmp", "audit", "--site", str(site), *only_args,
                        "--out", str(parent), "--json", str(out), "-q"], capture_output=True, text=True, timeout=600)
    if not out.exists():          # exit 2 with a run document is a verdict (the warm-up leaves switches out)
        raise SystemExit(f"readiness snmp audit exited {r.returncode}: {r.stderr.strip()}")
    values = sum(f.read_text().count("\n") for f in parent.glob("*/artefacts/snmp/**/*.snmprec"))
    return json.loads(out.read_text()), values


def walks(n_switches: int, n_upses: int) -> dict[str, tuple[str, str]]:
    """community -> (role, .snmprec text)"""
    out = {}
    for i in range(n_switches):
        out[f"sw{i:02d}"] = ("switch", switch(SwitchSpec(ports=48, uplinks=4, name=f"sw{i:02d}", phones=24,
                                                         poe_budget_w=740)))
    kinds = ["rfc1628", "apc", "xups"]
    for i in range(n_upses):
        out[f"ups{i:02d}"] = ("ups", ups(UpsSpec(name=f"ups{i:02d}", mib=kinds[i % 3])))
    return out


def site_file(folder: Path, ports: dict[str, int], devices: dict[str, tuple[str, str]]) -> Path:
    entries = []
    for community, (role, _) in devices.items():
        ref = folder / f"{community}.community"
        ref.write_text(community)
        os.chmod(ref, 0o600)
        d = {"name": community, "host": f"127.0.0.1:{ports[community]}", "role": role,
             "community": {"file": ref.name}}
        if role == "switch":
            d.update(phone_ports=["Gi1/0/1-48"], uplink_ports=["Gi1/0/49"], phones=24)
        entries.append(d)
    path = folder / "site.yaml"
    path.write_text(yaml.safe_dump({"site": "benchmark", "voice_vlan": 20, "phones": {"count": 1200},
                                    "snmp": {"timeout": "5 s", "retries": 1, "devices": entries}}))
    return path


def sequential(folder: Path, ports: dict[str, int], devices: dict[str, tuple[str, str]]) -> tuple[float, int]:
    """snmpbulkwalk of every column the audit reads (and snmpget of its scalars), device after device."""
    try:
        walker, getter = tools.require("snmpbulkwalk"), tools.require("snmpget")
    except tools.ToolMissing as e:
        raise SystemExit(str(e)) from None
    values = 0
    started = time.monotonic()
    for community, (role, _) in devices.items():
        conf = folder / "netsnmp" / community
        conf.mkdir(parents=True)
        (conf / "snmp.conf").write_text(f"defVersion 2c\ndefCommunity {community}\n")
        env = {**os.environ, "SNMPCONFPATH": str(conf), "MIBS": ""}
        target = f"127.0.0.1:{ports[community]}"
        tables = mibs.SWITCH_TABLES if role == "switch" else mibs.UPS_TABLES
        scalars = mibs.SYSTEM + (mibs.UPS_SCALARS if role == "ups" else [])
        r = tools.run_sync([getter, "-On", "-t", "5", target] + [mibs.dotted(o) for o in scalars], 60, env=env)
        values += r.stdout.count("\n")
        for columns in tables.values():
            for column in columns:
                r = tools.run_sync([walker, "-On", "-Cr25", "-t", "5", target, mibs.dotted(column)], 60, env=env)
                values += sum(1 for line in r.stdout.splitlines() if line.startswith("."))
    return time.monotonic() - started, values


def start_agents(stack: contextlib.ExitStack, kind: str, n: int, devices: dict[str, tuple[str, str]]
                 ) -> dict[str, int]:
    """community -> UDP port of the agent serving it."""
    if kind == "snmpd":
        return stack.enter_context(snmpd_agents({c: text for c, (_, text) in devices.items()}))
    ports: dict[str, int] = {}
    names = list(devices)
    for i in range(n):     # device i is served by agent i % n
        group = {c: devices[c][1] for c in names[i::n]}
        port = stack.enter_context(snmpsim_agent(group))
        ports.update({c: port for c in group})
    return ports


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--switches", type=int, default=50)
    ap.add_argument("--upses", type=int, default=10)
    ap.add_argument("--agent", choices=("snmpd", "snmpsim"), default="snmpd",
                    help="snmpd: one net-snmp agent per device; snmpsim: the Python simulator")
    ap.add_argument("--agents", type=int, default=2, help="snmpsim processes serving the devices")
    ap.add_argument("--no-sequential", action="store_true", help="skip the snmpbulkwalk comparison")
    args = ap.parse_args()
    devices = walks(args.switches, args.upses)
    print(f"machine: {os.cpu_count()} cores, load {load()}")
    with tempfile.TemporaryDirectory(prefix="bench-snmp-") as tmp, contextlib.ExitStack() as stack:
        folder = Path(tmp)
        t0 = time.monotonic()
        ports = start_agents(stack, args.agent, args.agents, devices)
        agents = f"{len(set(ports.values()))} {args.agent} agents"
        print(f"{len(devices)} devices ({args.switches} switches x 52 ports, {args.upses} UPSes) on {agents}, "
              f"started in {time.monotonic() - t0:.1f} s")
        site = site_file(folder, ports, devices)
        audit(site, folder / "warm-up", "ups00")         # fills the OS file cache, as a second run would
        print(f"load before: {load()}")
        t0, c0, a0 = time.monotonic(), reaped_cpu_s(), children_cpu_s()
        doc, fetched = audit(site, folder / "audit")
        concurrent = time.monotonic() - t0
        client_cpu, agent_cpu = reaped_cpu_s() - c0, children_cpu_s() - a0
        answered = sum(1 for d in doc["devices"] if d.get("reachable"))
        print(f"readiness snmp audit (start-up to run folder written): {concurrent:.2f} s  "
              f"({answered}/{len(devices)} answered, {fetched} values kept, verdict {doc['verdict']})")
        print(f"  CPU: audit command {client_cpu:.1f} s, {args.agent} agents {agent_cpu:.1f} s "
              f"(sharing {os.cpu_count()} cores with whatever else runs)")
        print(f"load after the audit: {load()}")
        if args.no_sequential:
            return
        seq, seq_values = sequential(folder, ports, devices)
        print(f"sequential snmpbulkwalk/snmpget, same columns, same agents: {seq:.2f} s  ({seq_values} values)")
        print(f"ratio sequential / concurrent: {seq / concurrent:.1f}x")
        print(f"load after: {load()}")
        print(f"target: under 10 s -> {'met' if concurrent < 10 else 'NOT met'}; "
              f"faster than sequential -> {'yes' if concurrent < seq else 'no'}")


if __name__ == "__main__":
    main()
